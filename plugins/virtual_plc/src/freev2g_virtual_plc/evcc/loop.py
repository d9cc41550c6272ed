"""EVCC charge loop for DIN 70121 and ISO 15118-2 (charging-domain.md 3.1 steps 13-14, 3.2
step 11, 6.2): loop requests, stop / pause / renegotiation, and the PnC MeteringReceipt.
Mixed into EvccSession (client.py), which holds the session state; -20 overrides loop_step.
"""
from __future__ import annotations

import hashlib
from typing import Any

import attrs

from freev2g.link import ACChargeLoopAnswer, DCChargeLoopAnswer, EvChargeLoopStatus, EvLoopTargets, ScheduleSelection
from freev2g.model.enums import ChargeProgress, EVSENotification, EVSEStatusCode, PaymentOption, Protocol

from ..messages import iso2


class ChargeLoopSteps:
    """The charge loop; `self` is an EvccSession."""

    # --- loop ---------------------------------------------------------------------------------

    async def charge_loop(self) -> bool:
        """Charge loop until a stop; returns True for a pause. Renegotiates in place (6.2).

        After PowerDeliveryRes(Start) the SECC accepts only a loop request (3.1: CurrentDemand /
        ChargingStatus / -20 ChargeLoop; a PowerDelivery there is FAILED_SequenceError), so a stop
        or pause asked for before the first loop request is sent after one loop request (with
        target current 0 A), and the EV application may call stop_charging at any time.
        """
        last_dc: DCChargeLoopAnswer | None = None
        last_ac: ACChargeLoopAnswer | None = None
        while True:
            targets = await self.app(EvChargeLoopStatus(dc=last_dc, ac=last_ac))
            if not isinstance(targets, EvLoopTargets):
                targets = EvLoopTargets(stop=True)
            self.ev_status = targets.ev_status
            last = last_dc or last_ac
            note = last.notification if last else EVSENotification.NONE
            shutdown = last_dc is not None and last_dc.status_code in (
                EVSEStatusCode.SHUTDOWN, EVSEStatusCode.EMERGENCY_SHUTDOWN, EVSEStatusCode.MALFUNCTION)
            flags = self.link.take_requests()
            if note is EVSENotification.STOP_CHARGING or shutdown:
                self.stop_by_evse = True
                return False
            if targets.stop or targets.pause or flags["stop"] or flags["pause"]:
                pause = targets.pause or flags["pause"]
                if last_dc is None and last_ac is None:
                    await self.loop_step(attrs.evolve(targets, target_current_A=0.0))
                return pause
            renegotiate = targets.renegotiate or flags["renegotiate"] or note is EVSENotification.RENEGOTIATION
            if renegotiate and self.protocol is not Protocol.DIN70121:
                await self.renegotiate()
                last_dc = last_ac = None
                continue
            last_dc, last_ac = await self.loop_step(targets)
            await self.clock.sleep(self.link.options.loop_interval_s if self.is_dc else self.link.options.ac_loop_interval_s)

    async def renegotiate(self) -> None:
        await self.power_delivery(ChargeProgress.RENEGOTIATE)
        await self.charge_parameters(renegotiation=True)
        await self.power_delivery(ChargeProgress.START)

    async def loop_step(self, tg: EvLoopTargets) -> tuple[DCChargeLoopAnswer | None, ACChargeLoopAnswer | None]:
        if not self.is_dc:
            res = await self.call(iso2.ChargingStatusReq(session_id=self.session_id), self.t.ev_ac_loop(self.protocol))
            await self.metering_receipt(res)
            st = res.ac_evse_status
            meter = res.meter_info.meter_reading_Wh if res.meter_info else None
            return None, ACChargeLoopAnswer(evse_max_current_A=res.evse_max_current_A, rcd_error=st.rcd,
                                            notification=st.notification, notification_max_delay_s=st.notification_max_delay_s,
                                            meter_Wh=meter)
        target = tg.target_current_A
        if target < 0 and not self.j2847:
            target = 0.0
        req = self.M.CurrentDemandReq(
            session_id=self.session_id, dc_ev_status=tg.ev_status, ev_target_current_A=target,
            ev_maximum_voltage_limit_V=tg.ev_max_voltage_V, ev_maximum_current_limit_A=tg.ev_max_current_A,
            ev_maximum_power_limit_W=tg.ev_max_power_W, bulk_charging_complete=tg.bulk_charging_complete,
            charging_complete=tg.charging_complete, ev_target_voltage_V=tg.target_voltage_V)
        res = await self.call(req, self.t.ev_dc_loop(self.protocol))
        await self.metering_receipt(res)
        st = res.dc_evse_status
        meter = getattr(res, "meter_info", None)
        return DCChargeLoopAnswer(
            present_voltage_V=res.evse_present_voltage_V, present_current_A=res.evse_present_current_A,
            evse_max_current_A=res.evse_maximum_current_limit_A, evse_max_voltage_V=res.evse_maximum_voltage_limit_V,
            evse_max_power_W=res.evse_maximum_power_limit_W, current_limit_achieved=res.evse_current_limit_achieved,
            voltage_limit_achieved=res.evse_voltage_limit_achieved, power_limit_achieved=res.evse_power_limit_achieved,
            status_code=st.status_code, notification=st.notification, notification_max_delay_s=st.notification_max_delay_s,
            meter_Wh=meter.meter_reading_Wh if meter else None), None

    async def metering_receipt(self, res: Any) -> None:
        """ISO 15118-2 PnC: answer ReceiptRequired with a MeteringReceiptReq that returns the
        MeterInfo just received (3.1 step 13). The signature is a SHA-256 digest over the leaf
        contract certificate and the reading, standing in for the contract-key XML signature."""
        if not getattr(res, "receipt_required", False) or res.meter_info is None:
            return
        if self.protocol is not Protocol.ISO15118_2 or self.request.payment is not PaymentOption.CONTRACT:
            return  # ReceiptRequired only applies to PnC
        m = res.meter_info
        chain = self.link.contract_cert_chain
        digest = hashlib.sha256((chain[0] if chain else b"") + repr((m.meter_id, m.meter_reading_Wh, m.t_meter_s,
                                                                     self.session_id)).encode()).digest()
        sel = self.selection or ScheduleSelection(tuple_id=1)
        await self.call(iso2.MeteringReceiptReq(session_id=self.session_id, id="mr1", sa_schedule_tuple_id=sel.tuple_id,
                                                meter_info=m, signature=digest), self.t.ev_msg_s)
