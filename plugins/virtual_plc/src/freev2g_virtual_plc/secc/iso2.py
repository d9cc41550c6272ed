"""SECC message sequencing for ISO 15118-2, AC and DC (charging-domain.md 3.1-3.4, 3.6, 6, 8).

This file: session setup, services, payment, authorization and charge parameters (3.1 steps
2-9); the energy-transfer steps (CableCheck to SessionStop) are in iso2_energy.py. DIN 70121
(din.py) subclasses this server and overrides the few steps that differ (3.5).
"""
from __future__ import annotations

import secrets
from typing import Any

from freev2g.link import (
    J2847_V2G_SERVICE_ID,
    J2847_V2H_SERVICE_ID,
    AuthorizationRequest,
    ChargeParameterRequest,
    PaymentSelected,
    SessionSetup,
)
from freev2g.model.enums import (
    EVSEProcessing,
    PaymentOption,
    Protocol,
    ResponseCode,
    StopCause,
)
from freev2g.model.params import BPTEVParameter
from freev2g.model.schedule import PMaxScheduleEntry, SAScheduleList, SAScheduleTuple

from ..messages import iso2
from .iso2_energy import EnergyTransferSteps
from .session import TIMED_OUT, SeccSession

J2847_SERVICES = {"V2H": J2847_V2H_SERVICE_ID, "V2G": J2847_V2G_SERVICE_ID}


def default_schedules(max_power_W: float) -> SAScheduleList:
    """One tuple, ID 1, one entry of 24 h at the EVSE maximum (6.1, EVerest default)."""
    return SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, max_power_W, 86_400)])])


class Iso2Server(EnergyTransferSteps, SeccSession):
    protocol = Protocol.ISO15118_2
    M: Any = iso2
    FIRST = (iso2.SessionSetupReq,)

    def __init__(self, link, pipe) -> None:
        super().__init__(link, pipe)
        self.evcc_id = ""
        self.payment = PaymentOption.EXTERNAL_PAYMENT
        self.emaid: str | None = None
        self.challenge: bytes | None = None
        self.j2847_mode: str | None = None
        self.j2847_charge_param: Any = None
        self.mode = None
        self.is_dc = True
        self.schedules: SAScheduleList | None = None
        self.tuple_id = 1
        self.power_started = False
        self.renegotiating = False
        self.loop_start: dict[str, float] = {}
        self.receipt_meter: iso2.MeterInfo | None = None  # MeterInfo awaiting a MeteringReceiptReq
        self.handlers = self.build_handlers()

    def build_handlers(self) -> dict:
        M = self.M
        self.handlers = {
            M.SessionSetupReq: self.on_session_setup,
            M.ServiceDiscoveryReq: self.on_service_discovery,
            M.ChargeParameterDiscoveryReq: self.on_charge_parameter,
            M.CableCheckReq: self.on_cable_check,
            M.PreChargeReq: self.on_precharge,
            M.PowerDeliveryReq: self.on_power_delivery,
            M.CurrentDemandReq: self.on_current_demand,
            M.WeldingDetectionReq: self.on_welding,
            M.SessionStopReq: self.on_session_stop,
        }
        self.add_protocol_handlers()
        return self.handlers

    def add_protocol_handlers(self) -> None:
        M = self.M
        self.handlers.update({
            M.ServiceDetailReq: self.on_service_detail,
            M.PaymentServiceSelectionReq: self.on_payment_selection,
            M.PaymentDetailsReq: self.on_payment_details,
            M.AuthorizationReq: self.on_authorization,
            M.ChargingStatusReq: self.on_charging_status,
            M.MeteringReceiptReq: self.on_metering_receipt,
        })  # fmt: skip

    # --- helpers -----------------------------------------------------------------------------

    def ongoing_expired(self, key: str, limit_s: float) -> bool:
        start = self.loop_start.setdefault(key, self.clock.monotonic())
        return self.clock.monotonic() - start > limit_s

    def too_slow(self, req: Any, what: str, limit_s: float):
        return self.fail(req, ResponseCode.FAILED, StopCause.LINK_TIMEOUT,
                         f"EVSE application did not answer {what} within {limit_s:g} s")

    def dc_status(self, status_code=None, isolation=None) -> iso2.DCEVSEStatus:
        note, delay = self.notification()
        kw = {} if status_code is None else {"status_code": status_code}
        return iso2.DCEVSEStatus(notification=note, notification_max_delay_s=delay, isolation_status=isolation, **kw)

    def ac_status(self, rcd: bool = False) -> iso2.ACEVSEStatus:
        note, delay = self.notification()
        return iso2.ACEVSEStatus(notification=note, notification_max_delay_s=delay, rcd=rcd)

    # --- 3.1 steps 2-8 -----------------------------------------------------------------------

    async def on_session_setup(self, req):
        paused = self.link.paused_sessions.get(req.session_id)
        resumed = paused is self.protocol
        if resumed:
            del self.link.paused_sessions[req.session_id]
            self.session_id = req.session_id
        else:
            self.session_id = secrets.token_hex(8).upper()
        self.setup_done = True
        self.evcc_id = req.evcc_id
        self.link.session_started()
        await self.app(SessionSetup(protocol=self.protocol, iso_session_id=self.session_id,
                                    evcc_id=req.evcc_id, resumed=resumed))
        self.allowed = {self.M.ServiceDiscoveryReq}
        code = ResponseCode.OK_OLD_SESSION_JOINED if resumed else ResponseCode.OK_NEW_SESSION
        return self.session_setup_res(code)

    def session_setup_res(self, code: ResponseCode):
        return iso2.SessionSetupRes(session_id=self.session_id, response_code=code, evse_id=self.offer.evse_id,
                                    evse_timestamp_s=int(self.clock.now().timestamp()))

    async def on_service_discovery(self, req):
        services = ()
        if self.offer.sae_j2847_2_bpt_mode in J2847_SERVICES:
            sid = J2847_SERVICES[self.offer.sae_j2847_2_bpt_mode]
            services = (iso2.Service(service_id=sid, service_name=f"SAE J2847/2 {self.offer.sae_j2847_2_bpt_mode}"),)
        self.allowed = {iso2.ServiceDetailReq, iso2.PaymentServiceSelectionReq}
        return iso2.ServiceDiscoveryRes(
            session_id=self.session_id, payment_options=self.offer.payment_options,
            charge_service=iso2.ChargeService(free_service=self.offer.free_service,
                                              energy_transfer_modes=self.offer.energy_transfer_modes),
            services=services,
        )

    async def on_service_detail(self, req):
        known = {1, *(J2847_SERVICES.get(self.offer.sae_j2847_2_bpt_mode or "", 1),)}
        if req.service_id not in known:
            return self.fail(req, ResponseCode.FAILED_SERVICE_ID_INVALID, StopCause.OTHER,
                             f"ServiceDetailReq for unknown ServiceID {req.service_id}")
        return iso2.ServiceDetailRes(session_id=self.session_id, service_id=req.service_id)

    def check_selection(self, req) -> Any:
        if req.selected_payment_option not in self.offer.payment_options:
            return self.fail(req, ResponseCode.FAILED_PAYMENT_SELECTION_INVALID, StopCause.OTHER,
                             f"payment option {req.selected_payment_option.value} not offered")
        ids = [s.service_id for s in req.selected_services]
        if 1 not in ids:
            return self.fail(req, ResponseCode.FAILED_NO_CHARGE_SERVICE_SELECTED, StopCause.OTHER,
                             "SelectedServiceList lacks the charge service (ID 1)")
        offered_j = J2847_SERVICES.get(self.offer.sae_j2847_2_bpt_mode or "")
        for sid in ids:
            if sid != 1 and sid != offered_j:
                return self.fail(req, ResponseCode.FAILED_SERVICE_SELECTION_INVALID, StopCause.OTHER,
                                 f"ServiceID {sid} was not offered")
        if offered_j in ids:
            self.j2847_mode = self.offer.sae_j2847_2_bpt_mode
        self.payment = req.selected_payment_option
        return None

    async def on_payment_selection(self, req):
        failed = self.check_selection(req)
        if failed is not None:
            return failed
        await self.app(PaymentSelected(option=self.payment,
                                       selected_service_ids=tuple(s.service_id for s in req.selected_services)))
        pnc = self.payment is PaymentOption.CONTRACT
        self.allowed = {iso2.PaymentDetailsReq} if pnc else {iso2.AuthorizationReq}
        return iso2.PaymentServiceSelectionRes(session_id=self.session_id)

    async def on_payment_details(self, req):
        self.emaid = req.emaid
        self.challenge = secrets.token_bytes(16)
        self.allowed = {iso2.AuthorizationReq}
        return iso2.PaymentDetailsRes(session_id=self.session_id, gen_challenge=self.challenge,
                                      evse_timestamp_s=int(self.clock.now().timestamp()))

    async def authorize(self, req, res_type):
        """Authorization loop (step 8): Ongoing until the application decides."""
        if self.challenge is not None and req.gen_challenge != self.challenge:
            return self.fail(req, ResponseCode.FAILED_CHALLENGE_INVALID, StopCause.AUTHORIZATION_REJECTED,
                             "AuthorizationReq GenChallenge does not match PaymentDetailsRes")
        event = AuthorizationRequest(option=self.payment, emaid=self.emaid, evcc_id=self.evcc_id)
        ans = await self.ask("auth", event, self.t.secc_perf_s)
        if ans is not TIMED_OUT and ans.processing is EVSEProcessing.FINISHED and not ans.accepted:
            return self.fail(req, ResponseCode.FAILED, StopCause.AUTHORIZATION_REJECTED, "authorization rejected")
        if ans is TIMED_OUT or ans.processing is not EVSEProcessing.FINISHED:
            if self.ongoing_expired("auth", self.t.secc_ongoing_perf_s):
                return self.fail(req, ResponseCode.FAILED, StopCause.AUTHORIZATION_TIMEOUT,
                                 f"authorization not decided within {self.t.secc_ongoing_perf_s:g} s")
            processing = EVSEProcessing.ONGOING if ans is TIMED_OUT else ans.processing
            return res_type(session_id=self.session_id, evse_processing=self.din_processing(processing))
        self.allowed = {self.M.ChargeParameterDiscoveryReq}
        return res_type(session_id=self.session_id, evse_processing=EVSEProcessing.FINISHED)

    def din_processing(self, p: EVSEProcessing) -> EVSEProcessing:
        return p

    async def on_authorization(self, req):
        return await self.authorize(req, iso2.AuthorizationRes)

    # --- 3.1 step 9: charge parameters (+ J2847/2, section 8) --------------------------------

    def charge_request(self, req) -> tuple[ChargeParameterRequest | None, str]:
        mode = req.requested_energy_transfer_mode
        if mode not in self.offer.energy_transfer_modes:
            return None, f"energy transfer mode {mode.value} not offered"
        self.mode, self.is_dc = mode, mode.is_dc
        dc = req.dc_ev_charge_parameter
        bpt = None
        if mode.is_dc:
            if dc is None:
                return None, "DC mode without DC_EVChargeParameter"
            if dc.is_discharge_request:
                if not self.j2847_mode:
                    return None, "negative EV limits without an SAE J2847/2 service"
                first = self.j2847_charge_param or dc
                bpt = BPTEVParameter(ev_max_discharge_power_W=abs(dc.ev_maximum_power_limit_W or 0.0),
                                     ev_max_discharge_current_A=abs(dc.ev_maximum_current_limit_A))
                dc = first
        elif req.ac_ev_charge_parameter is None:
            return None, "AC mode without AC_EVChargeParameter"
        return ChargeParameterRequest(
            mode=mode,
            ac=req.ac_ev_charge_parameter.to_model() if not mode.is_dc else None,
            dc=dc.to_model() if mode.is_dc else None,
            bpt=bpt,
            max_entries=getattr(req, "max_entries_sa_schedule_tuple", None),
            renegotiation=self.renegotiating,
        ), ""

    async def on_charge_parameter(self, req):
        event, problem = self.charge_request(req)
        if event is None:
            code = (ResponseCode.FAILED_WRONG_ENERGY_TRANSFER_MODE if "mode" in problem
                    else ResponseCode.FAILED_WRONG_CHARGE_PARAMETER)
            return self.fail(req, self.din_code(code), StopCause.OTHER, problem)
        dc = req.dc_ev_charge_parameter
        if self.j2847_mode == "V2H" and dc is not None and not dc.is_discharge_request:
            # 8: V2H answers Ongoing first; the EV's next request carries its discharge limits
            self.j2847_charge_param = dc
            return self.cpd_res(EVSEProcessing.ONGOING, None)
        ans = await self.ask("cpd", event, self.t.secc_perf_s)
        if ans is not TIMED_OUT and ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.OTHER, "charge parameters refused by the EVSE")
        if ans is TIMED_OUT or ans.processing is not EVSEProcessing.FINISHED:
            if self.ongoing_expired("cpd", self.t.secc_ongoing_perf_s):
                return self.fail(req, ResponseCode.FAILED, StopCause.OTHER,
                                 f"no schedule within {self.t.secc_ongoing_perf_s:g} s")
            return self.cpd_res(EVSEProcessing.ONGOING, None if ans is TIMED_OUT else ans)
        self.loop_start.pop("cpd", None)
        if ans.schedules is None:
            power = ans.dc.max_power_W if ans.dc else (ans.ac.max_power_W if ans.ac and ans.ac.max_power_W
                                                       else (ans.ac.nominal_voltage_V * ans.ac.max_current_A * 3 if ans.ac else 0.0))
            self.schedules = default_schedules(power)
        else:
            self.schedules = ans.schedules
        if self.renegotiating or not self.is_dc:
            self.allowed = {self.M.PowerDeliveryReq}
        else:
            self.allowed = {self.M.CableCheckReq}
        return self.cpd_res(EVSEProcessing.FINISHED, ans)

    def din_code(self, code: ResponseCode) -> ResponseCode:
        return code

    def cpd_res(self, processing: EVSEProcessing, ans: Any):
        note = self.dc_status(ans.dc.status_code if ans and ans.dc else None) if self.is_dc else None
        return iso2.ChargeParameterDiscoveryRes(
            session_id=self.session_id, evse_processing=processing,
            sa_schedule_list=self.schedules if processing is EVSEProcessing.FINISHED else None,
            ac_evse_charge_parameter=ans.ac if ans and not self.is_dc else None,
            ac_evse_status=self.ac_status() if not self.is_dc else None,
            dc_evse_charge_parameter=ans.dc if ans and self.is_dc else None,
            dc_evse_status=note,
        )
