"""The energy manager's allocator (core/energy/allocator.py): a pure function, tested on numbers."""
import math

import pytest

from freev2g.energy.allocator import Consumer, GridLimit, allocate


def ac(i, *, active=True, max_A=32.0, phases=3, priority=0, min_A=6.0):
    return Consumer(evse_index=i, active=active, max_A=max_A, phases=phases, priority=priority, min_A=min_A)


def test_two_cars_share_the_grid_limit_equally():
    out = allocate(GridLimit(max_A=32.0), [ac(1), ac(2)])
    assert (out[1].limit_A, out[2].limit_A) == (16.0, 16.0)
    assert out[1].reason == out[2].reason == "share"
    assert out[1].limit_W == pytest.approx(16 * 230 * 3)


def test_an_idle_evse_gets_nothing_and_the_other_gets_its_own_limit():
    out = allocate(GridLimit(max_A=32.0), [ac(1, active=False), ac(2, max_A=20.0)])
    assert out[1].limit_A == 0.0 and out[1].reason == "idle"
    assert out[2].limit_A == 20.0 and out[2].reason == "own limit"


def test_an_evse_capped_below_its_share_leaves_the_rest_to_the_others():
    out = allocate(GridLimit(max_A=40.0), [ac(1, max_A=10.0), ac(2), ac(3)])
    assert out[1].limit_A == 10.0
    assert out[2].limit_A == out[3].limit_A == 15.0


def test_higher_priority_is_served_first():
    out = allocate(GridLimit(max_A=40.0), [ac(1, priority=0), ac(2, priority=5)])
    assert out[2].limit_A == 32.0 and out[2].reason == "own limit"
    assert out[1].limit_A == 8.0


def test_below_the_minimum_current_an_evse_gets_zero_and_the_others_its_share():
    out = allocate(GridLimit(max_A=16.0), [ac(1), ac(2), ac(3)])  # 5.3 A each is below 6 A
    assert out[3].limit_A == 0.0 and out[3].reason == "below minimum"
    assert out[1].limit_A == out[2].limit_A == 8.0


def test_the_watt_limit_counts_phases():
    # 11 kW grid: a 3-phase and a 1-phase EVSE at the same current use 4 x 230 W per A
    out = allocate(GridLimit(max_W=11_040.0), [ac(1), ac(2, phases=1)])
    assert out[1].limit_A == out[2].limit_A == 12.0
    assert out[1].limit_W + out[2].limit_W <= 11_040.0


def test_both_limits_hold_and_the_sum_never_exceeds_them():
    consumers = [ac(1, max_A=13.0), ac(2, phases=1), Consumer(evse_index=3, active=True, max_W=50_000.0)]
    out = allocate(GridLimit(max_A=50.0, max_W=20_000.0), consumers)
    assert sum(a.limit_A for a in out.values()) <= 50.0
    assert sum(a.limit_W for a in out.values()) <= 20_000.0
    # the W limit binds first: 20 kW / (690 + 230 + 690) W per A = 12.42 A each, rounded down
    assert out[1].limit_A == out[2].limit_A == out[3].limit_A == 12.4
    out = allocate(GridLimit(max_A=40.0, max_W=40_000.0), consumers)
    assert out[1].limit_A == 13.0 and out[1].reason == "own limit"  # now the A limit binds: 13 + 13.5 + 13.5
    assert out[2].limit_A == out[3].limit_A == 13.5


def test_no_grid_limit_leaves_each_evse_its_own_cap():
    out = allocate(GridLimit(), [ac(1, max_A=32.0), Consumer(evse_index=2, active=True)])
    assert out[1].limit_A == 32.0
    assert math.isinf(out[2].limit_A)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="evse 1 given twice"):
        allocate(GridLimit(), [ac(1), ac(1)])
    with pytest.raises(ValueError, match="evse 2: phases must be 1, 2 or 3"):
        ac(2, phases=4)
    with pytest.raises(ValueError, match="max_A must be >= 0"):
        GridLimit(max_A=-1.0)
