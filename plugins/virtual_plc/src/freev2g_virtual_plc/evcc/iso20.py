"""EVCC for ISO 15118-20: DC, DC_BPT, AC; Scheduled and Dynamic (charging-domain.md 7)."""
from __future__ import annotations

from typing import Any

from freev2g.link import (
    ACChargeLoopAnswer,
    CableCheckStatus,
    DCChargeLoopAnswer,
    EvLoopTargets,
    EvSessionStarted,
    EvseParametersReceived,
    PreChargeTargets,
    ScheduleSelection,
)
from freev2g.model.enums import (
    ChargeProgress,
    ChargingSession,
    ControlMode,
    EnergyTransferMode as ETM,
    EVSENotification,
    EVSEProcessing,
    IsolationLevel,
    PaymentOption,
    Protocol,
)
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter, EVSEOffer

from ..messages import iso20 as M20
from .client import EvccSession, StopSession

NOTE = {M20.Notification.TERMINATE: EVSENotification.STOP_CHARGING,
        M20.Notification.SCHEDULE_RENEGOTIATION: EVSENotification.RENEGOTIATION}
MODES_OF_SERVICE = {M20.SERVICE_AC: (ETM.AC_THREE_PHASE_CORE,), M20.SERVICE_DC: (ETM.DC_EXTENDED,),
                    M20.SERVICE_AC_BPT: (ETM.AC_BPT,), M20.SERVICE_DC_BPT: (ETM.DC_BPT,)}


def _service_of(mode: ETM) -> int:
    return {ETM.AC_BPT: M20.SERVICE_AC_BPT, ETM.DC_BPT: M20.SERVICE_DC_BPT}.get(
        mode, M20.SERVICE_DC if mode.is_dc else M20.SERVICE_AC)


class Iso20Client(EvccSession):
    protocol = Protocol.ISO15118_20
    M = M20

    async def discover_and_pay(self) -> None:
        setup = await self.call(M20.AuthorizationSetupReq(session_id=self.session_id), self.t.ev_msg_s)
        if self.request.payment not in setup.authorization_services:
            raise StopSession(f"EVSE does not offer {self.request.payment.value}")
        self.challenge = setup.gen_challenge
        self.auth_services = setup.authorization_services

    async def authorize(self) -> None:
        pnc = self.request.payment is PaymentOption.CONTRACT
        started = self.clock.monotonic()
        while True:
            req = M20.AuthorizationReq(session_id=self.session_id, selected_authorization_service=self.request.payment,
                                       emaid=self.link.emaid if pnc else None,
                                       contract_certificate_chain=self.link.contract_cert_chain if pnc else (),
                                       gen_challenge=self.challenge if pnc else None)
            res = await self.call(req, self.t.ev_msg_s)
            if res.evse_processing is M20.Processing.FINISHED:
                break
            self.ongoing(started, "Authorization")
            await self.pace()
        service = _service_of(self.request.mode)
        sd = await self.call(M20.ServiceDiscoveryReq(session_id=self.session_id), self.t.ev_msg_s)
        ids = [s.service_id for s in sd.energy_transfer_services]
        modes = tuple(m for i in ids for m in MODES_OF_SERVICE.get(i, ()))
        offer = EVSEOffer(evse_id=self.evse_id, energy_transfer_modes=modes or (self.request.mode,),
                          payment_options=self.auth_services,
                          free_service=any(s.free_service for s in sd.energy_transfer_services))
        await self.app(EvSessionStarted(protocol=self.protocol, iso_session_id=self.session_id, evse_id=self.evse_id,
                                        offer=offer))
        if service not in ids:
            raise StopSession(f"EVSE does not offer service {service} ({self.request.mode.value})")
        detail = await self.call(M20.ServiceDetailReq(session_id=self.session_id, service_id=service), self.t.ev_msg_long_s)
        wanted = self.request.control_mode
        pset = next((p for p in detail.parameter_sets if p.control_mode is wanted), None)
        if pset is None:
            raise StopSession(f"EVSE offers no {wanted.value} parameter set")
        await self.call(M20.ServiceSelectionReq(session_id=self.session_id, selected_service_id=service,
                                                selected_parameter_set_id=pset.parameter_set_id), self.t.ev_msg_s)

    def bpt(self, r) -> M20.EVBPTDischargeLimits | None:
        if r.bpt is None or not r.mode.is_bidirectional:
            return None
        scale = (r.dc.scale if r.dc else None) or (r.ac.scale if r.ac else None)
        return M20.EVBPTDischargeLimits(
            ev_max_discharge_power_W=r.bpt.ev_max_discharge_power_W, ev_min_discharge_power_W=r.bpt.ev_min_discharge_power_W,
            ev_max_discharge_current_A=r.bpt.ev_max_discharge_current_A if r.mode.is_dc else None,
            ev_min_discharge_current_A=r.bpt.ev_min_discharge_current_A if r.mode.is_dc else None,
            remaining_v2g_energy_Wh=scale.remaining_v2g_energy_Wh if scale else None,
            round_trip_efficiency_pct=scale.round_trip_efficiency_pct if scale else None)

    async def charge_parameters(self, renegotiation: bool) -> None:
        r = await self.needs()
        dc_res = ac_res = None
        if not renegotiation:
            if r.mode.is_dc:
                d = r.dc
                self.ev_status = d.status
                dc_res = await self.call(M20.DCChargeParameterDiscoveryReq(
                    session_id=self.session_id, ev_max_charge_power_W=d.ev_max_power_W or d.ev_max_current_A * d.ev_max_voltage_V,
                    ev_max_charge_current_A=d.ev_max_current_A, ev_max_voltage_V=d.ev_max_voltage_V,
                    target_soc_pct=d.full_soc_pct, bpt=self.bpt(r)), self.t.ev_msg_s)
                self.limits = DCEVSEChargeParameter(
                    max_current_A=dc_res.evse_max_charge_current_A, max_voltage_V=dc_res.evse_max_voltage_V,
                    max_power_W=dc_res.evse_max_charge_power_W, min_current_A=dc_res.evse_min_charge_current_A,
                    min_voltage_V=dc_res.evse_min_voltage_V,
                    max_discharge_power_W=dc_res.bpt.evse_max_discharge_power_W if dc_res.bpt else None,
                    max_discharge_current_A=dc_res.bpt.evse_max_discharge_current_A if dc_res.bpt else None)
            else:
                a = r.ac
                volts = self.link.options.ac_nominal_voltage_V  # -20 AC carries powers, not voltages
                max_power = (a.scale.ev_max_power_W if a.scale and a.scale.ev_max_power_W is not None
                             else a.ev_max_current_A * volts * r.mode.phases)
                ac_res = await self.call(M20.ACChargeParameterDiscoveryReq(
                    session_id=self.session_id, ev_max_charge_power_W=max_power,
                    ev_min_charge_power_W=a.ev_min_current_A * volts * r.mode.phases, bpt=self.bpt(r)), self.t.ev_msg_s)
                self.limits = ACEVSEChargeParameter(nominal_voltage_V=volts,
                                                    max_current_A=ac_res.evse_max_charge_power_W / (volts * r.mode.phases),
                                                    max_power_W=ac_res.evse_max_charge_power_W,
                                                    present_active_power_W=ac_res.evse_present_active_power_W)
        started = self.clock.monotonic()
        while True:
            res = await self.call(self.schedule_exchange_req(r), self.t.ev_msg_s)
            if res.evse_processing is M20.Processing.FINISHED:
                break
            self.ongoing(started, "ScheduleExchange")
            await self.pace()
        dc_lim = self.limits if isinstance(self.limits, DCEVSEChargeParameter) else None
        ac_lim = self.limits if isinstance(self.limits, ACEVSEChargeParameter) else None
        sel = await self.app(EvseParametersReceived(ac=ac_lim, dc=dc_lim, schedules=res.schedule_tuples,
                                                    renegotiation=renegotiation))
        if not isinstance(sel, ScheduleSelection):
            sel = ScheduleSelection(tuple_id=res.schedule_tuples.tuples[0].tuple_id if res.schedule_tuples else 1)
        self.selection = sel

    def schedule_exchange_req(self, r) -> M20.ScheduleExchangeReq:
        """ScheduleExchangeReq with the EV's needs (charging-domain.md 7.4).

        Scheduled_SEReqControlMode: DepartureTime, EVTargetEnergyRequest, EVMaximum/Minimum
        EnergyRequest. Dynamic_SEReqControlMode adds MinimumSOC, TargetSOC and (BPT) EVMaximum/
        MinimumV2XEnergyRequest; those are left out in Scheduled mode.
        """
        p = r.dc if r.mode.is_dc else r.ac
        scale = p.scale if p else None
        target = r.dc.ev_energy_request_Wh if r.mode.is_dc and r.dc else (r.ac.e_amount_Wh if r.ac else None)
        fields: dict[str, Any] = {}
        if r.control_mode is ControlMode.DYNAMIC:
            target_soc = scale.ev_target_soc_pct if scale and scale.ev_target_soc_pct is not None else None
            if target_soc is None and r.mode.is_dc and r.dc is not None:
                target_soc = r.dc.full_soc_pct
            bpt = r.bpt if r.mode.is_bidirectional else None
            fields = dict(minimum_soc_pct=scale.ev_min_soc_pct if scale else None, target_soc_pct=target_soc,
                          ev_max_v2x_energy_request_Wh=bpt.ev_max_v2x_energy_request_Wh if bpt else None,
                          ev_min_v2x_energy_request_Wh=bpt.ev_min_v2x_energy_request_Wh if bpt else None)
        return M20.ScheduleExchangeReq(
            session_id=self.session_id, maximum_supporting_points=min(max(r.max_entries or 1024, 12), 1024),
            control_mode=r.control_mode, departure_time_s=p.departure_time_s if p else None,
            ev_target_energy_request_Wh=target,
            ev_max_energy_request_Wh=scale.ev_max_energy_request_Wh if scale else None,
            ev_min_energy_request_Wh=scale.ev_min_energy_request_Wh if scale else None, **fields)

    async def cable_check(self) -> None:
        started = self.clock.monotonic()
        async with self._loop_timeout(self.t.ev_cable_check_s, "CableCheck", "V2G_EVCC_CableCheck_Timeout"):
            while True:
                res = await self.call(M20.DCCableCheckReq(session_id=self.session_id), self.t.ev_msg_s)
                done = res.evse_processing is M20.Processing.FINISHED
                await self.app(CableCheckStatus(processing=EVSEProcessing.FINISHED if done else EVSEProcessing.ONGOING,
                                                isolation=IsolationLevel.VALID if done else IsolationLevel.INVALID))
                if done:
                    return
                self.ongoing(started, "CableCheck")
                await self.pace()

    def precharge_req(self, targets: PreChargeTargets) -> Any:
        present = self.link.board.inlet_voltage_V() if self.link.board is not None else 0.0
        return M20.DCPreChargeReq(session_id=self.session_id, ev_present_voltage_V=present,
                                  ev_target_voltage_V=targets.target_voltage_V)

    async def power_delivery(self, progress: ChargeProgress) -> Any:
        sel = self.selection or ScheduleSelection(tuple_id=1)
        scheduled = self.request.control_mode is ControlMode.SCHEDULED
        discharge = self.request.mode.is_bidirectional and self._discharging
        req = M20.PowerDeliveryReq(
            session_id=self.session_id, charge_progress=progress,
            selected_schedule_tuple_id=sel.tuple_id if scheduled and progress is ChargeProgress.START else None,
            power_profile=sel.profile if progress is ChargeProgress.START else (),
            bpt_channel_selection=("Discharge" if discharge else "Charge") if self.request.mode.is_bidirectional else None)
        return await self.call(req, self.t.ev_power_delivery(self.protocol))

    _discharging = False

    async def loop_step(self, tg: EvLoopTargets):
        dynamic = self.request.control_mode is ControlMode.DYNAMIC
        soc = tg.ev_status.soc_pct
        display = M20.DisplayParameters(present_soc_pct=soc, charging_complete=tg.charging_complete)
        if not self.is_dc:
            res = await self.call(M20.ACChargeLoopReq(
                session_id=self.session_id, control_mode=self.request.control_mode, display=display,
                ev_present_active_power_W=tg.ev_present_active_power_W or 0.0,
                ev_max_charge_power_W=tg.ev_max_power_W), self.t.ev_ac_loop(self.protocol))
            st = res.evse_status or M20.EVSEStatus()
            return None, ACChargeLoopAnswer(
                evse_target_active_power_W=res.evse_target_active_power_W,
                evse_present_active_power_W=res.evse_present_active_power_W,
                notification=NOTE.get(st.notification, EVSENotification.NONE),
                notification_max_delay_s=st.notification_max_delay_s,
                meter_Wh=res.meter_info.charged_energy_reading_Wh if res.meter_info else None)
        target = tg.target_current_A
        if target < 0 and not self.request.mode.is_bidirectional:
            target = 0.0
        bpt = self.request.bpt if self.request.mode.is_bidirectional else None
        present = self.link.board.inlet_voltage_V() if self.link.board is not None else tg.target_voltage_V
        res = await self.call(M20.DCChargeLoopReq(
            session_id=self.session_id, control_mode=self.request.control_mode, display=display,
            ev_present_voltage_V=present,
            ev_target_current_A=None if dynamic else target, ev_target_voltage_V=None if dynamic else tg.target_voltage_V,
            ev_max_charge_power_W=tg.ev_max_power_W, ev_max_charge_current_A=tg.ev_max_current_A,
            ev_max_voltage_V=tg.ev_max_voltage_V,
            ev_max_discharge_power_W=bpt.ev_max_discharge_power_W if bpt else None,
            ev_max_discharge_current_A=bpt.ev_max_discharge_current_A if bpt else None), self.t.ev_dc_loop(self.protocol))
        st = res.evse_status or M20.EVSEStatus()
        return DCChargeLoopAnswer(
            present_voltage_V=res.evse_present_voltage_V, present_current_A=res.evse_present_current_A,
            evse_max_current_A=res.evse_max_charge_current_A, evse_max_voltage_V=res.evse_max_voltage_V,
            evse_max_power_W=res.evse_max_charge_power_W, current_limit_achieved=res.evse_current_limit_achieved,
            voltage_limit_achieved=res.evse_voltage_limit_achieved, power_limit_achieved=res.evse_power_limit_achieved,
            notification=NOTE.get(st.notification, EVSENotification.NONE),
            notification_max_delay_s=st.notification_max_delay_s,
            meter_Wh=res.meter_info.charged_energy_reading_Wh if res.meter_info else None), None

    async def welding(self) -> None:
        started = self.clock.monotonic()
        while True:
            res = await self.call(M20.DCWeldingDetectionReq(session_id=self.session_id), self.t.ev_msg_s)
            from freev2g.link import WeldingDetectionStatus

            if await self.app(WeldingDetectionStatus(present_voltage_V=res.evse_present_voltage_V)):
                return
            self.ongoing(started, "WeldingDetection")
            await self.pace()

    async def session_stop(self, pause: bool) -> None:
        await self.call(M20.SessionStopReq(session_id=self.session_id,
                                           charging_session=ChargingSession.PAUSE if pause else ChargingSession.TERMINATE),
                        self.t.ev_msg_s)
