"""The link handler: every EVSE-role link event (core/link.py) and its answer.

Message order and rules: charging-domain.md 3.1 (sequence), 3.6 (CP interplay), 6.1-6.2
(SAScheduleList, renegotiation), 8 (SAE J2847/2). DC and AC specifics live in dc.py / ac.py.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..link import (
    ACChargeLoopRequest,
    AuthorizationAnswer,
    AuthorizationRequest,
    CableCheckRequest,
    ChargeParameterAnswer,
    ChargeParameterRequest,
    DCChargeLoopRequest,
    J2847_V2G_SERVICE_ID,
    J2847_V2H_SERVICE_ID,
    LinkEvent,
    LinkUp,
    MatchingFailed,
    MatchingStarted,
    PaymentSelected,
    PowerDeliveryAnswer,
    PowerDeliveryRequest,
    PreChargeRequest,
    SessionEnded,
    SessionSetup,
    SessionStopRequest,
    WeldingDetectionRequest,
)
from ..model import events as ev
from ..model.enums import (
    ChargeProgress,
    ChargingSession,
    EVSENotification,
    EVSEProcessing,
    EVSEStatusCode,
    IsolationLevel,
    Protocol,
    ResponseCode,
    StopCause,
)
from ..model.params import ACEVSEChargeParameter, DCEVSEChargeParameter
from .energy_watch import EnergyWatch
from .metering import SupplyReadError
from .states import EvseState

if TYPE_CHECKING:  # pragma: no cover
    from .manager import EvseManager

log = logging.getLogger(__name__)

LINK_FAILURES = (StopCause.LINK_TIMEOUT, StopCause.LINK_LOST, StopCause.SEQUENCE_ERROR)
LOOP_REQUESTS = (DCChargeLoopRequest, ACChargeLoopRequest)
NOT_FROM_THE_EV = (MatchingStarted, LinkUp, MatchingFailed, SessionEnded)  # link notifications


class HlcHandler:
    def __init__(self, manager: "EvseManager"):
        self.m = manager
        self.matching_started = False
        self.matched = False
        self.watch = EnergyWatch(manager)  # charge-loop and isolation watches (energy_watch.py)
        self._dispatch = {
            MatchingStarted: self._matching_started,
            LinkUp: self._link_up,
            MatchingFailed: self._matching_failed,
            SessionSetup: self._session_setup,
            PaymentSelected: self._payment_selected,
            AuthorizationRequest: self._authorization,
            ChargeParameterRequest: self._charge_parameters,
            CableCheckRequest: lambda e: self.m.dc.cable_check(e),
            PreChargeRequest: lambda e: self.m.dc.precharge(e),
            PowerDeliveryRequest: self._power_delivery,
            DCChargeLoopRequest: lambda e: self.m.dc.loop(e),
            ACChargeLoopRequest: lambda e: self.m.ac.loop_answer(e),
            WeldingDetectionRequest: lambda e: self.m.dc.welding(),
            SessionStopRequest: self._session_stop,
            SessionEnded: self._session_ended,
        }

    async def handle(self, event: LinkEvent) -> Any:
        """The EvseLinkHandler: answer of type `event.ANSWER` (or None for notifications)."""
        if not isinstance(event, NOT_FROM_THE_EV):
            self.watch.seen(loop=isinstance(event, LOOP_REQUESTS))
        fn = self._dispatch.get(type(event))
        if fn is None:
            log.warning("evse %s: unhandled link event %s", self.m.evse_index, type(event).__name__)
            return None
        try:
            result = fn(event)
            if hasattr(result, "__await__"):
                result = await result
            return result
        except SupplyReadError as exc:  # issue #10 item 12: a supply fault, not an internal error
            log.error("evse %s: %s in %s; stopping", self.m.evse_index, exc, type(event).__name__)
            self.m.spawn(self.m.stop(StopCause.POWER_SUPPLY_FAULT, f"{exc} (in {type(event).__name__})", fault=True))
            raise
        except Exception:
            log.exception("evse %s: handling %s failed; stopping", self.m.evse_index, type(event).__name__)
            self.m.spawn(self.m.stop(StopCause.OTHER, f"internal error in {type(event).__name__}", fault=True))
            raise

    # ------------------------------------------------------------------ SLAC

    def _matching_started(self, e: MatchingStarted) -> None:
        self.matching_started = True

    def _link_up(self, e: LinkUp) -> None:
        self.matched = True

    def _matching_failed(self, e: MatchingFailed) -> None:
        self.matching_started = False
        log.warning("evse %s: SLAC matching failed: %s", self.m.evse_index, e.reason)

    # ------------------------------------------------------------------ session setup

    async def _session_setup(self, e: SessionSetup) -> None:
        m = self.m
        s = m.session
        if s is None or s.finished:
            m.session = None
            await m.open_session()
            s = m.session
        assert s is not None
        resumed = s.paused and s.protocol is not None
        s.protocol, s.iso_session_id, s.ev_id = e.protocol, e.iso_session_id, e.evcc_id
        if not resumed:
            m.dc.reset_session()
            m.emit(ev.SessionStarted, protocol=e.protocol, iso_session_id=e.iso_session_id, ev_id=e.evcc_id)
        else:
            s.cable_check_passed = False
            s.power_delivery_started = False  # resumed: no current before a new PowerDelivery(Start)
            m.dc.reset_session()

    def _payment_selected(self, e: PaymentSelected) -> None:
        s = self.m.session
        if s is None:
            return
        s.auth_method = e.option
        s.emaid = e.emaid
        cfg = self.m.config
        if cfg.sae_j2847_2_bpt_enabled and self.m.is_dc:
            wanted = J2847_V2H_SERVICE_ID if cfg.sae_j2847_2_bpt_mode == "V2H" else J2847_V2G_SERVICE_ID
            if wanted in e.selected_service_ids:
                s.j2847_mode = cfg.sae_j2847_2_bpt_mode

    async def _authorization(self, e: AuthorizationRequest) -> AuthorizationAnswer:
        m = self.m
        s = m.session
        if s is None or s.finished:
            return AuthorizationAnswer(processing=EVSEProcessing.FINISHED, accepted=False)
        if s.authorized is None and s.auth_started_s is None:
            s.auth_started_s = m.clock.monotonic()
            decision = m.auth.decide(e.option, emaid=e.emaid, evcc_id=e.evcc_id, id_token=e.emaid)
            if decision is not None:
                await m.apply_authorization(decision, e.option)
        if s.authorized is True:
            return AuthorizationAnswer(processing=EVSEProcessing.FINISHED, accepted=True)
        if s.authorized is False:
            s.requested_stop = s.requested_stop or StopCause.AUTHORIZATION_REJECTED
            return AuthorizationAnswer(processing=EVSEProcessing.FINISHED, accepted=False)
        if m.clock.monotonic() - (s.auth_started_s or 0.0) > m.tunables.authorization_timeout_s:
            s.authorized = False
            s.requested_stop = StopCause.AUTHORIZATION_TIMEOUT
            m.emit(ev.Authorized, method=e.option, accepted=False, reason="authorization timeout")
            return AuthorizationAnswer(processing=EVSEProcessing.FINISHED, accepted=False)
        return AuthorizationAnswer(processing=EVSEProcessing.ONGOING, accepted=False)

    # ------------------------------------------------------------------ charge parameters

    async def _charge_parameters(self, e: ChargeParameterRequest) -> ChargeParameterAnswer:
        m = self.m
        s = m.session
        if s is None or s.finished:
            return ChargeParameterAnswer(response_code=ResponseCode.FAILED)
        if not (e.renegotiation and s.j2847_cpd_rounds):
            m.emit(ev.EVNeedsReceived, mode=e.mode, ac=e.ac, dc=e.dc, bpt=e.bpt, max_entries=e.max_entries,
                   renegotiation=e.renegotiation)
        s.mode, s.ev_dc, s.ev_ac, s.bpt = e.mode, e.dc, e.ac, e.bpt
        if e.dc is not None:
            s.ev_max_voltage_V = e.dc.ev_max_voltage_V
            s.soc_pct = e.dc.status.soc_pct
            if s.start_soc_pct is None:
                s.start_soc_pct = e.dc.status.soc_pct
        failure = self._check_request(e)
        if failure is not None:
            s.requested_stop = s.requested_stop or StopCause.EV_FAULT
            s.requested_detail = f"ChargeParameterDiscovery: {failure.value}"
            return ChargeParameterAnswer(response_code=failure)
        if s.j2847_mode == "V2H" and not e.renegotiation:
            s.j2847_cpd_rounds += 1
            if s.j2847_cpd_rounds == 1:
                return ChargeParameterAnswer(processing=EVSEProcessing.ONGOING)  # 8: first answer Ongoing
            if e.bpt is None:
                return ChargeParameterAnswer(response_code=ResponseCode.FAILED_WRONG_ENERGY_TRANSFER_MODE)
        if e.bpt is not None and e.dc is not None:
            s.min_soc_pct = e.dc.bulk_soc_pct if e.dc.bulk_soc_pct is not None else m.tunables.v2h_min_soc_pct
        m.refresh_limit()
        now = m.clock.now()
        ac_param = dc_param = None
        if m.is_dc:
            lim = m.dc.limits()
            bidi = m.dc.discharge_allowed()
            dc_param = DCEVSEChargeParameter(
                max_current_A=lim.max_current_A,
                max_voltage_V=lim.max_voltage_V,
                max_power_W=lim.max_power_W,
                min_current_A=lim.min_current_A,
                min_voltage_V=lim.min_voltage_V,
                peak_current_ripple_A=1.0,
                current_regulation_tolerance_A=1.0,
                energy_to_be_delivered_Wh=e.dc.ev_energy_request_Wh if e.dc else None,
                status_code=EVSEStatusCode.READY,
                isolation=IsolationLevel.VALID if s.cable_check_passed else IsolationLevel.INVALID,
                max_discharge_power_W=lim.max_discharge_power_W if bidi else None,
                max_discharge_current_A=lim.max_discharge_current_A if bidi else None,
            )
            rated_W = m.dc.limits(raw=True).max_power_W
            departure = e.dc.departure_time_s if e.dc else None
        else:
            limit_A = m.ac.current_limit_A()
            ac_param = ACEVSEChargeParameter(
                nominal_voltage_V=m.config.ac_nominal_voltage,
                max_current_A=round(limit_A, 1),
                max_power_W=round(limit_A * m.config.ac_nominal_voltage * m.phases, 1),
            )
            rated_W = m.config.max_current_import_A * m.config.ac_nominal_voltage * m.phases
            departure = e.ac.departure_time_s if e.ac else None
        offered_W = m.auth.power_limit_W(now, rated_W)
        schedules = m.schedules.sa_schedule_list(
            m.evse_index,
            now,
            max_entries=e.max_entries,
            departure_s=departure,
            evse_max_power_W=offered_W,
            nominal_voltage_V=m.config.ac_nominal_voltage,
            phases=m.phases,
        )
        s.schedules = schedules
        s.renegotiation_pending = False  # this offer already reflects the current limits
        m.emit(ev.EVSELimitsOffered, ac=ac_param, dc=dc_param)
        m.emit(ev.ScheduleOffered, schedules=schedules, reason="renegotiation" if e.renegotiation else "initial")
        notification = EVSENotification.NONE
        if e.renegotiation and m.notification is EVSENotification.RENEGOTIATION:
            m.notification = EVSENotification.NONE
        if offered_W <= 0 and not e.renegotiation:
            notification = EVSENotification.STOP_CHARGING  # 5.9 "no energy available" pause
        return ChargeParameterAnswer(
            processing=EVSEProcessing.FINISHED, ac=ac_param, dc=dc_param, schedules=schedules, notification=notification
        )

    def _check_request(self, e: ChargeParameterRequest) -> ResponseCode | None:
        m = self.m
        s = m.session
        if e.mode.is_dc != m.is_dc or (e.mode.is_bidirectional and e.mode not in m.offer().energy_transfer_modes):
            return ResponseCode.FAILED_WRONG_ENERGY_TRANSFER_MODE
        if m.is_dc and e.dc is None or not m.is_dc and e.ac is None:
            return ResponseCode.FAILED_WRONG_CHARGE_PARAMETER
        if e.bpt is not None:
            iso20 = s.protocol is Protocol.ISO15118_20
            if not m.dc.bidirectional or (not iso20 and s.j2847_mode is None):
                return ResponseCode.FAILED_WRONG_CHARGE_PARAMETER  # 8: negative limits without J2847
        return None

    # ------------------------------------------------------------------ power delivery

    async def _power_delivery(self, e: PowerDeliveryRequest) -> PowerDeliveryAnswer:
        m = self.m
        s = m.session
        if s is None or s.finished:
            return PowerDeliveryAnswer(response_code=ResponseCode.FAILED, status_code=EVSEStatusCode.SHUTDOWN)
        m.emit(ev.PowerDelivery, progress=e.progress, tuple_id=e.tuple_id)
        if e.progress is ChargeProgress.START:
            code = self._check_selection(e)
            if code is None:
                code = await (m.dc.power_on() if m.is_dc else m.ac.hlc_power_on())
            if code is ResponseCode.OK and (m.session is not s or s.finished or s.stopping):
                await m.power_off()  # stopped while the request was being served (finding A)
                code = ResponseCode.FAILED
            if code is not ResponseCode.OK:
                return PowerDeliveryAnswer(response_code=code, status_code=EVSEStatusCode.SHUTDOWN)
            s.tuple_id = e.tuple_id
            if s.paused:
                s.paused = False
                m.emit(ev.ChargingResumed, by="ev")
            s.power_delivery_started = True
            m.set_state(EvseState.CHARGING, "PowerDelivery(Start)")
            self.watch.start()
            m.meter_sample()
            if s.renegotiation_pending:
                s.renegotiation_pending = False
                m.request_renegotiation()
            return PowerDeliveryAnswer()
        if e.progress is ChargeProgress.RENEGOTIATE:
            m.notification = EVSENotification.NONE
            m.set_state(EvseState.RENEGOTIATING, "PowerDelivery(Renegotiate)")
            return PowerDeliveryAnswer()
        if e.progress is ChargeProgress.STANDBY:
            m.dc.zero_current()
            return PowerDeliveryAnswer()
        s.power_delivery_started = False  # item 2: no current from here, whatever the link passes on
        m.set_state(EvseState.STOPPING, "PowerDelivery(Stop)")
        if m.is_dc:
            await m.dc.power_down()
        else:
            await m.power_off()
        if m.notification is EVSENotification.STOP_CHARGING:
            m.notification = EVSENotification.NONE
        m.meter_sample()
        return PowerDeliveryAnswer()

    def _check_selection(self, e: PowerDeliveryRequest) -> ResponseCode | None:
        """6.1: unknown tuple id -> FAILED_TariffSelectionInvalid; an EV profile above the
        selected PMax -> FAILED_ChargingProfileInvalid ([V2G2-225])."""
        s = self.m.session
        if s.schedules is None or e.tuple_id is None:
            return None
        chosen = s.schedules.get(e.tuple_id)
        if chosen is None:
            return ResponseCode.FAILED_TARIFF_SELECTION_INVALID
        for i, entry in enumerate(e.profile):
            end = e.profile[i + 1].start_s if i + 1 < len(e.profile) else chosen.covered_s
            points = [entry.start_s] + [p.start_s for p in chosen.entries if entry.start_s < p.start_s < end]
            if any(entry.max_power_W > chosen.pmax_at(t) + 1e-6 for t in points):
                return ResponseCode.FAILED_CHARGING_PROFILE_INVALID
        return None

    # ------------------------------------------------------------------ end of session

    def _session_stop(self, e: SessionStopRequest) -> None:
        m = self.m
        s = m.session
        if s is None or s.finished:
            return
        if e.kind is ChargingSession.PAUSE:
            s.paused = True
            m.set_state(EvseState.PAUSED_EV, "SessionStop(Pause)")
            m.emit(ev.ChargingPaused, by="ev")

    async def _session_ended(self, e: SessionEnded) -> None:
        m = self.m
        s = m.session
        if s is None or s.finished:
            if m.energy_on:
                await m.power_off()
            return
        if (e.paused or s.paused) and e.cause not in LINK_FAILURES:
            s.power_delivery_started = False
            await m.power_off()
            if not s.paused:
                s.paused = True
                m.emit(ev.ChargingPaused, by="ev")
            s.cable_check_passed = False
            m.dc.reset_session()
            m.set_state(EvseState.PAUSED_EV, "session paused")
            return
        cause = s.requested_stop or e.cause
        detail = e.detail or s.requested_detail
        fault = e.cause in LINK_FAILURES or m.energy_on
        await m.stop(cause, detail, fault=fault, abort_link=False)
