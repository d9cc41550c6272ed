"""One integration sub-step of the sim's electrical model (lazy integration, see model.py).

What flows where (charging-domain.md 1.3, 5.4):
- DC: the supply output reaches the battery only with the EVSE and the EV contactor both closed
  and the cable plugged. The supply is a current-limited voltage source (ramped commands), the
  battery an OCV behind its internal resistance, so I = min(I_cmd, (V_cmd - OCV) / R, P_max / V).
- AC: current flows only in CP state C/D with the EVSE contactor closed, and is
  min(PWM-signalled current, or the EV's own (HLC) request at 5 %, EV max, cable rating,
  BSP max), then limited by what the onboard charger and the battery accept.
- The meter integrates the power at the EVSE output; the battery integrates stored energy and
  its I^2 R heat; the onboard charger loss is kept separately. They balance exactly.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from freev2g.model.enums import CPState

from ..pilot import DutyKind, duty_to_current

if TYPE_CHECKING:  # pragma: no cover
    from .model import SimModel

_ACTIVE_MODES = ("export", "import", "precharge", "cable_check")


def _toward(value: float, target: float, max_delta: float) -> float:
    if value < target:
        return min(target, value + max_delta)
    return max(target, value - max_delta)


def ramp_supply(m: "SimModel", dt_s: float) -> None:
    """Move the supply's internal voltage/current commands toward the setpoints."""
    cfg = m.config.power_supply
    if m.psu_mode in _ACTIVE_MODES and "psu_fault" not in m.faults:
        m.psu_v_cmd = _toward(m.psu_v_cmd, m.psu_v_set, cfg.ramp_V_per_s * dt_s)
        m.psu_i_cmd = _toward(m.psu_i_cmd, m.psu_i_set, cfg.ramp_A_per_s * dt_s)
    else:
        m.psu_v_cmd = _toward(m.psu_v_cmd, 0.0, cfg.discharge_V_per_s * dt_s)
        m.psu_i_cmd = 0.0


def dc_path_closed(m: "SimModel") -> bool:
    return m.plugged and m.evse_contactor and m.ev_contactor


def dc_operating_point(m: "SimModel", dt_s: float) -> tuple[float, float]:
    """(output voltage, output current) of the supply; current positive = into the EV."""
    cfg = m.config.power_supply
    bat = m.battery
    R = bat.config.internal_resistance_Ohm
    ocv = bat.ocv_V()
    active = m.psu_mode in _ACTIVE_MODES and "psu_fault" not in m.faults
    if not dc_path_closed(m):
        return (m.psu_v_cmd, 0.0)
    low_A, high_A = bat.current_bounds_A(dt_s)
    if not active:
        return (max(m.psu_v_cmd, ocv), 0.0)  # the battery holds the output node up
    if m.psu_mode == "import":
        floor_V = m.psu_v_cmd
        i = min(m.psu_i_cmd, cfg.max_import_current_A)
        if floor_V > 0:
            i = min(i, max(0.0, (ocv - floor_V) / R))
        if cfg.max_import_power_W > 0:
            i = min(i, cfg.max_import_power_W / max(ocv, 1.0))
        i = min(i, -low_A)
        return (ocv - i * R, -i)
    v = m.psu_v_cmd
    i = min(m.psu_i_cmd, max(0.0, (v - ocv) / R), cfg.max_export_power_W / max(v, ocv, 1.0))
    i = max(0.0, min(i, high_A))
    return (ocv + i * R, i)


def ac_operating_point(m: "SimModel", dt_s: float) -> tuple[float, int, float]:
    """(current per phase, phases, power stored in the battery) of the AC path."""
    ev_cfg = m.config.ev
    evse_cfg = m.config.evse
    # Cheap conditions first: the CP state (plateau arithmetic) is only needed when the EV draws
    # AC at all; in DC every sub-step used to pay for it (bench/bench_sessions.py profile).
    if not (m.plugged and m.evse_contactor) or m.ac_request_A <= 0.0 or "rcd_trip" in m.faults:
        return (0.0, 0, 0.0)
    if m.cp_state() not in (CPState.C, CPState.D):
        return (0.0, 0, 0.0)
    meaning = duty_to_current(m.duty_pct) if m.generator == "pwm" else None
    if meaning is None or meaning.kind in (DutyKind.NO_CHARGING, DutyKind.ERROR):
        return (0.0, 0, 0.0)
    signalled_A = meaning.current_A if meaning.kind is DutyKind.CURRENT else m.ac_request_A
    if "ev_overdraw" in m.faults:  # a faulty onboard charger: the duty's current is not followed
        signalled_A = m.ac_request_A
    cable_A = m.cable_rating_A()
    limits = [m.ac_request_A, signalled_A, ev_cfg.max_ac_current_A, evse_cfg.max_current_A]
    if cable_A is not None:
        limits.append(cable_A)
    current_A = max(0.0, min(limits))
    phases = max(1, min(m.ac_request_phases, evse_cfg.ac_phases, ev_cfg.max_ac_phases, m.evse_phases))
    grid_W = evse_cfg.ac_voltage_V * current_A * phases
    eff = min(1.0, ev_cfg.obc_efficiency)
    bat = m.battery
    accept_W = min(ev_cfg.max_ac_power_W, bat.charge_current_limit_A() * bat.ocv_V(), bat.power_bounds_W(dt_s)[1])
    stored_W = min(grid_W * eff, max(0.0, accept_W))
    if stored_W < grid_W * eff:  # the onboard charger backs off: less current from the grid
        current_A = stored_W / eff / (evse_cfg.ac_voltage_V * phases)
    return (current_A, phases if current_A > 0 else 0, stored_W)


def cable_side(m: "SimModel", dt_s: float) -> float:
    """Voltage on the cable side of the EVSE contactor (the EV inlet): the supply output through
    a closed EVSE contactor, else the battery through a closed EV contactor, else the inlet
    capacitance discharging at `evse.cable_discharge_V_per_s` (None: at once)."""
    if not m.plugged:
        return 0.0
    if m.evse_contactor:
        return m.psu_voltage_V
    if m.ev_contactor:
        return m.battery.ocv_V()
    rate = m.config.evse.cable_discharge_V_per_s
    return 0.0 if rate is None else max(0.0, m.cable_V - rate * dt_s)


def step(m: "SimModel", dt_s: float) -> None:
    """Advance the model by `dt_s` seconds (one sub-step, operating point held constant)."""
    ramp_supply(m, dt_s)
    v, i = dc_operating_point(m, dt_s)
    if "psu_fault" in m.faults:
        v, i = (0.0, 0.0) if not dc_path_closed(m) else (m.battery.ocv_V(), 0.0)
    m.psu_voltage_V, m.psu_current_A = v, i
    m.cable_V = cable_side(m, dt_s)
    ac_A, ac_phases, ac_stored_W = ac_operating_point(m, dt_s)
    m.ac_current_A, m.ac_phases = ac_A, ac_phases
    ac_grid_W = m.config.evse.ac_voltage_V * ac_A * ac_phases
    dc_W = v * i if dc_path_closed(m) else 0.0
    m.meter_power_W = dc_W + ac_grid_W
    if m.meter_power_W > 0:
        m.energy_import_Wh += m.meter_power_W * dt_s / 3600.0
    elif m.meter_power_W < 0:
        m.energy_export_Wh += -m.meter_power_W * dt_s / 3600.0
    if dc_W:
        m.battery.apply_current(i, dt_s)
    if ac_grid_W:
        m.battery.apply_power(ac_stored_W, dt_s)
        m.ac_loss_Wh += (ac_grid_W - ac_stored_W) * dt_s / 3600.0
