"""IEC 61851-1 pure functions: duty <-> current (charging-domain.md 1.3), CP levels (1.1, 1.2),
PP cable coding (1.7)."""
import pytest
from freev2g.model.enums import CPState

from freev2g_evse_board.pilot import (
    CurrentNotSignallable,
    DutyKind,
    PPStatus,
    cable_rating_from_pp,
    cp_plateau_V,
    cp_state_from_plateau,
    current_to_duty_pct,
    duty_to_current,
    ev_load_ohm,
    pp_resistor_for_rating,
)


@pytest.mark.parametrize(
    "duty, kind, current",
    [
        (0.0, DutyKind.NO_CHARGING, 0.0),
        (2.99, DutyKind.NO_CHARGING, 0.0),
        (3.0, DutyKind.DIGITAL, 0.0),
        (5.0, DutyKind.DIGITAL, 0.0),
        (7.0, DutyKind.DIGITAL, 0.0),
        (7.5, DutyKind.ERROR, 0.0),
        (8.0, DutyKind.CURRENT, 6.0),
        (9.99, DutyKind.CURRENT, 6.0),
        (10.0, DutyKind.CURRENT, 6.0),
        (50.0, DutyKind.CURRENT, 30.0),
        (85.0, DutyKind.CURRENT, 51.0),
        (85.5, DutyKind.CURRENT, 53.75),
        (90.0, DutyKind.CURRENT, 65.0),
        (96.0, DutyKind.CURRENT, 80.0),
        (96.5, DutyKind.CURRENT, 80.0),
        (97.0, DutyKind.CURRENT, 80.0),
        (97.01, DutyKind.NO_CHARGING, 0.0),
        (100.0, DutyKind.NO_CHARGING, 0.0),
    ],
)
def test_duty_to_current_table(duty, kind, current):
    meaning = duty_to_current(duty)
    assert meaning.kind is kind
    assert meaning.current_A == pytest.approx(current)
    assert meaning.allows_current == (kind is DutyKind.CURRENT)


def test_duty_just_above_85_is_52_5_A():
    assert duty_to_current(85.0 + 1e-9).current_A == pytest.approx(52.5, abs=1e-6)


@pytest.mark.parametrize(
    "current, duty",
    [(6, 10.0), (10, 16.667), (13, 21.667), (16, 26.667), (20, 33.333), (32, 53.333), (40, 66.667),
     (48, 80.0), (51, 85.0), (63, 89.2), (80, 96.0)],
)
def test_current_to_duty_worked_values(current, duty):
    assert current_to_duty_pct(current) == pytest.approx(duty, abs=1e-3)


def test_gap_between_51_and_52_5_clamps_to_51_A():
    for i in (51.0, 51.01, 52.0, 52.49):
        assert current_to_duty_pct(i) == pytest.approx(85.0)
        assert duty_to_current(current_to_duty_pct(i)).current_A == pytest.approx(51.0)
    # 52.5 A maps to exactly 85 %, which the EV reads on the lower branch: 51 A, never more
    assert current_to_duty_pct(52.5) == pytest.approx(85.0)
    assert duty_to_current(current_to_duty_pct(52.5)).current_A == pytest.approx(51.0)


def test_above_80_A_clamps_to_96_pct():
    assert current_to_duty_pct(80.0) == pytest.approx(96.0)
    assert current_to_duty_pct(200.0) == pytest.approx(96.0)


@pytest.mark.parametrize("current", [0.0, 5.99, -1.0])
def test_below_6_A_not_signallable(current):
    with pytest.raises(CurrentNotSignallable, match="6"):
        current_to_duty_pct(current)


@pytest.mark.parametrize("current", [6.0, 7.5, 13.0, 25.0, 50.9, 52.6, 60.0, 79.9])
def test_round_trip_current_duty_current(current):
    assert duty_to_current(current_to_duty_pct(current)).current_A == pytest.approx(current)


@pytest.mark.parametrize("bad", [-0.1, 100.1, float("nan"), "5", True])
def test_duty_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="duty_pct"):
        duty_to_current(bad)


@pytest.mark.parametrize(
    "letter, nominal_V", [(CPState.A, 12.0), (CPState.B, 9.0), (CPState.C, 6.0), (CPState.D, 3.0)]
)
def test_cp_plateaus_match_nominal_levels(letter, nominal_V):
    positive = cp_plateau_V(12.0, ev_load_ohm(letter))
    assert abs(positive - nominal_V) < 1.0  # tolerance +-1 V (1.2)
    assert cp_state_from_plateau(positive) is letter
    assert cp_plateau_V(-12.0, ev_load_ohm(letter)) == -12.0  # diode blocks the negative half


def test_missing_diode_pulls_negative_half_up():
    negative = cp_plateau_V(-12.0, ev_load_ohm(CPState.B), diode=False)
    assert -10.0 < negative < -8.0


@pytest.mark.parametrize(
    "volts, state",
    [(12.0, CPState.A), (10.6, CPState.A), (10.4, CPState.B), (7.6, CPState.B), (7.4, CPState.C),
     (4.6, CPState.C), (4.4, CPState.D), (1.6, CPState.D), (1.4, CPState.E), (0.0, CPState.E),
     (-1.6, CPState.F), (-12.0, CPState.F)],
)
def test_state_bands(volts, state):
    assert cp_state_from_plateau(volts) is state


@pytest.mark.parametrize(
    "rc, status, rating",
    [(3000, PPStatus.NO_CABLE, 0.0), (2200, PPStatus.CABLE, 13.0), (1500, PPStatus.CABLE, 13.0),
     (1000, PPStatus.CABLE, 13.0), (999, PPStatus.CABLE, 20.0), (680, PPStatus.CABLE, 20.0),
     (330, PPStatus.CABLE, 20.0), (329, PPStatus.CABLE, 32.0), (220, PPStatus.CABLE, 32.0),
     (150, PPStatus.CABLE, 32.0), (149, PPStatus.CABLE, 63.0), (100, PPStatus.CABLE, 63.0),
     (75, PPStatus.CABLE, 63.0), (74, PPStatus.SHORT, 0.0)],
)
def test_pp_table(rc, status, rating):
    coding = cable_rating_from_pp(rc)
    assert (coding.status, coding.rating_A) == (status, rating)


def test_pp_nominal_resistor_for_rating():
    assert pp_resistor_for_rating(32) == 220.0
    assert pp_resistor_for_rating(40) == 220.0  # largest standard cable not above 40 A
    assert pp_resistor_for_rating(63) == 100.0
    with pytest.raises(ValueError, match="13 A"):
        pp_resistor_for_rating(10)
