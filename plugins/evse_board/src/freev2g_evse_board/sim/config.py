"""Configuration of the simulated board: one attrs class per part, structured from the
`[board.options.sim]` table (EVSE side) or the EV's board options (EV side).

Errors name the offending key. Numbers default to a 150 kW / 1000 V DC charger with a 32 A
three-phase AC output, and a 60 kWh ~400 V EV.
"""
from __future__ import annotations

from typing import Any

import cattrs
from attrs import field, frozen
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from freev2g.config import make_converter


class SimConfigError(ValueError):
    """Bad sim board options; the message names the key."""


def _non_negative(_inst, attribute, value) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _positive(_inst, attribute, value) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _positive_or_none(_inst, attribute, value) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be > 0 (or left out: instant), got {value!r}")


@frozen(kw_only=True)
class EvseSideConfig:
    """CP generator, AC output, PP (charging-domain.md 1.1, 1.7)."""

    ac_voltage_V: float = field(default=230.0, validator=_positive)  # phase to neutral
    ac_phases: int = field(default=3, validator=_positive)
    max_current_A: float = field(default=32.0, validator=_positive)  # BSP capability
    fixed_cable: bool = False  # True: PP not applicable (cable_rating_A() -> None)
    diode_fault_above_V: float = -10.0
    # cable/inlet side with both contactors open: falls at this rate (inlet capacitance and its
    # discharge resistor); left out = at once (0 V as soon as nothing holds it up)
    cable_discharge_V_per_s: float | None = field(default=None, validator=_positive_or_none)


@frozen(kw_only=True)
class PowerSupplyConfig:
    """DC supply limits and dynamics (charging-domain.md 5)."""

    max_export_voltage_V: float = field(default=1000.0, validator=_positive)
    min_export_voltage_V: float = field(default=150.0, validator=_non_negative)
    max_export_current_A: float = field(default=200.0, validator=_positive)
    max_export_power_W: float = field(default=150_000.0, validator=_positive)
    max_import_current_A: float = field(default=0.0, validator=_non_negative)  # > 0: bidirectional
    max_import_power_W: float = field(default=0.0, validator=_non_negative)
    ramp_V_per_s: float = field(default=500.0, validator=_positive)
    ramp_A_per_s: float = field(default=200.0, validator=_positive)
    discharge_V_per_s: float = field(default=1000.0, validator=_positive)  # output discharge when off


@frozen(kw_only=True)
class ImdConfig:
    resistance_F_Ohm: float = field(default=5e6, validator=_positive)
    resistance_N_Ohm: float = field(default=5e6, validator=_positive)
    self_test_time_s: float = field(default=2.0, validator=_non_negative)
    measure_time_s: float = field(default=0.2, validator=_non_negative)
    fault_resistance_Ohm: float = field(default=50e3, validator=_positive)  # default for imd_fault


@frozen(kw_only=True)
class LockConfig:
    lock_time_s: float = field(default=0.3, validator=_non_negative)
    unlock_time_s: float = field(default=0.3, validator=_non_negative)


def _default_ocv() -> tuple[tuple[float, float], ...]:
    return ((0.0, 320.0), (10.0, 345.0), (50.0, 370.0), (90.0, 392.0), (100.0, 405.0))


def _ocv_converter(value: Any) -> tuple[tuple[float, float], ...]:
    points = tuple((float(s), float(v)) for s, v in value)
    if len(points) < 2:
        raise ValueError("ocv_curve needs at least two (soc_pct, voltage_V) points")
    socs = [s for s, _ in points]
    if socs != sorted(socs) or len(set(socs)) != len(socs) or socs[0] > 0.0 or socs[-1] < 100.0:
        raise ValueError("ocv_curve soc points must rise strictly and span 0..100 %")
    return points


@frozen(kw_only=True)
class BatteryConfig:
    """EV traction battery: OCV curve, internal resistance, CC/CV taper, DC and AC limits."""

    capacity_Wh: float = field(default=60_000.0, validator=_positive)
    soc_pct: float = field(default=30.0, validator=_non_negative)
    ocv_curve: tuple[tuple[float, float], ...] = field(factory=_default_ocv, converter=_ocv_converter)
    internal_resistance_Ohm: float = field(default=0.05, validator=_positive)
    max_voltage_V: float = field(default=410.0, validator=_positive)  # CV voltage
    max_charge_current_A: float = field(default=200.0, validator=_positive)
    max_charge_power_W: float = field(default=120_000.0, validator=_positive)
    max_discharge_current_A: float = field(default=100.0, validator=_non_negative)
    max_discharge_power_W: float = field(default=40_000.0, validator=_non_negative)
    cv_start_soc_pct: float = field(default=80.0, validator=_non_negative)  # taper starts here
    min_taper_current_pct: float = field(default=5.0, validator=_non_negative)  # of max at 100 %


@frozen(kw_only=True)
class EvSideConfig:
    """EV inlet side: diode, onboard charger (AC), default cable."""

    diode_drop_V: float = field(default=0.7, validator=_non_negative)
    max_ac_current_A: float = field(default=32.0, validator=_positive)
    max_ac_phases: int = field(default=3, validator=_positive)
    max_ac_power_W: float = field(default=22_000.0, validator=_positive)
    obc_efficiency: float = field(default=0.93, validator=_positive)
    default_cable_rating_A: float = field(default=32.0, validator=_positive)


@frozen(kw_only=True)
class SimConfig:
    evse: EvseSideConfig = field(factory=EvseSideConfig)
    power_supply: PowerSupplyConfig = field(factory=PowerSupplyConfig)
    imd: ImdConfig = field(factory=ImdConfig)
    lock: LockConfig = field(factory=LockConfig)
    battery: BatteryConfig = field(factory=BatteryConfig)
    ev: EvSideConfig = field(factory=EvSideConfig)
    max_step_s: float = field(default=1.0, validator=_positive)  # lazy-integration sub-step


EVSE_SECTIONS = ("evse", "power_supply", "imd", "lock", "max_step_s")
EV_SECTIONS = ("battery", "ev")


def _problems(exc: BaseException, where: str) -> list[str]:
    def fmt(e: BaseException, type_: Any) -> str:
        if isinstance(e, ValueError) and not isinstance(e, cattrs.errors.BaseValidationError):
            return str(e)  # our validators name the field and the value
        return cattrs.v.format_exception(e, type_)

    return cattrs.transform_error(exc, path=where, format_exception=fmt)


def parse_sim_config(options: dict[str, Any] | None, *, where: str = "board.options.sim") -> SimConfig:
    """Structure a driver options table into SimConfig; raises SimConfigError naming the key."""
    if not options:
        return SimConfig()
    if not isinstance(options, dict):
        raise SimConfigError(f"{where}: expected a table, got {type(options).__name__}")
    try:
        return make_converter().structure(options, SimConfig)
    except (ClassValidationError, ForbiddenExtraKeysError) as exc:
        raise SimConfigError("; ".join(_problems(exc, where))) from exc
    except (TypeError, ValueError) as exc:
        raise SimConfigError(f"{where}: {exc}") from exc
