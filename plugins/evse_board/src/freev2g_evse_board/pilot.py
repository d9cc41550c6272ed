"""IEC 61851-1 control pilot and proximity pilot as pure functions.

charging-domain.md 1.1 (CP circuit), 1.2 (CP states and levels), 1.3 (duty <-> current),
1.7 (PP cable coding). No state, no I/O: the sim model, the serial emulator and the EvseManager
all use these.
"""
from __future__ import annotations

import math
from enum import Enum

from attrs import frozen
from freev2g.model.enums import CPState

# --- 1.1 CP circuit ------------------------------------------------------------------------

CP_HIGH_V = 12.0
CP_LOW_V = -12.0
CP_SOURCE_RESISTANCE_OHM = 1000.0
EV_R2_OHM = 2740.0  # always connected: state B
EV_R3_C_OHM = 1300.0  # via S2, no ventilation: state C
EV_R3_D_OHM = 270.0  # via S2, ventilation: state D
EV_DIODE_DROP_V = 0.7  # silicon diode; makes B/C/D read ~9/6/3 V at the EVSE
DIODE_FAULT_ABOVE_V = -10.0  # negative plateau above this = diode missing/shorted [impl, EVerest]


def _parallel(a: float, b: float) -> float:
    return a * b / (a + b)


def ev_load_ohm(state: CPState) -> float | None:
    """EV-side load between CP and PE for the letter the EV presents (1.1); None = open (A)."""
    if state is CPState.A:
        return None
    if state is CPState.B:
        return EV_R2_OHM
    if state is CPState.C:
        return _parallel(EV_R2_OHM, EV_R3_C_OHM)
    if state is CPState.D:
        return _parallel(EV_R2_OHM, EV_R3_D_OHM)
    raise ValueError(f"the EV presents A, B, C or D, not {state.value!r}")


def cp_plateau_V(
    generator_V: float,
    load_Ohm: float | None,
    *,
    diode: bool = True,
    diode_drop_V: float = EV_DIODE_DROP_V,
    source_Ohm: float = CP_SOURCE_RESISTANCE_OHM,
) -> float:
    """Voltage on the CP wire while the generator drives `generator_V` through its 1 kOhm
    source resistor into the EV load (1.1). The EV diode conducts only for a positive
    generator voltage above its drop; with it missing the load also pulls the negative half."""
    if load_Ohm is None:
        return generator_V
    if diode:
        if generator_V <= diode_drop_V:
            return generator_V  # diode blocks: no current, no drop over the source resistor
        current_A = (generator_V - diode_drop_V) / (source_Ohm + load_Ohm)
    else:
        current_A = generator_V / (source_Ohm + load_Ohm)
    return generator_V - current_A * source_Ohm


def cp_state_from_plateau(positive_V: float) -> CPState:
    """Classify the positive plateau (1.2: A 12, B 9, C 6, D 3, E 0 V, tolerance +-1 V; the
    bands here split the gaps in the middle so every voltage maps to one state)."""
    if positive_V > 10.5:
        return CPState.A
    if positive_V > 7.5:
        return CPState.B
    if positive_V > 4.5:
        return CPState.C
    if positive_V > 1.5:
        return CPState.D
    if positive_V > -1.5:
        return CPState.E
    return CPState.F


# --- 1.3 duty <-> current -------------------------------------------------------------------


class DutyKind(str, Enum):
    NO_CHARGING = "no_charging"  # D < 3 % or D > 97 % (incl. 0 % and 100 % = X1)
    DIGITAL = "digital"  # 3 % <= D <= 7 %: use high-level communication
    ERROR = "error"  # 7 % < D < 8 %
    CURRENT = "current"  # 8 % <= D <= 97 %: current_A is the limit


@frozen
class DutyMeaning:
    """What the EV reads from a duty cycle (charging-domain.md 1.3, EV-side table)."""

    kind: DutyKind
    current_A: float = 0.0

    @property
    def allows_current(self) -> bool:
        return self.kind is DutyKind.CURRENT


def _check_number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def duty_to_current(duty_pct: float) -> DutyMeaning:
    """EV-side interpretation of a duty cycle in % (1.3)."""
    d = _check_number("duty_pct", duty_pct)
    if d < 0.0 or d > 100.0:
        raise ValueError(f"duty_pct must be within 0..100, got {duty_pct!r}")
    if d < 3.0 or d > 97.0:
        return DutyMeaning(DutyKind.NO_CHARGING)
    if d <= 7.0:
        return DutyMeaning(DutyKind.DIGITAL)
    if d < 8.0:
        return DutyMeaning(DutyKind.ERROR)
    if d < 10.0:
        return DutyMeaning(DutyKind.CURRENT, 6.0)
    if d <= 85.0:
        return DutyMeaning(DutyKind.CURRENT, d * 0.6)
    if d <= 96.0:
        return DutyMeaning(DutyKind.CURRENT, (d - 64.0) * 2.5)
    return DutyMeaning(DutyKind.CURRENT, 80.0)


class CurrentNotSignallable(ValueError):
    """Below 6 A no PWM duty means a current: use X1, or 5 % with HLC (1.3)."""


PWM_MIN_CURRENT_A = 6.0
PWM_MAX_CURRENT_A = 80.0
DIGITAL_DUTY_PCT = 5.0


def current_to_duty_pct(current_A: float) -> float:
    """EVSE-side duty to signal a current limit (1.3, EVSE-side table).

    The 51..52.5 A gap clamps down to 51 A (85 %) [impl, EVerest]; above 80 A clamps to 80 A
    (96 %). Below 6 A raises CurrentNotSignallable."""
    i = _check_number("current_A", current_A)
    if i < PWM_MIN_CURRENT_A:
        raise CurrentNotSignallable(
            f"{i} A is below {PWM_MIN_CURRENT_A} A and cannot be signalled with PWM; use X1 or 5 % (HLC)"
        )
    if i <= 51.0:
        return i / 0.6
    if i < 52.5:
        return 85.0
    if i <= PWM_MAX_CURRENT_A:
        return i / 2.5 + 64.0
    return PWM_MAX_CURRENT_A / 2.5 + 64.0


# --- 1.7 proximity pilot --------------------------------------------------------------------


class PPStatus(str, Enum):
    CABLE = "cable"
    NO_CABLE = "no_cable"  # open / above the 13 A window
    SHORT = "short"  # below the 63 A window: error


@frozen
class CableCoding:
    status: PPStatus
    rating_A: float = 0.0


# (upper bound of the window in Ohm, rating in A), narrowest first; windows per Phoenix Contact /
# IEC table in charging-domain.md 1.7. A value on a shared edge belongs to the lower rating.
_PP_WINDOWS: tuple[tuple[float, float, float], ...] = (
    (1000.0, 2200.0, 13.0),
    (330.0, 1000.0, 20.0),
    (150.0, 330.0, 32.0),
    (75.0, 150.0, 63.0),
)
PP_NOMINAL_OHM: dict[float, float] = {13.0: 1500.0, 20.0: 680.0, 32.0: 220.0, 63.0: 100.0}


def cable_rating_from_pp(rc_Ohm: float) -> CableCoding:
    """Decode the PP resistor Rc of a Type 2 cable (1.7). Values on a window edge take the lower
    ampacity, as EVerest does for values between windows."""
    rc = _check_number("rc_Ohm", rc_Ohm)
    if rc < 75.0:
        return CableCoding(PPStatus.SHORT)
    if rc > 2200.0:
        return CableCoding(PPStatus.NO_CABLE)
    for low, high, rating in _PP_WINDOWS:
        if low <= rc <= high:
            return CableCoding(PPStatus.CABLE, rating)
    raise AssertionError(f"PP windows leave {rc} Ohm uncovered")  # pragma: no cover


def pp_resistor_for_rating(rating_A: float) -> float:
    """Nominal Rc of the largest standard cable whose rating does not exceed `rating_A`."""
    r = _check_number("cable_rating_A", rating_A)
    fitting = [a for a in PP_NOMINAL_OHM if a <= r]
    if not fitting:
        raise ValueError(f"no Type 2 cable rating at or below {rating_A} A (smallest is 13 A)")
    return PP_NOMINAL_OHM[max(fitting)]
