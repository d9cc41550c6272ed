"""A readable session log, in the spirit of FreeV2G's sample output (seed 004): each request
and response with its key values, seen from the EV's link events, plus the EVSE's session
events (authorization, SCALE needs, state changes, faults, the finish with its cause).

Charge-loop messages are printed when something changes (notification, status, schedule) and
otherwise once every `loop_every_s` simulated seconds, so a long session stays readable.
"""
from __future__ import annotations

from typing import Any, Callable

from . import link as L
from .model import events as sev
from .model.enums import Protocol


def _f(value: float | None, unit: str, fmt: str = ".0f") -> str:
    return "-" if value is None else f"{value:{fmt}} {unit}"


def _names(protocol: Protocol | None, dc: bool) -> tuple[str, str]:
    if protocol is Protocol.ISO15118_20:
        return ("DC_ChargeLoop" if dc else "AC_ChargeLoop"), "ScheduleExchange"
    return ("CurrentDemand" if dc else "ChargingStatus"), "ChargeParameterDiscovery"


class SessionLog:
    """Feed it `on_link(event, answer)` (EvController.subscribe_trace) and `on_event(event)`
    (Station.subscribe); it writes lines through `echo`."""

    def __init__(self, echo: Callable[[str], None], clock: Any, *, loop_every_s: float = 10.0) -> None:
        self.echo = echo
        self.clock = clock
        self.loop_every_s = loop_every_s
        self.protocol: Protocol | None = None
        self._last_loop_t = -1e9
        self._loop_key: tuple | None = None
        self._precharge_n = 0
        self._welding_n = 0

    def _out(self, text: str) -> None:
        t = self.clock.monotonic() if self.clock is not None else 0.0
        self.echo(f"[{t:8.1f} s] {text}")

    # ------------------------------------------------------------------ EV link events

    def on_link(self, event: L.LinkEvent, answer: Any) -> None:
        handler = getattr(self, "_link_" + type(event).__name__, None)
        if handler is not None:
            handler(event, answer)

    def _link_EvSessionStarted(self, e: L.EvSessionStarted, a: Any) -> None:
        self.protocol = e.protocol
        self._out(f'"Session started": protocol {e.protocol.value}, session ID {e.iso_session_id}, EVSE ID {e.evse_id}')
        self._out(f"  EVSE offers {', '.join(m.value for m in e.offer.energy_transfer_modes)}; "
                  f"payment {', '.join(p.value for p in e.offer.payment_options)}")

    def _link_EvChargeParametersNeeded(self, e: Any, r: L.EvSessionRequest | None) -> None:
        if r is None:
            return
        _, cpd = _names(self.protocol, r.mode.is_dc)
        if r.dc is not None:
            d = r.dc
            self._out(f"{cpd}Req ({r.mode.value}): EV max {_f(d.ev_max_current_A, 'A')} / {_f(d.ev_max_voltage_V, 'V')} / "
                      f"{_f(d.ev_max_power_W, 'W')}, energy request {_f(d.ev_energy_request_Wh, 'Wh')}, "
                      f"SOC {d.status.soc_pct:.1f} %, bulk SOC {_f(d.bulk_soc_pct, '%')}")
        if r.ac is not None:
            a = r.ac
            self._out(f"{cpd}Req ({r.mode.value}): EAmount {a.e_amount_Wh:.0f} Wh, EV max {a.ev_max_current_A:.0f} A, "
                      f"min {a.ev_min_current_A:.0f} A, {a.ev_max_voltage_V:.0f} V")
        scale = (r.dc or r.ac).scale if (r.dc or r.ac) else None
        if scale is not None:
            self._out(f"  SCALE: energy min {_f(scale.ev_min_energy_request_Wh, 'Wh')} max {_f(scale.ev_max_energy_request_Wh, 'Wh')}, "
                      f"SOC min {_f(scale.ev_min_soc_pct, '%')} max {_f(scale.ev_max_soc_pct, '%')}, "
                      f"remaining V2G {_f(scale.remaining_v2g_energy_Wh, 'Wh')}, round trip {_f(scale.round_trip_efficiency_pct, '%')}")
        if r.bpt is not None:
            self._out(f"  BPT: max discharge {r.bpt.ev_max_discharge_power_W:.0f} W / {r.bpt.ev_max_discharge_current_A:.0f} A")

    def _link_EvseParametersReceived(self, e: L.EvseParametersReceived, sel: L.ScheduleSelection | None) -> None:
        _, cpd = _names(self.protocol, e.dc is not None)
        if e.dc is not None:
            self._out(f"{cpd}Res: EVSE max {e.dc.max_current_A:.0f} A / {e.dc.max_voltage_V:.0f} V / {e.dc.max_power_W:.0f} W")
        if e.ac is not None:
            self._out(f"{cpd}Res: EVSE max {e.ac.max_current_A:.0f} A per phase at {e.ac.nominal_voltage_V:.0f} V")
        if e.schedules is not None:
            for t in e.schedules.tuples:
                entries = ", ".join(f"({x.start_s} s, {x.pmax_W:.0f} W)" for x in t.entries[:4])
                more = f" ... {len(t.entries)} entries" if len(t.entries) > 4 else ""
                self._out(f"  schedule tuple {t.tuple_id}: [{entries}{more}]")
        if sel is not None:
            self._out(f"  EV selects tuple {sel.tuple_id}" + (" (renegotiation)" if e.renegotiation else ""))

    def _link_CableCheckReady(self, e: Any, a: Any) -> None:
        self._out('"Cable check": EV in CP state C, CableCheckReq')

    def _link_CableCheckStatus(self, e: L.CableCheckStatus, a: Any) -> None:
        if e.processing.value == "Finished":
            self._out(f"CableCheckRes: {e.processing.value}, isolation {e.isolation.value}")

    def _link_PreChargeStatus(self, e: L.PreChargeStatus, t: L.PreChargeTargets | None) -> None:
        self._precharge_n += 1
        if t is None:
            return
        if e.present_voltage_V is None or t.done:
            self._out(f"PreChargeReq: target {t.target_voltage_V:.0f} V / {t.target_current_A:.0f} A, SOC {t.ev_status.soc_pct:.1f} %"
                      + (" | inlet within tolerance of the battery -> EV closes its contactor" if t.done else ""))

    def _link_PowerDeliveryStarted(self, e: Any, a: Any) -> None:
        self._out('PowerDelivery(Start) OK: "ev_power_ready"')
        self._precharge_n = 0

    def _link_EvChargeLoopStatus(self, e: L.EvChargeLoopStatus, t: L.EvLoopTargets | None) -> None:
        t_now = self.clock.monotonic() if self.clock is not None else 0.0
        res = e.dc or e.ac
        key = (getattr(res, "notification", None), getattr(res, "status_code", None),
               t.stop if t else None, t.pause if t else None, t.renegotiate if t else None)
        if key == self._loop_key and t_now - self._last_loop_t < self.loop_every_s:
            return
        self._loop_key, self._last_loop_t = key, t_now
        name, _ = _names(self.protocol, e.ac is None)
        parts = []
        if e.dc is not None:
            d = e.dc
            parts.append(f"{name}Res: present {d.present_voltage_V:.0f} V {d.present_current_A:.1f} A, "
                         f"EVSE max {_f(d.evse_max_current_A, 'A')} / {_f(d.evse_max_power_W, 'W')}, {d.status_code.value}"
                         + (f", notification {d.notification.value}" if d.notification.value != "None" else ""))
        if e.ac is not None:
            a = e.ac
            parts.append(f"{name}Res: EVSE max {_f(a.evse_max_current_A, 'A')}, target {_f(a.evse_target_active_power_W, 'W')}"
                         + (f", notification {a.notification.value}" if a.notification.value != "None" else ""))
        if t is not None:
            if e.ac is None:
                parts.append(f"{name}Req: target {t.target_voltage_V:.0f} V {t.target_current_A:.1f} A, "
                             f"SOC {t.ev_status.soc_pct:.1f} %, complete {t.charging_complete}")
            else:
                parts.append(f"{name}Req: EV power {_f(t.ev_present_active_power_W, 'W')}, SOC {t.ev_status.soc_pct:.1f} %")
            if t.stop or t.pause or t.renegotiate:
                what = "Stop" if t.stop else "Stop + SessionStop(Pause)" if t.pause else "Renegotiate"
                parts.append(f"EV asks for PowerDelivery({what})")
        for p in parts:
            self._out(p)

    def _link_PowerDeliveryStopped(self, e: Any, a: Any) -> None:
        self._out('PowerDelivery(Stop) OK: EV back to CP state B, contactor open')
        self._welding_n = 0

    def _link_WeldingDetectionStatus(self, e: L.WeldingDetectionStatus, done: bool | None) -> None:
        self._welding_n += 1
        if done or self._welding_n == 1:
            self._out(f"WeldingDetectionRes: present {e.present_voltage_V:.0f} V" + (" -> below 60 V, done" if done else ""))

    def _link_EvSessionFinished(self, e: L.EvSessionFinished, a: Any) -> None:
        self._out(f'"Session stopped" ({"paused" if e.paused else "terminated"}): {e.cause.value} {e.detail}'.rstrip())

    # ------------------------------------------------------------------ EVSE session events

    def on_event(self, e: sev.SessionEvent) -> None:
        if isinstance(e, sev.PluggedIn):
            self._out(f"EVSE: EV plugged in, session {e.session_id}")
        elif isinstance(e, sev.Authorized):
            self._out(f"EVSE: authorization {'accepted' if e.accepted else 'rejected'} ({e.method.value}) {e.reason}".rstrip())
        elif isinstance(e, sev.StateChanged):
            self._out(f"EVSE: {e.previous} -> {e.state}" + (f" ({e.cause})" if e.cause else ""))
        elif isinstance(e, (sev.ChargingPaused, sev.ChargingResumed)):
            self._out(f"EVSE: {e.kind} by {e.by}")
        elif isinstance(e, sev.FaultRaised):
            self._out(f"EVSE: FAULT {e.cause.value} {e.detail}".rstrip())
        elif isinstance(e, sev.SessionFinished):
            self._out(f"EVSE: session finished, cause {e.cause.value}, {e.energy_import_Wh:.0f} Wh charged"
                      + (f", {e.energy_export_Wh:.0f} Wh discharged" if e.energy_export_Wh else "")
                      + (f" ({e.detail})" if e.detail else ""))
        elif isinstance(e, sev.Unplugged):
            self._out("EVSE: EV unplugged")


def format_summary(result: Any) -> list[str]:
    """The end-of-run summary lines."""
    def soc(v):
        return "-" if v is None else f"{v:.1f} %"

    lines = [
        "Summary",
        f"  protocol / mode : {result.protocol} / {result.mode}",
        f"  energy          : {result.energy_Wh / 1000:.2f} kWh charged" + (f", {result.energy_export_Wh / 1000:.2f} kWh discharged" if result.energy_export_Wh else ""),
        f"  duration        : {result.duration_s:.0f} s (simulated)",
        f"  SoC             : {soc(result.start_soc_pct)} -> {soc(result.end_soc_pct)}",
        f"  peak power      : {result.peak_power_W / 1000:.1f} kW",
        f"  stop cause      : {result.stop_cause or '-'}" + (f" (EV: {result.ev_stop_cause})" if result.ev_stop_cause else ""),
    ]
    if result.scenario_error:
        lines.append(f"  scenario FAILED : {result.scenario_error}")
    return lines
