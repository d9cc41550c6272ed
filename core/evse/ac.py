"""AC charging: PWM duty from the current limit, basic charging, AC with HLC, phase switching.

charging-domain.md 1.3 (duty <-> current), 1.4 (reaction times), 1.6 (5 % and the fall back
to nominal PWM), 2.1 (basic AC sequence), 3.6 (contactor after PowerDelivery(Start)).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..boards import BoardError
from ..link import ACChargeLoopAnswer, ACChargeLoopRequest
from ..model import events as ev
from ..model.enums import CPState, EVSENotification, ResponseCode, StopCause
from .states import EvseState

if TYPE_CHECKING:  # pragma: no cover
    from .manager import EvseManager

log = logging.getLogger(__name__)

MIN_PWM_CURRENT_A = 6.0
HLC_DUTY_PCT = 5.0


def duty_for_current_pct(current_A: float) -> float | None:
    """EVSE-side inverse of IEC 61851-1 Table A.8 (1.3). None: not signallable (use X1)."""
    if current_A < MIN_PWM_CURRENT_A:
        return None
    if current_A <= 51.0:
        return round(current_A / 0.6, 2)
    if current_A < 52.5:
        return 85.0  # gap in the curve: clamp to 51 A [impl EVerest]
    return round(min(current_A, 80.0) / 2.5 + 64.0, 2)


def current_for_duty_A(duty_pct: float) -> float:
    """EV-side reading of the duty (1.3); 0 where no charging is allowed."""
    if duty_pct < 8.0 or duty_pct > 97.0:
        return 0.0
    if duty_pct < 10.0:
        return 6.0
    if duty_pct <= 85.0:
        return duty_pct * 0.6
    if duty_pct <= 96.0:
        return (duty_pct - 64.0) * 2.5
    return 80.0


class AcCharging:
    def __init__(self, manager: "EvseManager"):
        self.m = manager
        self.nominal_pwm = False  # nominal duty (not 5 %) is being output
        self.hlc_5pct = False
        self.signalled_A = 0.0  # the current the nominal duty signals (over_current.py)

    # ------------------------------------------------------------------ limits

    def current_limit_A(self) -> float:
        m = self.m
        caps = [m.config.max_current_import_A, m.bsp.capabilities().max_current_A_import]
        cable = m.bsp.cable_rating_A()
        if cable is not None:
            caps.append(cable)
        if m.limit_W != float("inf"):
            caps.append(m.limit_W / (m.config.ac_nominal_voltage * m.phases))
        return max(0.0, min(caps))

    # ------------------------------------------------------------------ basic charging

    async def apply_pwm(self) -> None:
        """Output the nominal duty for the current limit (or X1 when < 6 A or paused)."""
        m = self.m
        s = m.session
        if s is None or s.finished or s.stopping or s.authorized is not True:
            return
        if self.hlc_5pct and (s.hlc or m.config.ac_enforce_hlc):
            return  # HLC carries the limit; PWM stays at 5 %
        duty = None if m.evse_paused else duty_for_current_pct(self.current_limit_A())
        if m._contactor_stuck:
            self.nominal_pwm = False
            await m._cp_state_f()  # 5.7: never offer charging with a welded contactor
            return
        if duty is None:
            self.nominal_pwm = False
            await m.pwm_off()
        else:
            self.nominal_pwm = True
            self.signalled_A = current_for_duty_A(duty)
            m._cp_out_f = False
            await m.bsp.set_pwm_duty(duty)

    async def start_hlc_signalling(self) -> None:
        """AC with HLC: 5 % (ac_hlc_use_5percent) or X1 until authorized, SLAC allowed (1.6)."""
        m = self.m
        self.hlc_5pct = m.config.ac_hlc_use_5percent
        if self.hlc_5pct:
            await m.bsp.set_pwm_duty(HLC_DUTY_PCT)
        await m.link.start_matching()

    async def authorized(self) -> None:
        """Positive authorization in AC: nominal PWM, unless HLC keeps 5 % (1.6, [V2G2-853])."""
        m = self.m
        s = m.session
        if s is None:
            return
        if self.hlc_5pct and not s.hlc and not m.config.ac_enforce_hlc:
            # EIM before the HLC session: fall back to nominal PWM (ac_hlc_use_5percent note).
            m.spawn(self._fallback_to_nominal())
            return
        await self.apply_pwm()
        if m.cp in (CPState.C, CPState.D) and not s.hlc:
            await self.ev_ready()

    async def _fallback_to_nominal(self) -> None:
        m = self.m
        s = m.session
        matching = m.hlc.matching_started
        if matching:
            await m.pwm_off()  # X1 phase while matching is under way
            await m.clock.sleep(m.tunables.t_step_x1_s)
        else:
            await m._cp_state_f()  # E/F for T_step_EF so a legacy EV re-reads the duty
            await m.clock.sleep(m.tunables.t_step_ef_s)
        if m.session is not s or s is None or s.finished or s.stopping or s.hlc:
            if m.session is s and s is not None and not s.finished and not s.stopping and not m._contactor_stuck:
                await m.bsp.set_pwm_duty(HLC_DUTY_PCT)
            return
        self.hlc_5pct = False
        await self.apply_pwm()
        if m.cp in (CPState.C, CPState.D):
            await self.ev_ready()

    async def ev_ready(self) -> None:
        """B2 -> C2 in basic charging: close the contactor within 3 s (1.4)."""
        m = self.m
        s = m.session
        if s is None or s.finished or s.stopping or s.hlc or s.authorized is not True or not self.nominal_pwm or m.evse_paused:
            return
        if m.energy_on:
            return
        try:
            closed = await m.close_contactor(m.phases, ticket=m.power_ticket())
        except BoardError as exc:
            await m.stop(StopCause.CP_FAULT, f"contactor: {exc}", fault=True)
            return
        if closed:
            was_paused = m.state is EvseState.PAUSED_EV
            m.set_state(EvseState.CHARGING, "CP C, PWM on")
            if was_paused:
                m.emit(ev.ChargingResumed, by="ev")
            m.meter_sample()

    async def pause(self) -> None:
        """EVSE pause in basic charging: X1 (C1); open after 6 s if the EV stays in C (1.4)."""
        m = self.m
        self.nominal_pwm = False
        await m.pwm_off()
        m.spawn(self._open_if_still_drawing(m.session))

    async def _open_if_still_drawing(self, s) -> None:
        m = self.m
        await m.clock.sleep(m.tunables.ev_pause_off_s)
        if m.session is s and m.evse_paused and m.energy_on:
            await m.power_off()

    async def switch_phases(self, phases: int) -> bool:
        """3ph <-> 1ph in basic charging: X1 or F (switch_3ph1ph_cp_state), contactor open,
        wait switch_3ph1ph_delay_s, close with the new phase count, PWM back on."""
        m = self.m
        if phases not in (1, 3):
            raise ValueError(f"phases must be 1 or 3, got {phases!r}")
        caps = m.bsp.capabilities()
        if not caps.min_phases <= phases <= caps.max_phases:
            return False
        s = m.session
        if s is None or not m.energy_on:
            m.phases = phases
            return True
        if s.hlc or not caps.supports_changing_phases_during_charging:
            return False
        previous = m.state
        m.set_state(EvseState.SWITCHING_PHASES, f"{m.phases}ph -> {phases}ph")
        if m.config.switch_3ph1ph_cp_state == "F":
            await m._cp_state_f()
        else:
            await m.pwm_off()
        self.nominal_pwm = False
        await m.power_off()
        await m.clock.sleep(m.config.switch_3ph1ph_delay_s)
        if m.session is not s or s.finished or s.stopping:
            return False
        m.phases = phases
        m.refresh_limit()
        m.set_state(previous if previous is not EvseState.SWITCHING_PHASES else EvseState.PREPARING, "phases switched")
        await self.apply_pwm()
        if m.cp in (CPState.C, CPState.D):
            m.state = EvseState.PREPARING
            await self.ev_ready()
        return True

    # ------------------------------------------------------------------ AC with HLC

    async def hlc_power_on(self) -> ResponseCode:
        """PowerDelivery(Start): wait for C/D, close within 3 s ([V2G2-847], [V2G2-860])."""
        m = self.m
        ticket = m.power_ticket()  # a stop while waiting for C voids this request (finding A)
        waited = 0.0
        while m.cp not in (CPState.C, CPState.D) and waited < m.tunables.ac_contactor_wait_s:
            await m.clock.sleep(0.05)
            waited += 0.05
        if m.cp not in (CPState.C, CPState.D):
            return ResponseCode.FAILED_CONTACTOR_ERROR
        if m.cp is CPState.D and not m.config.has_ventilation:
            return ResponseCode.FAILED_CONTACTOR_ERROR
        try:
            closed = await m.close_contactor(m.phases, ticket=ticket)
        except BoardError as exc:
            log.error("evse %s: contactor: %s", m.evse_index, exc)
            return ResponseCode.FAILED_CONTACTOR_ERROR
        return ResponseCode.OK if closed else ResponseCode.FAILED_CONTACTOR_ERROR

    def loop_answer(self, req: ACChargeLoopRequest) -> ACChargeLoopAnswer:
        """ChargingStatusRes / AC_ChargeLoopRes from cached values."""
        m = self.m
        s = m.session
        if s is not None and req.soc_pct is not None:
            s.soc_pct = req.soc_pct
        # No current offered outside PowerDelivery(Start)..(Stop) (issue #10 item 2).
        delivering = s is not None and not s.finished and s.power_delivery_started and m.energy_on
        limit_A = 0.0 if m.evse_paused or not delivering else self.current_limit_A()
        e_imp, _, power_W, _, _ = m.meter_reading()
        notification = m.notification
        out_of_sequence = s is not None and not s.finished and not s.power_delivery_started
        return ACChargeLoopAnswer(
            response_code=ResponseCode.FAILED_SEQUENCE_ERROR if out_of_sequence else ResponseCode.OK,
            evse_max_current_A=round(limit_A, 1),
            evse_target_active_power_W=round(limit_A * m.config.ac_nominal_voltage * m.phases, 1),
            evse_present_active_power_W=power_W,
            notification=notification,
            notification_max_delay_s=m.tunables.renegotiation_max_delay_s
            if notification is EVSENotification.RENEGOTIATION
            else 0,
            meter_Wh=e_imp,
        )
