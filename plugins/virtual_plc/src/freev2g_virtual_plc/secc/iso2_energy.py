"""SECC energy-transfer steps of ISO 15118-2 and DIN 70121 (charging-domain.md 3.1 steps 10-17,
5.1, 5.4, 6.1, 6.2): CableCheck, PreCharge, PowerDelivery, the charge loops, MeteringReceipt,
WeldingDetection and SessionStop. Mixed into Iso2Server (iso2.py), which holds the session state.
"""
from __future__ import annotations

from typing import Any

from freev2g.link import (
    ACChargeLoopRequest,
    CableCheckRequest,
    DCChargeLoopRequest,
    PowerDeliveryRequest,
    PreChargeRequest,
    SessionStopRequest,
    WeldingDetectionRequest,
)
from freev2g.model.enums import (
    ChargeProgress,
    ChargingSession,
    EVSENotification,
    EVSEProcessing,
    IsolationLevel,
    PaymentOption,
    Protocol,
    ResponseCode,
    StopCause,
)

from ..messages import iso2
from .session import TIMED_OUT


class EnergyTransferSteps:
    """Request handlers from CableCheck to SessionStop; `self` is an Iso2Server."""

    # --- DC preparation (5.1, 5.4) ------------------------------------------------------------

    async def cable_check(self, req, ev_status):
        """CableCheck loop (5.1): (failed response | None, answer | TIMED_OUT, finished)."""
        ans = await self.ask("cable_check", CableCheckRequest(ev_status=ev_status), self.t.secc_perf_s)
        if ans is not TIMED_OUT and (ans.response_code.is_failure or ans.isolation is IsolationLevel.FAULT):
            return self.fail(req, ResponseCode.FAILED, StopCause.CABLE_CHECK_FAILED,
                             f"cable check failed (isolation {ans.isolation.value})"), ans, False
        if ans is TIMED_OUT or ans.processing is not EVSEProcessing.FINISHED:
            if self.ongoing_expired("cable_check", self.t.secc_cable_check_perf_s):
                return self.fail(req, ResponseCode.FAILED, StopCause.CABLE_CHECK_FAILED,
                                 f"cable check not finished within {self.t.secc_cable_check_perf_s:g} s"), ans, False
            return None, ans, False
        self.allowed = {self.M.PreChargeReq if self.protocol is not Protocol.ISO15118_20 else self.M.DCPreChargeReq}
        return None, ans, True

    async def on_cable_check(self, req):
        failed, ans, done = await self.cable_check(req, req.dc_ev_status)
        if failed is not None:
            return failed
        status = self.dc_status(None if ans is TIMED_OUT else ans.status_code,
                                None if ans is TIMED_OUT else ans.isolation)
        return self.M.CableCheckRes(session_id=self.session_id, dc_evse_status=status,
                                    evse_processing=EVSEProcessing.FINISHED if done else EVSEProcessing.ONGOING)

    async def on_precharge(self, req):
        event = PreChargeRequest(ev_status=req.dc_ev_status, target_voltage_V=req.ev_target_voltage_V,
                                 target_current_A=req.ev_target_current_A)
        ans = await self.ask("precharge", event, self.t.secc_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "PreCharge", self.t.secc_perf_s)
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.PRECHARGE_FAILED, "precharge failed")
        self.allowed = {self.M.PreChargeReq, self.M.PowerDeliveryReq}
        return self.M.PreChargeRes(session_id=self.session_id, dc_evse_status=self.dc_status(ans.status_code),
                                   evse_present_voltage_V=ans.present_voltage_V)

    # --- PowerDelivery (3.1 steps 12/14, 6.1 selection rules, 6.2 renegotiation) -------------

    def check_power_delivery(self, req, progress: ChargeProgress) -> Any:
        if progress is ChargeProgress.START:
            selected = self.schedules.get(req.sa_schedule_tuple_id) if self.schedules else None
            if selected is None:
                return self.fail(req, ResponseCode.FAILED_TARIFF_SELECTION_INVALID, StopCause.OTHER,
                                 f"SAScheduleTupleID {req.sa_schedule_tuple_id} was not offered")
            for entry in req.charging_profile:
                if entry.max_power_W > selected.pmax_at(entry.start_s) + 1e-6:
                    return self.fail(req, ResponseCode.FAILED_CHARGING_PROFILE_INVALID, StopCause.OTHER,
                                     f"ChargingProfile entry at {entry.start_s} s exceeds PMax")
            self.tuple_id = req.sa_schedule_tuple_id
        if progress is ChargeProgress.RENEGOTIATE and not self.power_started:
            return self.fail(req, ResponseCode.FAILED_SEQUENCE_ERROR, StopCause.SEQUENCE_ERROR,
                             "Renegotiate before PowerDelivery(Start)")
        return None

    async def power_delivery(self, req, progress: ChargeProgress, tuple_id, profile, ev_status, discharge=False):
        failed = self.check_power_delivery(req, progress)
        if failed is not None:
            return failed, None
        event = PowerDeliveryRequest(progress=progress, tuple_id=tuple_id, profile=profile,
                                     ev_status=ev_status, bpt_discharge=discharge)
        ans = await self.ask("power_delivery", event, self.t.secc_perf_long_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "PowerDelivery", self.t.secc_perf_long_s), None
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.EVSE_STOP, "PowerDelivery refused"), None
        if progress is ChargeProgress.START:
            self.power_started, self.renegotiating = True, False
            self.link.clear_notification(EVSENotification.RENEGOTIATION)
        elif progress is ChargeProgress.RENEGOTIATE:
            self.renegotiating = True
            self.link.clear_notification(EVSENotification.RENEGOTIATION)
        else:
            self.power_started = False
            self.link.clear_notification(None)
        return None, ans

    async def on_power_delivery(self, req):
        failed, ans = await self.power_delivery(req, req.charge_progress, req.sa_schedule_tuple_id,
                                                req.charging_profile, req.dc_ev_status)
        if failed is not None:
            return failed
        M = self.M
        if req.charge_progress is ChargeProgress.START:
            self.allowed = {M.CurrentDemandReq} if self.is_dc else {M.ChargingStatusReq}
        elif req.charge_progress is ChargeProgress.RENEGOTIATE:
            self.allowed = {M.ChargeParameterDiscoveryReq}
        else:
            self.allowed = ({M.WeldingDetectionReq, M.SessionStopReq, M.ChargeParameterDiscoveryReq}
                            if self.is_dc else {M.SessionStopReq, M.ChargeParameterDiscoveryReq})
        if self.is_dc:
            return iso2.PowerDeliveryRes(session_id=self.session_id, dc_evse_status=self.dc_status(ans.status_code))
        return iso2.PowerDeliveryRes(session_id=self.session_id, ac_evse_status=self.ac_status())

    # --- charge loops -------------------------------------------------------------------------

    async def dc_loop(self, req):
        target = req.ev_target_current_A
        if target < 0 and not self.j2847_mode:
            target = 0.0  # no discharge without an agreed SAE J2847/2 service (section 8)
        event = DCChargeLoopRequest(
            ev_status=req.dc_ev_status, target_voltage_V=req.ev_target_voltage_V, target_current_A=target,
            ev_max_voltage_V=req.ev_maximum_voltage_limit_V, ev_max_current_A=req.ev_maximum_current_limit_A,
            ev_max_power_W=req.ev_maximum_power_limit_W, bulk_charging_complete=bool(req.bulk_charging_complete),
            charging_complete=req.charging_complete, remaining_time_to_full_soc_s=req.remaining_time_to_full_soc_s,
        )
        ans = await self.ask_loop(event, self.t.secc_dc_loop_perf_s)
        if ans is TIMED_OUT:
            return None, self.too_slow(req, "CurrentDemand", self.t.secc_dc_loop_perf_s)
        if ans.response_code.is_failure:
            return None, self.fail(req, ans.response_code, StopCause.EVSE_STOP, "CurrentDemand refused")
        note, delay = self.notification()
        if note is EVSENotification.NONE and ans.notification is not EVSENotification.NONE:
            note, delay = ans.notification, ans.notification_max_delay_s
        self.allowed = {self.M.CurrentDemandReq, self.M.PowerDeliveryReq}
        fields = dict(
            session_id=self.session_id,
            dc_evse_status=iso2.DCEVSEStatus(notification=note, notification_max_delay_s=delay,
                                             status_code=ans.status_code),
            evse_present_voltage_V=ans.present_voltage_V, evse_present_current_A=ans.present_current_A,
            evse_current_limit_achieved=ans.current_limit_achieved,
            evse_voltage_limit_achieved=ans.voltage_limit_achieved,
            evse_power_limit_achieved=ans.power_limit_achieved,
            evse_maximum_voltage_limit_V=ans.evse_max_voltage_V, evse_maximum_current_limit_A=ans.evse_max_current_A,
            evse_maximum_power_limit_W=ans.evse_max_power_W,
        )
        return ans, fields

    def meter_info(self, ans) -> iso2.MeterInfo | None:
        if ans.meter_Wh is None:
            return None
        return iso2.MeterInfo(meter_id=self.offer.evse_id, meter_reading_Wh=int(ans.meter_Wh),
                              t_meter_s=int(self.clock.now().timestamp()))

    def ask_receipt(self, meter: iso2.MeterInfo | None, loop_req: type) -> bool:
        """ReceiptRequired (3.1 step 13, 3.2 step 11a): only with the link option
        `receipt_required`, Contract payment (PnC) and a meter reading to sign."""
        wanted = bool(self.link.options.receipt_required and self.payment is PaymentOption.CONTRACT
                      and meter is not None and self.protocol is Protocol.ISO15118_2)
        self.receipt_meter = meter if wanted else None
        self.allowed = {loop_req, self.M.PowerDeliveryReq, *((iso2.MeteringReceiptReq,) if wanted else ())}
        return wanted

    async def on_current_demand(self, req):
        ans, fields = await self.dc_loop(req)
        if ans is None:
            return fields
        meter = self.meter_info(ans)
        receipt = self.ask_receipt(meter, iso2.CurrentDemandReq)
        return iso2.CurrentDemandRes(**fields, evse_id=self.offer.evse_id, sa_schedule_tuple_id=self.tuple_id,
                                     meter_info=meter, receipt_required=receipt)

    async def on_charging_status(self, req):
        ans = await self.ask_loop(ACChargeLoopRequest(), self.t.secc_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "ChargingStatus", self.t.secc_perf_s)
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.EVSE_STOP, "ChargingStatus refused")
        note, delay = self.notification()
        if note is EVSENotification.NONE and ans.notification is not EVSENotification.NONE:
            note, delay = ans.notification, ans.notification_max_delay_s
        meter = self.meter_info(ans)
        receipt = self.ask_receipt(meter, iso2.ChargingStatusReq)
        return iso2.ChargingStatusRes(
            session_id=self.session_id, evse_id=self.offer.evse_id, sa_schedule_tuple_id=self.tuple_id,
            evse_max_current_A=ans.evse_max_current_A, meter_info=meter, receipt_required=receipt,
            ac_evse_status=iso2.ACEVSEStatus(notification=note, notification_max_delay_s=delay, rcd=ans.rcd_error),
        )

    async def on_metering_receipt(self, req):
        """MeteringReceiptReq: the EV returns the MeterInfo of the last loop response, signed.

        The SECC checks that the receipt is for that reading (MeterID, MeterReading, TMeter,
        SAScheduleTupleID) and carries a signature; verifying the signature itself needs the
        contract certificate chain, which this data model carries as opaque bytes."""
        sent, self.receipt_meter = self.receipt_meter, None
        m = req.meter_info
        if sent is None or (m.meter_id, m.meter_reading_Wh, m.t_meter_s) != (
                sent.meter_id, sent.meter_reading_Wh, sent.t_meter_s) or not req.signature or (
                req.sa_schedule_tuple_id is not None and req.sa_schedule_tuple_id != self.tuple_id):
            return self.fail(req, ResponseCode.FAILED_METERING_SIGNATURE_NOT_VALID, StopCause.OTHER,
                             f"MeteringReceipt does not match the MeterInfo sent (got {m.meter_reading_Wh} Wh)")
        loop = iso2.CurrentDemandReq if self.is_dc else iso2.ChargingStatusReq
        self.allowed = {loop, iso2.PowerDeliveryReq}
        if self.is_dc:
            return iso2.MeteringReceiptRes(session_id=self.session_id, dc_evse_status=self.dc_status())
        return iso2.MeteringReceiptRes(session_id=self.session_id, ac_evse_status=self.ac_status())

    async def on_welding(self, req):
        ans = await self.ask("welding", WeldingDetectionRequest(ev_status=req.dc_ev_status), self.t.secc_perf_s)
        if ans is TIMED_OUT:
            return self.too_slow(req, "WeldingDetection", self.t.secc_perf_s)
        if ans.response_code.is_failure:
            return self.fail(req, ans.response_code, StopCause.WELDING_DETECTED, "welding detection failed")
        self.allowed = {self.M.WeldingDetectionReq, self.M.SessionStopReq}
        return self.M.WeldingDetectionRes(session_id=self.session_id, dc_evse_status=self.dc_status(),
                                          evse_present_voltage_V=ans.present_voltage_V)

    async def on_session_stop(self, req):
        kind = getattr(req, "charging_session", ChargingSession.TERMINATE)
        self.stop_kind_pause = kind is ChargingSession.PAUSE
        await self.app(SessionStopRequest(kind=kind))
        self.allowed = set()
        return req.RES(session_id=self.session_id)
