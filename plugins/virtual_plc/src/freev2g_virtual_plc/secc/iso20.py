"""SECC sequencing for ISO 15118-20: DC, DC_BPT, AC (and AC_BPT); Scheduled and Dynamic
control (charging-domain.md 7.2-7.7, 6.3; SCALE 9.2/13.2).

ChargeParameterRequest is raised twice: at -20 ChargeParameterDiscovery (EV limits, BPT limits,
SCALE RemainingV2GEnergy / RoundTripEfficiency; the answer gives the EVSE limits) and at every
ScheduleExchange with the complete needs (DepartureTime, EVTarget/Maximum/MinimumEnergyRequest;
Dynamic also MinimumSOC, TargetSOC, EVMaximum/MinimumV2XEnergyRequest, MaximumSupportingPoints);
that answer gives the schedules.
"""
from __future__ import annotations

import secrets
from types import SimpleNamespace

import attrs

from freev2g.link import (
    ACChargeLoopRequest,
    AuthorizationRequest,
    ChargeParameterRequest,
    DCChargeLoopRequest,
    PaymentSelected,
    PreChargeRequest,
    WeldingDetectionRequest,
)
from freev2g.model.enums import (
    ChargeProgress,
    ControlMode,
    EnergyTransferMode as ETM,
    EVSENotification,
    EVSEProcessing,
    PaymentOption,
    Protocol,
    ResponseCode,
    StopCause,
)
from freev2g.model.params import ACEVChargeParameter, BPTEVParameter, DCEVChargeParameter, DCEVStatus, ScaleNeeds

from ..messages import iso20 as M20
from .iso2 import Iso2Server, default_schedules
from .session import TIMED_OUT

SERVICE_OF_MODE = {ETM.AC_BPT: M20.SERVICE_AC_BPT, ETM.DC_BPT: M20.SERVICE_DC_BPT}
NOTE = {EVSENotification.NONE: M20.Notification.NONE, EVSENotification.STOP_CHARGING: M20.Notification.TERMINATE,
        EVSENotification.RENEGOTIATION: M20.Notification.SCHEDULE_RENEGOTIATION}


def service_of(mode: ETM) -> int:
    return SERVICE_OF_MODE.get(mode, M20.SERVICE_DC if mode.is_dc else M20.SERVICE_AC)


class Iso20Server(Iso2Server):
    protocol = Protocol.ISO15118_20
    M = M20
    FIRST = (M20.SessionSetupReq,)

    def __init__(self, link, pipe) -> None:
        super().__init__(link, pipe)
        self.control_mode = ControlMode.SCHEDULED
        self.cpd_event: ChargeParameterRequest | None = None
        self.cpd_answer = None
        self.soc_pct = 0.0
        self.ev_min_power_W = 0.0

    def build_handlers(self) -> dict:
        return {
            M20.SessionSetupReq: self.on_session_setup, M20.AuthorizationSetupReq: self.on_auth_setup,
            M20.AuthorizationReq: self.on_authorization, M20.ServiceDiscoveryReq: self.on_service_discovery,
            M20.ServiceDetailReq: self.on_service_detail, M20.ServiceSelectionReq: self.on_service_selection,
            M20.DCChargeParameterDiscoveryReq: self.on_dc_cpd, M20.ACChargeParameterDiscoveryReq: self.on_ac_cpd,
            M20.ScheduleExchangeReq: self.on_schedule_exchange, M20.DCCableCheckReq: self.on_cable_check,
            M20.DCPreChargeReq: self.on_precharge, M20.PowerDeliveryReq: self.on_power_delivery,
            M20.DCChargeLoopReq: self.on_dc_loop, M20.ACChargeLoopReq: self.on_ac_loop,
            M20.DCWeldingDetectionReq: self.on_welding, M20.SessionStopReq: self.on_session_stop,
        }  # fmt: skip

    def session_setup_res(self, code):
        self.allowed = {M20.AuthorizationSetupReq}
        return M20.SessionSetupRes(session_id=self.session_id, response_code=code, evse_id=self.offer.evse_id)

    def evse_status(self) -> M20.EVSEStatus:
        note, delay = self.notification()
        return M20.EVSEStatus(notification=NOTE.get(note, M20.Notification.NONE), notification_max_delay_s=delay)

    async def on_auth_setup(self, req):
        self.allowed = {M20.AuthorizationReq}
        pnc = PaymentOption.CONTRACT in self.offer.payment_options
        self.challenge = secrets.token_bytes(16) if pnc else None
        return M20.AuthorizationSetupRes(session_id=self.session_id, authorization_services=self.offer.payment_options,
                                         gen_challenge=self.challenge)

    async def on_authorization(self, req):
        if "auth" not in self.loop_start:
            if req.selected_authorization_service not in self.offer.payment_options:
                return self.fail(req, ResponseCode.FAILED, StopCause.OTHER, "authorization service not offered")
            self.payment, self.emaid = req.selected_authorization_service, req.emaid
            if self.payment is not PaymentOption.CONTRACT:
                self.challenge = None
            await self.app(PaymentSelected(option=self.payment, emaid=self.emaid))
        if self.challenge is not None and req.gen_challenge != self.challenge:
            return self.fail(req, ResponseCode.FAILED_CHALLENGE_INVALID, StopCause.AUTHORIZATION_REJECTED,
                             "GenChallenge mismatch")
        event = AuthorizationRequest(option=self.payment, emaid=self.emaid, evcc_id=self.evcc_id)
        self.loop_start.setdefault("auth", self.clock.monotonic())
        ans = await self.ask("auth", event, self.t.secc_perf_s)
        if ans is not TIMED_OUT and ans.processing is EVSEProcessing.FINISHED and not ans.accepted:
            return self.fail(req, ResponseCode.FAILED, StopCause.AUTHORIZATION_REJECTED, "authorization rejected")
        if ans is TIMED_OUT or ans.processing is not EVSEProcessing.FINISHED:
            if self.ongoing_expired("auth", self.t.secc_ongoing_perf_s):
                return self.fail(req, ResponseCode.FAILED, StopCause.AUTHORIZATION_TIMEOUT, "authorization timeout")
            return M20.AuthorizationRes(session_id=self.session_id, evse_processing=M20.Processing.ONGOING)
        self.allowed = {M20.ServiceDiscoveryReq}
        return M20.AuthorizationRes(session_id=self.session_id, evse_processing=M20.Processing.FINISHED)

    async def on_service_discovery(self, req):
        ids = sorted({service_of(m) for m in self.offer.energy_transfer_modes})
        if req.supported_service_ids is not None:
            ids = [i for i in ids if i in req.supported_service_ids]
        self.allowed = {M20.ServiceDetailReq, M20.ServiceSelectionReq}
        return M20.ServiceDiscoveryRes(session_id=self.session_id, energy_transfer_services=[
            M20.EnergyTransferService(service_id=i, free_service=self.offer.free_service) for i in ids])

    def parameter_sets(self, service_id: int) -> tuple[M20.ServiceParameterSet, ...]:
        bpt = service_id in (M20.SERVICE_AC_BPT, M20.SERVICE_DC_BPT)
        return tuple(
            M20.ServiceParameterSet(parameter_set_id=i, control_mode=cm, bpt_channel=1 if bpt else None,
                                    generator_mode=1 if bpt else None)
            for i, cm in ((1, ControlMode.SCHEDULED), (2, ControlMode.DYNAMIC))
        )

    async def on_service_detail(self, req):
        if req.service_id not in {service_of(m) for m in self.offer.energy_transfer_modes}:
            return self.fail(req, ResponseCode.FAILED_SERVICE_ID_INVALID, StopCause.OTHER,
                             f"ServiceDetailReq for unknown ServiceID {req.service_id}")
        return M20.ServiceDetailRes(session_id=self.session_id, service_id=req.service_id,
                                    parameter_sets=self.parameter_sets(req.service_id))

    async def on_service_selection(self, req):
        modes = [m for m in self.offer.energy_transfer_modes if service_of(m) == req.selected_service_id]
        sets = {p.parameter_set_id: p for p in self.parameter_sets(req.selected_service_id)}
        if not modes or req.selected_parameter_set_id not in sets:
            return self.fail(req, ResponseCode.FAILED_SERVICE_SELECTION_INVALID, StopCause.OTHER,
                             f"service {req.selected_service_id}/{req.selected_parameter_set_id} not offered")
        self.mode, self.is_dc = modes[0], modes[0].is_dc
        self.control_mode = sets[req.selected_parameter_set_id].control_mode
        self.allowed = {M20.DCChargeParameterDiscoveryReq if self.is_dc else M20.ACChargeParameterDiscoveryReq}
        return M20.ServiceSelectionRes(session_id=self.session_id)

    # --- parameters and schedules ----------------------------------------------------------

    def bpt_of(self, b: M20.EVBPTDischargeLimits | None) -> tuple[BPTEVParameter | None, ScaleNeeds | None]:
        if b is None or not self.mode.is_bidirectional:
            return None, None
        bpt = BPTEVParameter(ev_max_discharge_power_W=b.ev_max_discharge_power_W,
                             ev_min_discharge_power_W=b.ev_min_discharge_power_W,
                             ev_max_discharge_current_A=b.ev_max_discharge_current_A or 0.0,
                             ev_min_discharge_current_A=b.ev_min_discharge_current_A or 0.0)
        scale = None
        if b.remaining_v2g_energy_Wh is not None or b.round_trip_efficiency_pct is not None:
            scale = ScaleNeeds(remaining_v2g_energy_Wh=b.remaining_v2g_energy_Wh,
                               round_trip_efficiency_pct=b.round_trip_efficiency_pct)
        return bpt, scale

    async def parameters(self, req, event: ChargeParameterRequest):
        self.cpd_event = event
        ans = await self.ask("cpd", event, self.t.secc_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "ChargeParameterDiscovery", self.t.secc_perf_s), None
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.OTHER, "charge parameters refused"), None
        self.cpd_answer = ans
        if ans.processing is EVSEProcessing.FINISHED and ans.schedules is not None:
            self.schedules = ans.schedules
        self.allowed = {M20.ScheduleExchangeReq}
        return None, ans

    async def on_dc_cpd(self, req):
        bpt, scale = self.bpt_of(req.bpt)
        dc = DCEVChargeParameter(status=DCEVStatus(soc_pct=self.soc_pct), ev_max_current_A=req.ev_max_charge_current_A,
                                 ev_max_voltage_V=req.ev_max_voltage_V, ev_max_power_W=req.ev_max_charge_power_W,
                                 full_soc_pct=req.target_soc_pct, scale=scale)
        failed, ans = await self.parameters(req, ChargeParameterRequest(
            mode=self.mode, dc=dc, bpt=bpt, control_mode=self.control_mode))
        if failed is not None:
            return failed
        p = ans.dc
        if p is None:
            return self.fail(req, ResponseCode.FAILED, StopCause.OTHER, "EVSE application gave no DC limits")
        evse_bpt = None
        if bpt is not None and p.max_discharge_power_W is not None:
            evse_bpt = M20.EVSEBPTDischargeLimits(evse_max_discharge_power_W=p.max_discharge_power_W,
                                                  evse_max_discharge_current_A=p.max_discharge_current_A)
        return M20.DCChargeParameterDiscoveryRes(
            session_id=self.session_id, evse_max_charge_power_W=p.max_power_W, evse_max_charge_current_A=p.max_current_A,
            evse_min_charge_current_A=p.min_current_A, evse_max_voltage_V=p.max_voltage_V,
            evse_min_voltage_V=p.min_voltage_V, bpt=evse_bpt)

    async def on_ac_cpd(self, req):
        bpt, scale = self.bpt_of(req.bpt)
        scale = ScaleNeeds(ev_max_power_W=req.ev_max_charge_power_W,
                           remaining_v2g_energy_Wh=scale.remaining_v2g_energy_Wh if scale else None,
                           round_trip_efficiency_pct=scale.round_trip_efficiency_pct if scale else None)
        phases, volts = self.mode.phases, self.nominal_voltage_V()
        self.ev_min_power_W = req.ev_min_charge_power_W
        ac = ACEVChargeParameter(e_amount_Wh=0.0, ev_max_voltage_V=volts,
                                 ev_max_current_A=req.ev_max_charge_power_W / (volts * phases),
                                 ev_min_current_A=req.ev_min_charge_power_W / (volts * phases), scale=scale)
        failed, ans = await self.parameters(req, ChargeParameterRequest(
            mode=self.mode, ac=ac, bpt=bpt, control_mode=self.control_mode))
        if failed is not None:
            return failed
        p = ans.ac
        if p is None:
            return self.fail(req, ResponseCode.FAILED, StopCause.OTHER, "EVSE application gave no AC limits")
        max_power = p.max_power_W if p.max_power_W is not None else p.nominal_voltage_V * p.max_current_A * phases
        return M20.ACChargeParameterDiscoveryRes(session_id=self.session_id, evse_max_charge_power_W=max_power,
                                                 evse_present_active_power_W=p.present_active_power_W)

    def schedule_request(self, req: M20.ScheduleExchangeReq) -> ChargeParameterRequest:
        """The complete EV needs at ScheduleExchange (7.4): the parameter-discovery values plus
        DepartureTime and the energy requests; in Dynamic mode also MinimumSOC, TargetSOC and the
        V2X energy requests (BPT). AC currents are re-derived with the EVSE's nominal voltage."""
        base = self.cpd_event
        dynamic = self.control_mode is ControlMode.DYNAMIC
        scale = {"ev_max_energy_request_Wh": req.ev_max_energy_request_Wh,
                 "ev_min_energy_request_Wh": req.ev_min_energy_request_Wh}
        if dynamic:
            scale.update(ev_min_soc_pct=req.minimum_soc_pct, ev_target_soc_pct=req.target_soc_pct)
        dc = base.dc
        if dc is not None:
            dc = attrs.evolve(dc, ev_energy_request_Wh=req.ev_target_energy_request_Wh,
                              departure_time_s=req.departure_time_s, scale=_merge_scale(dc.scale, scale))
        ac = base.ac
        if ac is not None:
            volts = self.nominal_voltage_V()
            watts_per_A = volts * self.mode.phases
            sc = ac.scale
            ac = attrs.evolve(ac, e_amount_Wh=req.ev_target_energy_request_Wh or 0.0, departure_time_s=req.departure_time_s,
                              ev_max_voltage_V=volts, scale=_merge_scale(sc, scale),
                              ev_max_current_A=(sc.ev_max_power_W / watts_per_A) if sc and sc.ev_max_power_W is not None
                              else ac.ev_max_current_A,
                              ev_min_current_A=self.ev_min_power_W / watts_per_A)
        bpt = base.bpt
        if bpt is not None and dynamic:
            bpt = attrs.evolve(bpt, ev_max_v2x_energy_request_Wh=req.ev_max_v2x_energy_request_Wh,
                               ev_min_v2x_energy_request_Wh=req.ev_min_v2x_energy_request_Wh)
        return ChargeParameterRequest(mode=base.mode, ac=ac, dc=dc, bpt=bpt, control_mode=self.control_mode,
                                      max_entries=req.maximum_supporting_points, renegotiation=self.renegotiating)

    def nominal_voltage_V(self) -> float:
        """The EVSE's nominal voltage once its application told it, else the link option."""
        ac = self.cpd_answer.ac if self.cpd_answer is not None else None
        return ac.nominal_voltage_V if ac is not None and ac.nominal_voltage_V > 0 else self.link.options.ac_nominal_voltage_V

    async def on_schedule_exchange(self, req):
        """Always asks the EVSE application with the complete needs (also after a renegotiation);
        Ongoing until it answers Finished, within the Ongoing performance time."""
        dynamic = self.control_mode is ControlMode.DYNAMIC
        try:
            event = self.schedule_request(req)
        except ValueError as exc:  # e.g. a negative energy request or minimum above maximum
            return self.fail(req, ResponseCode.FAILED_WRONG_CHARGE_PARAMETER, StopCause.OTHER,
                             f"ScheduleExchangeReq: {exc}")
        ans = await self.ask("cpd", event, self.t.secc_perf_s)
        if ans is not TIMED_OUT and ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.OTHER, "schedule exchange refused")
        if ans is TIMED_OUT or ans.processing is not EVSEProcessing.FINISHED:
            if self.ongoing_expired("cpd", self.t.secc_ongoing_perf_s):
                return self.fail(req, ResponseCode.FAILED, StopCause.OTHER, "no schedule in time")
            return M20.ScheduleExchangeRes(session_id=self.session_id, evse_processing=M20.Processing.ONGOING)
        self.loop_start.pop("cpd", None)
        if ans.ac is not None or ans.dc is not None:
            self.cpd_answer = ans
        self.schedules = ans.schedules
        if self.schedules is None and not dynamic:
            p = self.cpd_answer.dc or self.cpd_answer.ac
            self.schedules = default_schedules(getattr(p, "max_power_W", None) or 0.0)
        self.allowed = ({M20.PowerDeliveryReq} if self.renegotiating or not self.is_dc else {M20.DCCableCheckReq})
        return M20.ScheduleExchangeRes(session_id=self.session_id, evse_processing=M20.Processing.FINISHED,
                                       schedule_tuples=None if dynamic else self.schedules)

    # --- DC preparation, power delivery, loops ---------------------------------------------

    async def on_cable_check(self, req):
        failed, ans, done = await self.cable_check(req, DCEVStatus(soc_pct=self.soc_pct))
        if failed is not None:
            return failed
        return M20.DCCableCheckRes(session_id=self.session_id,
                                   evse_processing=M20.Processing.FINISHED if done else M20.Processing.ONGOING)

    async def on_precharge(self, req):
        event = PreChargeRequest(ev_status=DCEVStatus(soc_pct=self.soc_pct), target_voltage_V=req.ev_target_voltage_V,
                                 target_current_A=2.0)
        ans = await self.ask("precharge", event, self.t.secc_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "PreCharge", self.t.secc_perf_s)
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.PRECHARGE_FAILED, "precharge failed")
        self.allowed = {M20.DCPreChargeReq, M20.PowerDeliveryReq}
        return M20.DCPreChargeRes(session_id=self.session_id, evse_present_voltage_V=ans.present_voltage_V)

    def check_power_delivery(self, req, progress):
        if progress is ChargeProgress.START and self.control_mode is ControlMode.DYNAMIC:
            return None
        return super().check_power_delivery(req, progress)

    async def on_power_delivery(self, req):
        shim = SimpleNamespace(RES=req.RES, session_id=req.session_id, sa_schedule_tuple_id=req.selected_schedule_tuple_id,
                               charging_profile=req.power_profile)
        failed, ans = await self.power_delivery(shim, req.charge_progress, req.selected_schedule_tuple_id,
                                                req.power_profile, None, req.bpt_channel_selection == "Discharge")
        if failed is not None:
            return M20.PowerDeliveryRes(session_id=self.session_id, response_code=failed.response_code)
        p = req.charge_progress
        if p is ChargeProgress.START:
            self.allowed = {M20.DCChargeLoopReq} if self.is_dc else {M20.ACChargeLoopReq}
        elif p is ChargeProgress.RENEGOTIATE:
            self.allowed = {M20.ScheduleExchangeReq}
        else:
            self.allowed = {M20.DCWeldingDetectionReq, M20.SessionStopReq} if self.is_dc else {M20.SessionStopReq}
        return M20.PowerDeliveryRes(session_id=self.session_id, evse_status=self.evse_status())

    def loop_note(self, ans) -> M20.EVSEStatus:
        note, delay = self.notification()
        if note is EVSENotification.NONE and ans.notification is not EVSENotification.NONE:
            note, delay = ans.notification, ans.notification_max_delay_s
        return M20.EVSEStatus(notification=NOTE.get(note, M20.Notification.NONE), notification_max_delay_s=delay)

    async def on_dc_loop(self, req):
        if req.display and req.display.present_soc_pct is not None:
            self.soc_pct = req.display.present_soc_pct
        dynamic = self.control_mode is ControlMode.DYNAMIC
        target = req.ev_max_charge_current_A if dynamic else req.ev_target_current_A
        if (target or 0.0) < 0 and not self.mode.is_bidirectional:
            target = 0.0
        event = DCChargeLoopRequest(
            ev_status=DCEVStatus(soc_pct=self.soc_pct), target_voltage_V=req.ev_target_voltage_V or req.ev_max_voltage_V
            or req.ev_present_voltage_V, target_current_A=target or 0.0, ev_max_voltage_V=req.ev_max_voltage_V,
            ev_max_current_A=req.ev_max_charge_current_A, ev_max_power_W=req.ev_max_charge_power_W,
            charging_complete=bool(req.display and req.display.charging_complete))
        ans = await self.ask_loop(event, self.t.secc_dc_loop_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "DC_ChargeLoop", self.t.secc_dc_loop_perf_s)
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.EVSE_STOP, "DC_ChargeLoop refused")
        self.allowed = {M20.DCChargeLoopReq, M20.PowerDeliveryReq}
        lim = self.cpd_answer.dc if self.cpd_answer else None
        meter = M20.MeterInfo(meter_id=self.offer.evse_id, charged_energy_reading_Wh=ans.meter_Wh) \
            if ans.meter_Wh is not None else None
        return M20.DCChargeLoopRes(
            session_id=self.session_id, evse_status=self.loop_note(ans), meter_info=meter,
            evse_present_current_A=ans.present_current_A, evse_present_voltage_V=ans.present_voltage_V,
            evse_power_limit_achieved=ans.power_limit_achieved, evse_current_limit_achieved=ans.current_limit_achieved,
            evse_voltage_limit_achieved=ans.voltage_limit_achieved,
            evse_max_charge_power_W=ans.evse_max_power_W or (lim.max_power_W if dynamic and lim else None),
            evse_max_charge_current_A=ans.evse_max_current_A or (lim.max_current_A if dynamic and lim else None),
            evse_max_voltage_V=ans.evse_max_voltage_V or (lim.max_voltage_V if dynamic and lim else None),
            evse_max_discharge_power_W=lim.max_discharge_power_W if lim and self.mode.is_bidirectional else None,
            evse_max_discharge_current_A=lim.max_discharge_current_A if lim and self.mode.is_bidirectional else None)

    async def on_ac_loop(self, req):
        soc = req.display.present_soc_pct if req.display else None
        ans = await self.ask_loop(ACChargeLoopRequest(ev_present_active_power_W=req.ev_present_active_power_W,
                                                  soc_pct=soc), self.t.secc_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "AC_ChargeLoop", self.t.secc_perf_s)
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.EVSE_STOP, "AC_ChargeLoop refused")
        self.allowed = {M20.ACChargeLoopReq, M20.PowerDeliveryReq}
        target = ans.evse_target_active_power_W
        if target is None and self.control_mode is ControlMode.DYNAMIC:  # mandatory in Dynamic (7.6)
            ac = self.cpd_answer.ac if self.cpd_answer else None
            target = (ans.evse_max_current_A or (ac.max_current_A if ac else 0.0)) * self.nominal_voltage_V() * self.mode.phases
        meter = M20.MeterInfo(meter_id=self.offer.evse_id, charged_energy_reading_Wh=ans.meter_Wh) \
            if ans.meter_Wh is not None else None
        return M20.ACChargeLoopRes(session_id=self.session_id, evse_status=self.loop_note(ans), meter_info=meter,
                                   evse_target_active_power_W=target,
                                   evse_present_active_power_W=ans.evse_present_active_power_W)

    async def on_welding(self, req):
        ans = await self.ask("welding", WeldingDetectionRequest(ev_status=DCEVStatus(soc_pct=self.soc_pct)),
                             self.t.secc_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "WeldingDetection", self.t.secc_perf_s)
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.WELDING_DETECTED, "welding detection failed")
        self.allowed = {M20.DCWeldingDetectionReq, M20.SessionStopReq}
        return M20.DCWeldingDetectionRes(session_id=self.session_id, evse_present_voltage_V=ans.present_voltage_V)


def _merge_scale(scale: ScaleNeeds | None, values: dict) -> ScaleNeeds | None:
    """`scale` with the given -20 values set (None values leave the field as it was)."""
    values = {k: v for k, v in values.items() if v is not None}
    if not values:
        return scale
    return attrs.evolve(scale, **values) if scale is not None else ScaleNeeds(**values)
