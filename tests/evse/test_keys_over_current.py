"""AC soft over-current (issue #16): an EV drawing above the signalled current plus noise plus
tolerance for longer than soft_over_current_timeout_ms is stopped with `over_current`.

Real sim board; the over-drawing EV is the sim's `ev_overdraw` fault (its charger ignores the
duty's current). Nothing is faked.
"""
from __future__ import annotations

import pytest

from freev2g.evse.states import EvseState
from freev2g.model.enums import CPState

AC = {"charge_mode": "AC", "max_current_import_A": 16.0}


async def _overdraw(h, draw_A: float) -> str:
    h.ev.plug_in()
    await h.settle(1.0)
    h.ev.set_cp_state(CPState.C)
    h.ev.set_ac_current_draw(draw_A, 3)
    await h.settle(0.5)
    assert h.bsp.contactor_closed()
    assert h.ev.ac_current_A() == pytest.approx(16.0, abs=0.1)  # a sound EV follows the 16 A duty
    h.model.inject("ev_overdraw")
    await h.settle(0.1)
    assert h.ev.ac_current_A() == pytest.approx(draw_A, abs=0.1)
    return h.session_id


@pytest.mark.parametrize("keys,stop_after_s", [
    ({}, 7.0),  # defaults: (16 + 0.5) * 1.1 = 18.15 A < 20 A, 7 s
    ({"soft_over_current_timeout_ms": 2000}, 2.0),
])
def test_over_current_stops_after_the_timeout(virtual_loop, make_harness, keys, stop_after_s):
    async def scenario():
        h = await make_harness(evse={**AC, **keys})
        sid = await _overdraw(h, 20.0)
        await h.settle(stop_after_s - 0.5)
        assert h.bsp.contactor_closed() and h.manager.state is EvseState.CHARGING  # still within the timeout
        await h.settle(1.0)
        assert not h.bsp.contactor_closed()
        assert h.ev.ac_current_A() == 0.0
        summary = h.journal.session(sid)
        assert summary.stop_cause == "over_current"
        fault = [e for e in h.events if e.kind == "FaultRaised"][-1]
        assert fault.cause.value == "over_current" and "20.0 A" in fault.detail and "18.15 A" in fault.detail
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("keys", [
    {"soft_over_current_tolerance_percent": 30.0},  # (16 + 0.5) * 1.3 = 21.45 A
    {"soft_over_current_measurement_noise_A": 3.0},  # (16 + 3) * 1.1 = 20.9 A
])
def test_tolerance_and_noise_allow_the_draw(virtual_loop, make_harness, keys):
    async def scenario():
        h = await make_harness(evse={**AC, **keys})
        sid = await _overdraw(h, 20.0)
        await h.settle(15.0)
        assert h.bsp.contactor_closed() and h.manager.state is EvseState.CHARGING
        assert h.ev.ac_current_A() == pytest.approx(20.0, abs=0.1)
        h.ev.unplug()
        await h.settle(0.5)
        assert h.journal.session(sid).stop_cause == "ev_unplugged"
        await h.station.stop()

    virtual_loop(scenario())


def test_short_over_draw_is_forgiven(virtual_loop, make_harness):
    """Above the limit for less than the timeout, then back: the timer restarts."""
    async def scenario():
        h = await make_harness(evse=AC)
        sid = await _overdraw(h, 20.0)
        await h.settle(5.0)
        h.model.clear("ev_overdraw")
        await h.settle(1.0)
        h.model.inject("ev_overdraw")
        await h.settle(5.0)
        assert h.bsp.contactor_closed()
        await h.settle(2.5)
        assert not h.bsp.contactor_closed()
        assert h.journal.session(sid).stop_cause == "over_current"
        await h.station.stop()

    virtual_loop(scenario())
