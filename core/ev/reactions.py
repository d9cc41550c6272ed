"""The EV's reactions to the link's EV-role events (core/link.py), mixed into EvController.

charging-domain.md 3.6 (CP C/D before CableCheck (DC) or with PowerDelivery(Start) (AC); back
to B after PowerDelivery(Stop)), 5.4 (contactor closed once the inlet is within the PreCharge
tolerance of the battery), 5.5 (welding detection done below 60 V), 6.2 (renegotiation),
7.5 / 8 (discharge: negative target current). The EV stops at its target SoC (or, when
discharging, at its minimum SoC). Every end of a session leaves the EV safe: contactor open,
no AC draw, CP B.
"""
from __future__ import annotations

import logging

from ..link import (
    CableCheckReady,
    CableCheckStatus,
    EvChargeLoopStatus,
    EvChargeParametersNeeded,
    EvLoopTargets,
    EvseParametersReceived,
    EvSessionFinished,
    EvSessionStarted,
    PowerDeliveryStarted,
    PowerDeliveryStopped,
    PreChargeStatus,
    PreChargeTargets,
    ScheduleSelection,
    WeldingDetectionStatus,
)
from ..model.enums import CPState, EVSENotification, EVSEStatusCode, StopCause
from ..model.schedule import ChargingProfileEntry
from .needs import (
    dc_charge_current_A,
    dc_discharge_current_A,
    dc_status,
    default_bpt_params,
    default_dc_params,
    session_request,
)
from .variables import AcTargetPower, EvVar

log = logging.getLogger(__name__)

ACTIVE_PHASES = frozenset({"session_setup", "parameters", "cable_check", "precharge", "charging", "welding", "stopping"})
_SHUTDOWN_CODES = (EVSEStatusCode.SHUTDOWN, EVSEStatusCode.EMERGENCY_SHUTDOWN, EVSEStatusCode.MALFUNCTION)


class LinkReactions:
    """Handlers `_on_<event>`; state lives in EvController.__init__."""

    def _on_started(self, ev: EvSessionStarted) -> None:
        self.protocol, self.iso_session_id, self.evse_id = ev.protocol, ev.iso_session_id, ev.evse_id
        self.phase = "parameters"
        if self._started is not None and not self._started.done():
            self._started.set_result(True)

    def _on_params_needed(self, ev: EvChargeParametersNeeded):
        assert self._intent is not None
        return session_request(self.config, self._intent, self.soc_pct(), self._error)

    def _on_evse_params(self, ev: EvseParametersReceived) -> ScheduleSelection:
        self._renegotiate = False
        if ev.ac is not None:
            self._publish_ac_limit(ev.ac.max_current_A)
        tuples = ev.schedules.tuples if ev.schedules is not None else ()
        chosen = tuples[0] if tuples else None
        profile: tuple[ChargingProfileEntry, ...] = ()
        if chosen is not None and self.config.quirks.send_charging_profile:
            profile = tuple(
                ChargingProfileEntry(start_s=e.start_s, max_power_W=e.pmax_W) for e in chosen.entries[:24]
            )
        if self._intent is not None and self._intent.mode.is_ac:
            self._set_cp_ready()  # AC: C/D with PowerDeliveryReq(Start) ([V2G2-847])
        return ScheduleSelection(tuple_id=chosen.tuple_id if chosen else 1, profile=profile)

    def _on_cable_check_ready(self, ev: CableCheckReady) -> None:
        self.phase = "cable_check"
        self._set_cp_ready()  # DC: C/D before the first CableCheckReq (3.6)

    def _on_cable_check_status(self, ev: CableCheckStatus) -> None:
        return None

    def _on_precharge(self, ev: PreChargeStatus) -> PreChargeTargets:
        self.phase = "precharge"
        q = self.config.quirks
        battery_V = self.board.battery_voltage_V()
        measured = ev.present_voltage_V if q.trust_evse_present_voltage else self.board.inlet_voltage_V()
        done = False
        if ev.present_voltage_V is not None and measured is not None and abs(measured - battery_V) <= q.precharge_tolerance_V:
            if not self.board.contactor_closed():
                self.vars.publish(EvVar.DC_POWER_ON)
                self.board.set_contactor(True)
            done = True
        return PreChargeTargets(
            target_voltage_V=battery_V,
            target_current_A=q.precharge_current_A,
            ev_status=dc_status(self.soc_pct(), self._error),
            done=done,
        )

    def _on_power_started(self, ev: PowerDeliveryStarted) -> None:
        self.phase = "charging"
        self._loops_since_start = 0
        self._renegotiate = False
        if self._intent is not None and self._intent.mode.is_ac:
            self._set_cp_ready()
            self._apply_ac_draw()
        self.vars.publish(EvVar.EV_POWER_READY, True)

    def _on_loop(self, ev: EvChargeLoopStatus) -> EvLoopTargets:
        assert self._intent is not None
        soc = self.soc_pct()
        if ev.dc is not None:
            self._record(ev.dc.present_voltage_V, ev.dc.present_current_A, soc)
            self._check_evse_status(ev.dc.notification, ev.dc.status_code)
        if ev.ac is not None:
            if ev.ac.evse_max_current_A is not None:
                self._publish_ac_limit(ev.ac.evse_max_current_A)
            if ev.ac.evse_target_active_power_W is not None:
                self.vars.publish(EvVar.AC_EVSE_TARGET_POWER, AcTargetPower(target_active_power_W=ev.ac.evse_target_active_power_W))
            self._check_evse_status(ev.ac.notification, None)
            self._apply_ac_draw()
            p = self._ac_power_W()
            self._record(self.config.ac.max_voltage_V, p / max(self.config.ac.max_voltage_V, 1.0), soc, p)
        discharging = self._discharging()
        complete = soc <= self._min_soc() if discharging else soc >= self.config.battery.target_soc_pct
        if complete and not self._stop:
            self._stop = True
            self._stop_cause = self._stop_cause or StopCause.SOC_REACHED
        targets = self._dc_targets(soc, discharging) if self._intent.mode.is_dc else {}
        if self._intent.mode.is_ac:
            targets["ev_present_active_power_W"] = self._ac_power_W()
        # 3.1: after PowerDeliveryRes(Start) the next request must be a loop request, so a
        # stop/pause/renegotiation asked for before the first one waits one loop period.
        first = self._loops_since_start == 0
        self._loops_since_start += 1
        stop = self._stop and not self._pause and not first
        pause = self._pause and not first
        return EvLoopTargets(
            **targets,
            ev_status=dc_status(soc, self._error),
            bulk_charging_complete=soc >= self.config.battery.bulk_soc_pct,
            charging_complete=complete,
            stop=stop,
            pause=pause,
            renegotiate=self._renegotiate and not (stop or pause or first),
        )

    def _dc_targets(self, soc: float, discharging: bool) -> dict:
        assert self._intent is not None
        p = self._intent.dc or default_dc_params(self.config)
        battery_V = self.board.battery_voltage_V()
        if discharging:
            b = self._intent.bpt or default_bpt_params(self.config)
            current = -dc_discharge_current_A(b, battery_V)
        else:
            current = dc_charge_current_A(self.config, p, soc, battery_V)
            bms = getattr(self.board, "charge_current_limit_A", None)  # the sim battery's CC/CV taper
            if bms is not None:
                current = min(current, max(0.0, bms()))
        if self._stop or self._pause:
            current = 0.0
        # A target below the battery could never push current: ask at least battery + 5 V.
        target_V = max(p.target_voltage_V or p.max_voltage_limit_V, min(p.max_voltage_limit_V, battery_V + 5.0))
        return {
            "target_voltage_V": target_V,
            "target_current_A": current,
            "ev_max_voltage_V": p.max_voltage_limit_V,
            "ev_max_current_A": p.max_current_limit_A,
            "ev_max_power_W": p.max_power_limit_W,
        }

    def _on_power_stopped(self, ev: PowerDeliveryStopped) -> None:
        # 3.6: back to B after PowerDeliveryRes(Stop), then open the EV contactor.
        self.phase = "welding" if self._intent and self._intent.mode.is_dc else "stopping"
        self.board.set_ac_current_draw(0.0, self.config.ac.phases)
        self._set_cp(CPState.B)
        self.board.set_contactor(False)
        self._renegotiate = False
        self.vars.publish(EvVar.EV_POWER_READY, False)

    def _on_welding(self, ev: WeldingDetectionStatus) -> bool:
        return ev.present_voltage_V < self.config.quirks.welding_safe_voltage_V

    def _on_finished(self, ev: EvSessionFinished) -> None:
        was_ready = self.vars.latest(EvVar.EV_POWER_READY)
        self._safe_state()
        self.phase = "paused" if ev.paused else "finished"
        self.last_finished = ev
        self.sessions_finished += 1
        if self._started is not None and not self._started.done():
            self._started.set_result(False)
        if was_ready is not None and was_ready.value:
            self.vars.publish(EvVar.EV_POWER_READY, False)
        self.vars.publish(EvVar.V2G_SESSION_FINISHED, ev)

    # ------------------------------------------------------------------ helpers

    def _session_active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    def _set_cp(self, state: CPState) -> None:
        if self.plugged:
            self.board.set_cp_state(state)
            self.cp_state = state

    def _set_cp_ready(self) -> None:
        self._set_cp(CPState.D if self.config.quirks.use_cp_state_d else CPState.C)

    def _safe_state(self) -> None:
        """Contactor open, no AC draw, CP B: on every session end and on close."""
        try:
            self.board.set_ac_current_draw(0.0, self.config.ac.phases)
            self.board.set_contactor(False)
            if self.cp_state in (CPState.C, CPState.D):
                self._set_cp(CPState.B)
        except Exception:  # noqa: BLE001 - report, the EVSE side still opens its side
            log.exception("EV board refused the safe state")

    def _check_evse_status(self, notification: EVSENotification, status: EVSEStatusCode | None) -> None:
        q = self.config.quirks
        if notification is EVSENotification.STOP_CHARGING or status in _SHUTDOWN_CODES:
            self.vars.publish(EvVar.STOP_FROM_CHARGER)
            if not q.ignore_stop_notification and not self._stop:
                self._stop = True
                self._stop_cause = StopCause.EVSE_STOP
        elif notification is EVSENotification.RENEGOTIATION and not q.ignore_renegotiation:
            self._renegotiate = True
        elif getattr(notification, "value", None) == "Pause":  # -20 EVSENotification=Pause
            self.vars.publish(EvVar.PAUSE_FROM_CHARGER)
            self._pause = True

    def _discharging(self) -> bool:
        assert self._intent is not None
        return bool((self._intent.mode.is_bidirectional or self._intent.j2847_mode) and self.config.bpt.discharge)

    def _min_soc(self) -> float:
        b = (self._intent.bpt if self._intent else None) or default_bpt_params(self.config)
        return b.discharge_minimal_soc_pct

    def _publish_ac_limit(self, current_A: float) -> None:
        if current_A != self._ac_evse_max_A:
            self._ac_evse_max_A = current_A
            self.vars.publish(EvVar.AC_EVSE_MAX_CURRENT, current_A)

    def _ac_current_A(self) -> float:
        limit = self.config.ac.max_current_A
        if self._ac_evse_max_A is not None:
            limit = min(limit, self._ac_evse_max_A)
        target = self.vars.latest(EvVar.AC_EVSE_TARGET_POWER)
        if target is not None and target.value.target_active_power_W is not None:
            per_phase = target.value.target_active_power_W / (self.config.ac.max_voltage_V * self.config.ac.phases)
            limit = min(limit, max(0.0, per_phase))
        if self._stop or self._pause:
            return 0.0
        return max(0.0, limit)

    def _ac_power_W(self) -> float:
        return self._ac_current_A() * self.config.ac.max_voltage_V * self.config.ac.phases

    def _apply_ac_draw(self) -> None:
        self.board.set_ac_current_draw(self._ac_current_A(), self.config.ac.phases)

    def _record(self, voltage_V: float, current_A: float, soc: float, power_W: float | None = None) -> None:
        p = voltage_V * current_A if power_W is None else power_W
        self.samples.append((self.clock.monotonic(), voltage_V, current_A, p, soc))


