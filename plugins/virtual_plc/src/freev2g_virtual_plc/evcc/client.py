"""EVCC side of one V2G connection for DIN 70121 and ISO 15118-2 (charging-domain.md 3.1-3.6).

The EV enforces V2G_EVCC_Msg_Timeout per request (4.1), the Ongoing timeout, the CableCheck
and PreCharge loop timeouts (4.2). Any FAILED response ends the session. If the SECC closes
the connection while the EV prepares its next request (the application is slow), the SECC
gave up on us: LINK_TIMEOUT; closed while the EV waits for a response: LINK_LOST.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from freev2g.link import (
    CableCheckReady,
    CableCheckStatus,
    EvChargeParametersNeeded,
    EvSessionRequest,
    EvSessionStarted,
    EvseParametersReceived,
    LinkError,
    LinkLost,
    LinkTimeout,
    PowerDeliveryStarted,
    PowerDeliveryStopped,
    PreChargeStatus,
    PreChargeTargets,
    ScheduleSelection,
    SequenceError,
    WeldingDetectionStatus,
)
from freev2g.model.enums import (
    ChargeProgress,
    ChargingSession,
    EVSEProcessing,
    PaymentOption,
    Protocol,
    ResponseCode,
    StopCause,
)
from freev2g.model.params import DCEVStatus, EVSEOffer

from ..medium import Medium, MediumClosed
from ..messages import din, iso2
from ..messages.common import V2GRequest
from .loop import ChargeLoopSteps

if TYPE_CHECKING:
    from .link import VirtualEvLink

J2847_IDS = {"V2H": 28472, "V2G": 28473}


class EvseFailed(LinkError):
    """The SECC answered FAILED*: the session ends (3.1 error rules)."""

    def __init__(self, message: str, code: ResponseCode, cause: StopCause):
        super().__init__(message)
        self.code = code
        self.cause = cause  # type: ignore[misc]


class StopSession(Exception):
    pass


class EvccSession(ChargeLoopSteps):
    protocol = Protocol.ISO15118_2
    M: Any = iso2

    def __init__(self, link: VirtualEvLink, pipe: Medium, request: EvSessionRequest) -> None:
        self.link = link
        self.pipe = pipe
        self.clock = link.clock
        self.t = link.options.timeouts
        self.request = request
        self.session_id = "0000000000000000"
        self.evse_id = ""
        self.ev_status = request.dc.status if request.dc else DCEVStatus()
        self.selection: ScheduleSelection | None = None
        self.challenge: bytes | None = None
        self.j2847: str | None = None
        self.stop_by_evse = False

    @property
    def is_dc(self) -> bool:
        return self.request.mode.is_dc

    # --- plumbing ----------------------------------------------------------------------------

    async def call(self, req: V2GRequest, timeout_s: float) -> Any:
        name = type(req).__name__
        try:
            await self.pipe.send(req)
        except MediumClosed as exc:
            raise LinkLost(f"{name}: connection closed ({exc})") from None
        try:
            res = await self.clock.wait_for(self.pipe.recv(), timeout_s)
        except TimeoutError:
            raise LinkTimeout(f"no {name[:-3]}Res within V2G_EVCC_Msg_Timeout ({timeout_s:g} s)") from None
        except MediumClosed as exc:
            raise LinkLost(f"connection closed while waiting for {name[:-3]}Res ({exc})") from None
        if not isinstance(res, req.RES):
            raise SequenceError(f"expected {req.RES.__name__}, got {type(res).__name__}")
        if res.response_code.is_failure:
            code = res.response_code
            cause = {ResponseCode.FAILED_SEQUENCE_ERROR: StopCause.SEQUENCE_ERROR,
                     ResponseCode.FAILED_UNKNOWN_SESSION: StopCause.SEQUENCE_ERROR}.get(code, StopCause.EVSE_STOP)
            if "Authorization" in name or "ContractAuthentication" in name:
                cause = StopCause.AUTHORIZATION_REJECTED
            raise EvseFailed(f"SECC answered {code.value} to {name}", code, cause)
        return res

    async def app(self, event: Any) -> Any:
        """Ask the EV application; if the SECC closes the connection meanwhile it timed out on us."""
        task = asyncio.ensure_future(self.link.handler(event))  # type: ignore[misc]
        closed = asyncio.ensure_future(self.pipe.wait_closed())
        try:
            await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise LinkTimeout(f"SECC closed the connection while the EV prepared its next request "
                          f"({type(event).__name__})")

    def ongoing(self, started: float, what: str) -> None:
        if self.clock.monotonic() - started > self.t.ev_ongoing_s:
            raise LinkTimeout(f"{what}: EVSE still Ongoing after V2G_EVCC_Ongoing_Timeout ({self.t.ev_ongoing_s:g} s)")

    async def pace(self) -> None:
        await self.clock.sleep(self.link.options.loop_interval_s)

    # --- setup (awaited by start_session) -----------------------------------------------------

    async def setup(self, resume_id: str | None) -> bool:
        M = self.M
        res = await self.call(M.SessionSetupReq(session_id=resume_id or self.session_id,
                                                evcc_id=self.request.ev_mac.replace(":", "").upper()), self.t.ev_msg_s)
        self.session_id, self.evse_id = res.session_id, res.evse_id
        return res.response_code is ResponseCode.OK_OLD_SESSION_JOINED

    # --- the session (background task) --------------------------------------------------------

    async def run(self) -> tuple[StopCause, str, bool]:
        await self.discover_and_pay()
        await self.authorize()
        await self.charge_parameters(renegotiation=False)
        if self.is_dc:
            await self.app(CableCheckReady())
            await self.cable_check()
            await self.precharge()
        await self.power_delivery(ChargeProgress.START)
        await self.app(PowerDeliveryStarted())
        pause = await self.charge_loop()
        await self.power_delivery(ChargeProgress.STOP)
        await self.app(PowerDeliveryStopped())
        if self.is_dc:
            await self.welding()
        await self.session_stop(pause)
        cause = StopCause.EVSE_STOP if self.stop_by_evse else StopCause.EV_STOP
        return cause, "SessionStop(Pause)" if pause else "SessionStop", pause

    async def discover_and_pay(self) -> None:
        M = self.M
        sd = await self.call(M.ServiceDiscoveryReq(session_id=self.session_id), self.t.ev_msg_s)
        din_mode = self.protocol is Protocol.DIN70121
        modes = (sd.charge_service.energy_transfer_type,) if din_mode else sd.charge_service.energy_transfer_modes
        j = None if din_mode else next((k for k, v in J2847_IDS.items() if v in {s.service_id for s in sd.services}), None)
        offer = EVSEOffer(evse_id=self.evse_id, energy_transfer_modes=modes, payment_options=sd.payment_options,
                          free_service=sd.charge_service.free_service, sae_j2847_2_bpt_mode=j)
        await self.app(EvSessionStarted(protocol=self.protocol, iso_session_id=self.session_id,
                                        evse_id=self.evse_id, offer=offer))
        if self.request.mode not in modes and not (din_mode and self.request.mode.is_dc):
            raise StopSession(f"EVSE does not offer {self.request.mode.value}")
        payment = self.request.payment if self.request.payment in sd.payment_options else None
        if payment is None:
            raise StopSession(f"EVSE does not offer payment {self.request.payment.value}")
        selected = [iso2.SelectedService(service_id=1)]
        if self.request.j2847_mode and self.request.j2847_mode == j:
            self.j2847 = j
            selected.append(iso2.SelectedService(service_id=J2847_IDS[j]))
        sel_type = din.ServicePaymentSelectionReq if din_mode else iso2.PaymentServiceSelectionReq
        await self.call(sel_type(session_id=self.session_id, selected_payment_option=payment,
                                 selected_services=selected), self.t.ev_msg_s)
        if payment is PaymentOption.CONTRACT:
            pd = await self.call(iso2.PaymentDetailsReq(session_id=self.session_id, emaid=self.link.emaid,
                                                        contract_signature_cert_chain=self.link.contract_cert_chain),
                                 self.t.ev_msg_long_s)
            self.challenge = pd.gen_challenge

    async def authorize(self) -> None:
        started = self.clock.monotonic()
        while True:
            if self.protocol is Protocol.DIN70121:
                req = din.ContractAuthenticationReq(session_id=self.session_id)
            else:
                req = iso2.AuthorizationReq(session_id=self.session_id, gen_challenge=self.challenge)
            res = await self.call(req, self.t.ev_msg_s)
            if res.evse_processing is EVSEProcessing.FINISHED:
                return
            self.ongoing(started, "Authorization")
            await self.pace()

    async def needs(self) -> EvSessionRequest:
        fresh = await self.app(EvChargeParametersNeeded())
        if isinstance(fresh, EvSessionRequest):
            self.request = fresh
        return self.request

    def cpd_request(self, r: EvSessionRequest, discharge: bool) -> Any:
        dc = iso2.DCEVChargeParameterMsg.from_model(r.dc) if r.dc else None
        if discharge and dc is not None and r.bpt is not None:  # 8: negative limits ask for discharge
            dc = iso2.DCEVChargeParameterMsg(**{**_asdict(dc), "ev_maximum_current_limit_A": -r.bpt.ev_max_discharge_current_A,
                                                "ev_maximum_power_limit_W": -r.bpt.ev_max_discharge_power_W})
        if self.protocol is Protocol.DIN70121:
            return din.ChargeParameterDiscoveryReq(session_id=self.session_id, ev_requested_energy_transfer_type=r.mode,
                                                   dc_ev_charge_parameter=dc)
        return iso2.ChargeParameterDiscoveryReq(
            session_id=self.session_id, max_entries_sa_schedule_tuple=r.max_entries, requested_energy_transfer_mode=r.mode,
            ac_ev_charge_parameter=iso2.ACEVChargeParameterMsg.from_model(r.ac) if r.ac and not r.mode.is_dc else None,
            dc_ev_charge_parameter=dc if r.mode.is_dc else None)

    async def charge_parameters(self, renegotiation: bool) -> None:
        r = await self.needs()
        if r.dc is not None:
            self.ev_status = r.dc.status
        started = self.clock.monotonic()
        discharge = False
        while True:
            res = await self.call(self.cpd_request(r, discharge), self.t.ev_msg_s)
            if res.evse_processing is EVSEProcessing.FINISHED:
                break
            discharge = self.j2847 == "V2H"
            self.ongoing(started, "ChargeParameterDiscovery")
            await self.pace()
        schedules = res.sa_schedule_list
        sel = await self.app(EvseParametersReceived(ac=getattr(res, "ac_evse_charge_parameter", None),
                                                    dc=res.dc_evse_charge_parameter, schedules=schedules,
                                                    renegotiation=renegotiation))
        if not isinstance(sel, ScheduleSelection):
            sel = ScheduleSelection(tuple_id=schedules.tuples[0].tuple_id if schedules else 1)
        self.selection = sel

    async def cable_check(self) -> None:
        started = self.clock.monotonic()
        async with self._loop_timeout(self.t.ev_cable_check_s, "CableCheck", "V2G_EVCC_CableCheck_Timeout"):
            while True:
                res = await self.call(self.M.CableCheckReq(session_id=self.session_id, dc_ev_status=self.ev_status),
                                      self.t.ev_msg_s)
                await self.app(CableCheckStatus(processing=res.evse_processing,
                                                isolation=res.dc_evse_status.isolation_status or _invalid()))
                if res.evse_processing is EVSEProcessing.FINISHED:
                    return
                self.ongoing(started, "CableCheck")
                await self.pace()

    def _loop_timeout(self, seconds: float, what: str, name: str):
        link = self

        class _Guard:
            async def __aenter__(self):
                self.cm = link.clock.timeout(seconds)
                await self.cm.__aenter__()

            async def __aexit__(self, et, exc, tb):
                try:
                    return await self.cm.__aexit__(et, exc, tb)
                except TimeoutError:
                    raise LinkTimeout(f"{what} not finished within {name} ({seconds:g} s)") from None

        return _Guard()

    async def precharge(self) -> None:
        present = None
        async with self._loop_timeout(self.t.ev_precharge(self.protocol), "PreCharge", "V2G_EVCC_PreCharge_Timeout"):
            while True:
                targets = await self.app(PreChargeStatus(present_voltage_V=present))
                if not isinstance(targets, PreChargeTargets):
                    raise StopSession("EV application gave no PreChargeTargets")
                self.ev_status = targets.ev_status
                if targets.done and present is not None:
                    return
                res = await self.call(self.precharge_req(targets), self.t.ev_msg_s)
                present = res.evse_present_voltage_V
                await self.pace()

    def precharge_req(self, targets: PreChargeTargets) -> Any:
        return self.M.PreChargeReq(session_id=self.session_id, dc_ev_status=targets.ev_status,
                                   ev_target_voltage_V=targets.target_voltage_V, ev_target_current_A=targets.target_current_A)

    async def power_delivery(self, progress: ChargeProgress) -> Any:
        sel = self.selection or ScheduleSelection(tuple_id=1)
        if self.protocol is Protocol.DIN70121:
            req = din.PowerDeliveryReq(session_id=self.session_id, ready_to_charge_state=progress is ChargeProgress.START,
                                       sa_schedule_tuple_id=sel.tuple_id, charging_profile=sel.profile,
                                       dc_ev_status=self.ev_status)
        else:
            req = iso2.PowerDeliveryReq(session_id=self.session_id, charge_progress=progress, sa_schedule_tuple_id=sel.tuple_id,
                                        charging_profile=sel.profile if progress is ChargeProgress.START else (),
                                        dc_ev_status=self.ev_status if self.is_dc else None)
        return await self.call(req, self.t.ev_power_delivery(self.protocol))

    async def welding(self) -> None:
        started = self.clock.monotonic()
        while True:
            res = await self.call(self.M.WeldingDetectionReq(session_id=self.session_id, dc_ev_status=self.ev_status),
                                  self.t.ev_msg_s)
            if await self.app(WeldingDetectionStatus(present_voltage_V=res.evse_present_voltage_V)):
                return
            self.ongoing(started, "WeldingDetection")
            await self.pace()

    async def session_stop(self, pause: bool) -> None:
        if self.protocol is Protocol.DIN70121:
            req: Any = din.SessionStopReq(session_id=self.session_id)
        else:
            req = self.M.SessionStopReq(session_id=self.session_id,
                                        charging_session=ChargingSession.PAUSE if pause else ChargingSession.TERMINATE)
        await self.call(req, self.t.ev_msg_s)


def _asdict(obj) -> dict:
    import attrs

    return attrs.asdict(obj, recurse=False)


def _invalid():
    from freev2g.model.enums import IsolationLevel

    return IsolationLevel.INVALID
