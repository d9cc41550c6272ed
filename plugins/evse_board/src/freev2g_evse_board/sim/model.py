"""SimModel: ONE electrical model of both ends of the cable, advanced lazily by the clock.

No task runs per model: every read and every setpoint change first integrates the physics from
the last update to `clock.monotonic()` in sub-steps of at most `max_step_s` (physics.py), so
hundreds of models can live in one process. Discrete changes (CP generator, EV resistor,
contactors, faults) emit `BoardEvent`s at once to the listeners of the affected drivers
("bsp", "imd", "power_supply", "connector_lock", "power_meter", "ev_board").

charging-domain.md 1.1-1.3 (CP), 1.7 (PP), 5 (DC). The model never opens a contactor or stops
the PWM by itself (except an RCD trip, which is a breaker): reacting to faults is the
EvseManager's job, and tests must be able to see it fail to do so.
"""
from __future__ import annotations

import logging
import math
from typing import Any, Callable

from attrs import evolve
from freev2g.boards import BoardEvent
from freev2g.model.enums import CPState

from .. import pilot
from . import physics
from .battery import Battery
from .config import SimConfig

log = logging.getLogger(__name__)

SOURCES = ("bsp", "imd", "power_supply", "connector_lock", "power_meter", "ev_board")
PSU_MODES = ("off", "export", "import", "precharge", "cable_check")

# fault name -> allowed parameters (with defaults resolved in inject)
FAULTS: dict[str, tuple[str, ...]] = {
    "imd_fault": ("mode", "resistance_Ohm"),  # mode "insulation" (low readings) | "device"
    "over_voltage": ("voltage_V",),
    "psu_fault": ("detail",),
    "lock_failure": ("mode",),  # "lock" (cannot lock) | "unlock" (jammed locked) | "both"
    "cp_short": (),
    "cp_open": (),  # extra: CP wire broken with the cable still in the inlet (EVSE reads A)
    "missing_diode": (),
    "unplug": (),
    "rcd_trip": (),  # extra: residual current; the breaker opens the contactor
    "contactor_welded": (),  # extra: the EVSE contactor does not open
    "ev_overdraw": (),  # extra: the EV's charger ignores the duty's current (draws what it requests)
}
# which drivers hear about a fault
_FAULT_SOURCES: dict[str, tuple[str, ...]] = {
    "imd_fault": ("imd",),
    "over_voltage": ("power_supply", "bsp"),
    "psu_fault": ("power_supply",),
    "lock_failure": ("connector_lock",),
    "cp_short": ("bsp",),
    "cp_open": (),  # no driver reports it: the EVSE only measures state A
    "missing_diode": ("bsp",),
    "unplug": (),
    "rcd_trip": ("bsp",),
    "contactor_welded": ("bsp",),
    "ev_overdraw": (),  # no driver reports it: the EVSE sees it only in the measured current
}


class SimModel:
    """Both cable ends as one model. Attributes are read by physics.py and the drivers; change
    them only through the methods."""

    def __init__(self, clock: Any, config: SimConfig | None = None):
        self.clock = clock
        self.config = config or SimConfig()
        self._listeners: dict[str, list[Callable[[BoardEvent], None]]] = {s: [] for s in SOURCES}
        self._t: float | None = None
        self.faults: dict[str, dict[str, Any]] = {}
        # CP generator (EVSE) and EV side
        self.generator = "x1"  # "x1" | "pwm" | "f"
        self.duty_pct = 100.0
        self.plugged = False
        self.ev_letter = CPState.B
        self.pp_Ohm: float | None = None
        self._last_cp = CPState.A
        self._last_ev_duty = 0.0
        # contactors and AC
        self.evse_contactor = False
        self.evse_phases = 3
        self.ev_contactor = False
        self.ac_request_A = 0.0
        self.ac_request_phases = 3
        self.ac_current_A = 0.0
        self.ac_phases = 0
        # DC supply
        self.psu_mode = "off"
        self.psu_v_set = self.psu_i_set = self.psu_v_cmd = self.psu_i_cmd = 0.0
        self.psu_voltage_V = self.psu_current_A = 0.0
        self.cable_V = 0.0  # cable side of the EVSE contactor = EV inlet (physics.cable_side)
        self.ovm_limit_V: float | None = None
        # IMD, lock, meter, battery
        self.imd_running = False
        self.locked = False
        self.meter_power_W = self.energy_import_Wh = self.energy_export_Wh = self.ac_loss_Wh = 0.0
        self.battery = Battery(self.config.battery)

    # --- time -------------------------------------------------------------------------------

    def update(self) -> None:
        """Integrate the physics up to now (called by every read and setpoint change)."""
        now = self.clock.monotonic()
        if self._t is None or now < self._t:
            self._t = now  # first reading, or a clock restarted under us: nothing to integrate
            return
        remaining = now - self._t
        max_step = self.config.max_step_s
        stepped = remaining > 1e-12
        while remaining > 1e-12:
            dt = min(remaining, max_step)
            physics.step(self, dt)
            remaining -= dt
        self._t = now
        if not stepped:
            # No time passed: recompute the operating point after any discrete change. When a
            # sub-step ran, it already computed the operating point with the commands ramped to
            # `now` (the battery's SoC from the start of that sub-step: a difference of
            # microvolts), so a second pass only repeated the work; it was half the sim's cost
            # per read at 200 bench pairs (bench/bench_sessions.py profile).
            physics.step(self, 0.0)
        self._check_over_voltage()

    # --- events -----------------------------------------------------------------------------

    def subscribe(self, source: str, listener: Callable[[BoardEvent], None]) -> None:
        if source not in self._listeners:
            raise ValueError(f"unknown sim event source {source!r}; use one of {', '.join(SOURCES)}")
        self._listeners[source].append(listener)

    def emit(self, source: str, kind: str, value: object = None, detail: str = "") -> None:
        event = BoardEvent(source=f"sim.{source}", kind=kind, value=value, detail=detail)
        for listener in list(self._listeners[source]):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one bad observer must not stop the others
                log.exception("sim board listener failed on %s", event)

    # --- control pilot (charging-domain.md 1.1, 1.2) ------------------------------------------

    def cp_levels_V(self) -> tuple[float, float | None]:
        """(positive plateau, negative plateau or None without PWM) as measured at the EVSE."""
        if "cp_short" in self.faults:
            return (0.0, 0.0 if self.generator != "x1" else None)
        # cp_open: the EV's resistor is cut off the CP line; the connector and the DC pins stay
        # mated (and may stay live), which a real unplug of a locked connector cannot do.
        connected = self.plugged and "cp_open" not in self.faults
        load = pilot.ev_load_ohm(self.ev_letter) if connected else None
        diode = "missing_diode" not in self.faults
        drop = self.config.ev.diode_drop_V
        low = pilot.cp_plateau_V(pilot.CP_LOW_V, load, diode=diode, diode_drop_V=drop)
        if self.generator == "f":
            return (low, low)
        high = pilot.cp_plateau_V(pilot.CP_HIGH_V, load, diode=diode, diode_drop_V=drop)
        return (high, low if self.generator == "pwm" else None)

    def cp_state(self) -> CPState:
        positive, negative = self.cp_levels_V()
        if self.generator == "f" and "cp_short" not in self.faults:
            return CPState.F
        state = pilot.cp_state_from_plateau(positive)
        if (
            negative is not None
            and state.vehicle_connected
            and negative > self.config.evse.diode_fault_above_V
        ):
            return CPState.DF
        return state

    def evse_duty_pct(self) -> float:
        return {"x1": 100.0, "f": 0.0}.get(self.generator, self.duty_pct)

    def ev_duty_pct(self) -> float:
        """What the EV sees: 0 when unplugged, shorted, cut off (cp_open) or in F."""
        if not self.plugged or "cp_short" in self.faults or "cp_open" in self.faults:
            return 0.0
        return self.evse_duty_pct()

    def _refresh_cp(self) -> None:
        state = self.cp_state()
        if state is not self._last_cp:
            previous, self._last_cp = self._last_cp, state
            detail = f"{previous.value} -> {state.value}"
            self.emit("bsp", "cp_state", state, detail)
            self.emit("ev_board", "cp_state", state, detail)
        ev_duty = self.ev_duty_pct()
        if ev_duty != self._last_ev_duty:
            self._last_ev_duty = ev_duty
            self.emit("ev_board", "pwm_duty", ev_duty)

    def set_pwm_duty(self, duty_pct: float) -> None:
        """1 kHz PWM; 100 % = X1, 0 % = constant -12 V (state F)."""
        if isinstance(duty_pct, bool) or not isinstance(duty_pct, (int, float)) or math.isnan(duty_pct):
            raise ValueError(f"duty_pct must be a number, got {duty_pct!r}")
        if not 0.0 <= duty_pct <= 100.0:
            raise ValueError(f"duty_pct must be within 0..100 %, got {duty_pct}")
        self.update()
        if duty_pct >= 100.0:
            self.generator, self.duty_pct = "x1", 100.0
        elif duty_pct <= 0.0:
            self.generator, self.duty_pct = "f", 0.0
        else:
            self.generator, self.duty_pct = "pwm", float(duty_pct)
        self._refresh_cp()

    def set_pwm_off(self) -> None:
        self.set_pwm_duty(100.0)

    def set_state_f(self) -> None:
        self.set_pwm_duty(0.0)

    # --- EV side and cable --------------------------------------------------------------------

    def plug_in(self, cable_rating_A: float | None = None, *, pp_resistance_Ohm: float | None = None) -> None:
        """Connect the cable; the EV presents state B. The PP resistor codes the cable rating
        (charging-domain.md 1.7): pass a rating (nominal Rc is used) or Rc itself."""
        self.update()
        if pp_resistance_Ohm is None:
            rating = self.config.ev.default_cable_rating_A if cable_rating_A is None else cable_rating_A
            pp_resistance_Ohm = pilot.pp_resistor_for_rating(rating)
        self.pp_Ohm = float(pp_resistance_Ohm)
        self.plugged = True
        self.ev_letter = CPState.B
        self.faults.pop("unplug", None)
        self._refresh_cp()

    def unplug(self) -> None:
        self.update()
        self.plugged = False
        self.pp_Ohm = None
        self.ac_request_A = 0.0
        self._refresh_cp()

    def set_ev_state(self, state: CPState) -> None:
        """The EV's resistor: B, C or D; A unplugs. Plugs in (default cable) when needed."""
        state = CPState(state)
        if state is CPState.A:
            self.unplug()
            return
        if state not in (CPState.B, CPState.C, CPState.D):
            raise ValueError(f"the EV can present A, B, C or D, not {state.value}")
        if not self.plugged:
            self.plug_in()
        self.update()
        self.ev_letter = state
        self._refresh_cp()

    def set_ev_contactor(self, closed: bool) -> None:
        self.update()
        if self.ev_contactor != bool(closed):
            self.ev_contactor = bool(closed)
            self.emit("ev_board", "relay", self.ev_contactor, "ev contactor")

    def set_ac_current_draw(self, current_A: float, phases: int = 3) -> None:
        if not current_A >= 0.0:
            raise ValueError(f"AC draw must be >= 0 A, got {current_A!r}")
        if phases not in (1, 2, 3):
            raise ValueError(f"phases must be 1, 2 or 3, got {phases!r}")
        self.update()
        self.ac_request_A, self.ac_request_phases = float(current_A), int(phases)

    def cable_rating_A(self) -> float | None:
        """PP cable rating; None with a fixed cable; 0 with no (or a faulty) cable."""
        if self.config.evse.fixed_cable:
            return None
        if not self.plugged or self.pp_Ohm is None:
            return 0.0
        return pilot.cable_rating_from_pp(self.pp_Ohm).rating_A

    def inlet_voltage_V(self) -> float:
        """DC voltage at the EV inlet = the cable side of the EVSE contactor (physics.cable_side:
        the supply or the battery through a closed contactor, else discharging)."""
        self.update()
        return self.cable_V

    def set_battery(self, **changes: Any) -> None:
        """Replace battery settings (BatteryConfig fields); call before charging, since the
        energy bookkeeping restarts with the new battery."""
        self.update()
        soc = changes.pop("soc_pct", self.battery.soc_pct)
        self.config = evolve(self.config, battery=evolve(self.config.battery, soc_pct=soc, **changes))
        self.battery = Battery(self.config.battery)

    # --- EVSE contactor ----------------------------------------------------------------------

    def set_evse_contactor(self, closed: bool, phases: int = 3) -> bool:
        """Returns the contactor state after the command (a welded one stays closed)."""
        self.update()
        closed = bool(closed)
        if not closed and self.evse_contactor and "contactor_welded" in self.faults:
            return True
        if closed and "rcd_trip" in self.faults:
            return False
        if closed:
            self.evse_phases = max(1, min(3, int(phases)))
        if closed != self.evse_contactor:
            self.evse_contactor = closed
            self.emit("bsp", "relay", closed, f"{self.evse_phases} phase(s)" if closed else "open")
        return self.evse_contactor

    # --- DC supply and over-voltage monitor (charging-domain.md 5.4, 5.6) ---------------------

    def set_psu_mode(self, mode: str) -> None:
        if mode not in PSU_MODES:
            raise ValueError(f"power supply mode must be one of {', '.join(PSU_MODES)}, got {mode!r}")
        self.update()
        self.psu_mode = mode
        if mode == "off":
            self.psu_v_set = self.psu_i_set = 0.0

    def set_psu_setpoints(self, voltage_V: float, current_A: float) -> tuple[float, float]:
        """Clamp to the supply limits; returns the applied (voltage, current)."""
        for name, v in (("voltage_V", voltage_V), ("current_A", current_A)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0.0:
                raise ValueError(f"power supply {name} must be a number >= 0, got {v!r}")
        cfg = self.config.power_supply
        self.update()
        voltage_V = min(float(voltage_V), cfg.max_export_voltage_V)
        if self.psu_mode == "import":
            current_A = min(current_A, cfg.max_import_current_A)
        else:
            current_A = min(current_A, cfg.max_export_current_A)
            if voltage_V > 0:
                current_A = min(current_A, cfg.max_export_power_W / voltage_V)
        self.psu_v_set, self.psu_i_set = voltage_V, float(current_A)
        physics.step(self, 0.0)
        return (self.psu_v_set, self.psu_i_set)

    def psu_reading(self) -> tuple[float, float]:
        self.update()
        fault = self.faults.get("over_voltage")
        if fault is not None:
            return (fault["voltage_V"], self.psu_current_A)
        return (self.psu_voltage_V, self.psu_current_A)

    def set_over_voltage_limit(self, limit_V: float | None) -> None:
        """Arm (or disarm with None) the over-voltage monitor at `limit_V` (Table 103)."""
        self.update()
        self.ovm_limit_V = None if limit_V is None else float(limit_V)
        self._check_over_voltage()

    def _check_over_voltage(self) -> None:
        limit = self.ovm_limit_V
        if limit is not None and "over_voltage" not in self.faults and self.psu_voltage_V > limit:
            self._raise_fault("over_voltage", {"voltage_V": self.psu_voltage_V})

    # --- meter --------------------------------------------------------------------------------

    def meter_values(self) -> tuple[float, float, float, float, float]:
        """(import Wh, export Wh, power W, voltage V, current A) at the EVSE output."""
        self.update()
        if self.ac_current_A > 0:
            return (self.energy_import_Wh, self.energy_export_Wh, self.meter_power_W,
                    self.config.evse.ac_voltage_V, self.ac_current_A)
        return (self.energy_import_Wh, self.energy_export_Wh, self.meter_power_W,
                self.psu_voltage_V, self.psu_current_A if self.evse_contactor else 0.0)

    # --- fault injection ----------------------------------------------------------------------

    def inject(self, fault: str, **params: Any) -> None:
        """Raise a fault: imd_fault(mode, resistance_Ohm), over_voltage(voltage_V),
        psu_fault(detail), lock_failure(mode), cp_short, cp_open, missing_diode, unplug, rcd_trip,
        contactor_welded, ev_overdraw."""
        if fault not in FAULTS:
            raise ValueError(f"unknown sim fault {fault!r}; known: {', '.join(FAULTS)}")
        unknown = set(params) - set(FAULTS[fault])
        if unknown:
            raise ValueError(f"fault {fault!r} takes {list(FAULTS[fault]) or 'no parameters'}, got {sorted(unknown)}")
        self.update()
        self._raise_fault(fault, self._fault_defaults(fault, params))

    def _raise_fault(self, fault: str, params: dict[str, Any]) -> None:
        if fault == "unplug":
            self.unplug()
        self.faults[fault] = params
        if fault == "rcd_trip" and self.evse_contactor:
            self.evse_contactor = False
            self.emit("bsp", "relay", False, "rcd trip")
        if fault == "psu_fault":  # the supply trips: output collapses at once
            self.psu_mode, self.psu_v_set, self.psu_i_set = "off", 0.0, 0.0
            self.psu_v_cmd = self.psu_i_cmd = 0.0
            physics.step(self, 0.0)
        detail = ", ".join(f"{k}={v}" for k, v in params.items())
        for source in _FAULT_SOURCES[fault]:
            self.emit(source, "fault", fault, detail)
        self._refresh_cp()

    def _fault_defaults(self, fault: str, params: dict[str, Any]) -> dict[str, Any]:
        out = dict(params)
        if fault == "imd_fault":
            out.setdefault("mode", "insulation")
            if out["mode"] not in ("insulation", "device"):
                raise ValueError(f"imd_fault mode must be 'insulation' or 'device', got {out['mode']!r}")
            out.setdefault("resistance_Ohm", self.config.imd.fault_resistance_Ohm)
        elif fault == "over_voltage":
            base = self.ovm_limit_V or self.config.power_supply.max_export_voltage_V
            out.setdefault("voltage_V", round(base * 1.1, 1))
        elif fault == "lock_failure":
            out.setdefault("mode", "lock")
            if out["mode"] not in ("lock", "unlock", "both"):
                raise ValueError(f"lock_failure mode must be 'lock', 'unlock' or 'both', got {out['mode']!r}")
        return out

    def clear(self, fault: str) -> bool:
        """Remove a fault; True if it was active. Clearing "unplug" plugs the cable back in."""
        if fault not in FAULTS:
            raise ValueError(f"unknown sim fault {fault!r}; known: {', '.join(FAULTS)}")
        self.update()
        params = self.faults.pop(fault, None)
        if params is None:
            return False
        if fault == "unplug":
            self.plug_in()
        for source in _FAULT_SOURCES[fault]:
            self.emit(source, "fault_cleared", fault)
        self._refresh_cp()
        return True
