"""Issue #12 item 9: freev2g's EV asks for what its battery takes (CC/CV within the EVSE's
announced limits), not for its maxima; explicit targets in the car config still win. Both hosts
through two emulators (HCI legs in memory, virtual time); the EVSE application announces
500 V / 100 A / 50 kW (wb_evse_app.py) and records every charge-loop request it gets."""
from __future__ import annotations

import attrs

from freev2g.model.enums import EnergyTransferMode, StopCause
from freev2g_whitebeet.host.ev_board import WhitebeetEvBoard

from wb_evse_app import EvseApp
from wb_pair import Pair, car

EVSE_MAX_V, EVSE_MAX_A, EVSE_MAX_W = 500.0, 100.0, 50_000.0  # what EvseApp announces


def loop_requests(tmp_path, virtual_loop, *, cfg=None, cv_voltage_V=None):
    app = EvseApp()

    async def main():
        pair = Pair(str(tmp_path / "cable.sock"), app, cfg=cfg or car(start_soc_pct=79.0))
        if cv_voltage_V is not None:  # the car's battery has a CV voltage (as the sim battery does)
            pair.board = WhitebeetEvBoard(pair.board.link, clock=pair.clock, capacity_Wh=pair.cfg.battery.capacity_Wh,
                                          start_soc_pct=pair.cfg.battery.start_soc_pct, cv_voltage_V=cv_voltage_V)
            pair.ev.board = pair.board
        assert await pair.start(EnergyTransferMode.DC_EXTENDED)
        await pair.wait_finished()
        await pair.stop()
        return pair

    pair = virtual_loop(main())
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]
    loops = [e for e in app.events if type(e).__name__ == "DCChargeLoopRequest"]
    # the first CurrentDemandReq leaves the module before the host's first 0xA3: it still
    # carries the pre-charge targets (2 A at the battery voltage)
    charging = [e for e in loops[1:] if e.target_current_A > 0]
    assert charging, [type(e).__name__ for e in app.events]
    return pair, charging


def test_default_targets_stay_within_the_evse_limits(tmp_path, virtual_loop):
    pair, loops = loop_requests(tmp_path, virtual_loop)
    for e in loops:
        assert e.target_voltage_V <= EVSE_MAX_V, e
        assert e.target_current_A <= EVSE_MAX_A, e  # was the EV maximum, 250 A
        assert e.target_current_A * max(e.target_voltage_V, 400.0) <= EVSE_MAX_W + 1e-6, e
    assert max(e.target_current_A for e in loops) == EVSE_MAX_A  # CC at what the EVSE can give
    assert pair.ev.stop_cause is StopCause.SOC_REACHED


def test_default_target_voltage_is_the_battery_cv_voltage(tmp_path, virtual_loop):
    pair, loops = loop_requests(tmp_path, virtual_loop, cv_voltage_V=410.0)
    assert {e.target_voltage_V for e in loops} == {410.0}  # was the EV maximum, 450 V


def test_explicit_targets_in_the_car_config_win(tmp_path, virtual_loop):
    cfg = car(start_soc_pct=79.0)
    cfg = attrs.evolve(cfg, dc=attrs.evolve(cfg.dc, target_current_A=30.0, target_voltage_V=420.0))
    pair, loops = loop_requests(tmp_path, virtual_loop, cfg=cfg, cv_voltage_V=410.0)
    assert {e.target_current_A for e in loops} == {30.0}
    assert {e.target_voltage_V for e in loops} == {420.0}
