"""EvController against the EvLink event sequence: ISO15118_ev commands and variables (seed 000),
CP / contactor rules (charging-domain.md 3.6, 5.4, 5.5)."""
from __future__ import annotations

from enum import Enum

import attrs
import pytest

from freev2g.ev.config import BptLimits, EvConfig, EvQuirks
from freev2g.ev.controller import EvCommandError
from freev2g.ev.variables import DcEvBPTParameters, DcEvParameters, EvVar
from freev2g.model import CPState, EnergyTransferMode, EVErrorCode, EVSENotification, StopCause

DC = EnergyTransferMode.DC_EXTENDED
AC = EnergyTransferMode.AC_THREE_PHASE_CORE


def _record_vars(ev):
    seen = []
    ev.subscribe(lambda e: seen.append((e.name, e.value)))
    return seen


async def _run(ev, mode=DC, **kw):
    await ev.open()
    ev.plug_in()
    assert await ev.start_charging(mode, **kw)
    await ev.vars.wait_for(EvVar.V2G_SESSION_FINISHED, timeout_s=3600)


def test_dc_session_cp_contactor_and_soc_stop(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=78.0)
        seen = _record_vars(ev)
        await _run(ev)
        return ev, board, link, seen

    ev, board, link, seen = virtual_loop(main())
    cps = [e[1] for e in board.log if e[0] == "cp"]
    assert cps == [CPState.B, CPState.C, CPState.B]
    closes = [e for e in board.log if e[0] == "contactor" and e[1]]
    assert len(closes) == 1 and abs(closes[0][2] - board.battery_voltage_V()) < 25
    assert not board.contactor
    last = link.loop_targets[-1]
    assert last.stop and last.charging_complete and last.target_current_A == 0.0
    assert ev.stop_cause is StopCause.SOC_REACHED and ev.soc_pct() >= 80.0
    names = [n for n, _ in seen]
    assert names.count(EvVar.DC_POWER_ON) == 1
    assert (EvVar.EV_POWER_READY, True) in seen and (EvVar.EV_POWER_READY, False) in seen
    assert names[-1] is EvVar.V2G_SESSION_FINISHED
    assert names.index(EvVar.DC_POWER_ON) < names.index(EvVar.EV_POWER_READY)


def test_precharge_waits_for_inlet_within_tolerance(ev_parts, virtual_loop):
    cfg = EvConfig(quirks=EvQuirks(precharge_tolerance_V=5.0))

    async def main():
        ev, board, link = ev_parts(cfg, soc=79.5)
        await _run(ev)
        return board

    board = virtual_loop(main())
    close = next(e for e in board.log if e[0] == "contactor" and e[1])
    assert abs(close[2] - board.battery_voltage_V()) <= 5.5


def test_trust_evse_present_voltage_quirk_closes_on_reported_voltage(ev_parts, virtual_loop):
    cfg = EvConfig(quirks=EvQuirks(trust_evse_present_voltage=True))

    async def main():
        ev, board, link = ev_parts(cfg, soc=79.5)
        board.inlet_sensor_ok = False  # the inlet sensor reads nothing
        await _run(ev)
        return board

    board = virtual_loop(main())
    assert any(e[0] == "contactor" and e[1] for e in board.log)


def test_cp_state_d_quirk(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(EvConfig(quirks=EvQuirks(use_cp_state_d=True)), soc=79.5)
        await _run(ev)
        return board

    board = virtual_loop(main())
    assert CPState.D in [e[1] for e in board.log if e[0] == "cp"]


def test_ac_session_publishes_evse_max_current_and_draws_within_it(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=79.0, evse_max_current_A=16.0)
        seen = _record_vars(ev)
        await _run(ev, AC)
        return board, link, seen

    board, link, seen = virtual_loop(main())
    assert (EvVar.AC_EVSE_MAX_CURRENT, 16.0) in seen
    draws = [e for e in board.log if e[0] == "ac_draw" and e[1] > 0]
    assert draws and max(d[1] for d in draws) == 16.0
    assert board.ac_draw[0] == 0.0
    cps = [e[1] for e in board.log if e[0] == "cp"]
    assert cps[:2] == [CPState.B, CPState.C] and cps[-1] is CPState.B


def test_start_charging_converts_eamount_kwh_to_wh(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=79.9)
        await _run(ev, DC, EAmount=5.0, DepartureTime=3600)
        return link

    link = virtual_loop(main())
    first = link.requests[0]
    assert first.dc.ev_energy_request_Wh == 5000.0 and first.dc.departure_time_s == 3600


def test_start_charging_needs_plug_and_refuses_second_session(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=50.0)
        await ev.open()
        with pytest.raises(EvCommandError, match="not plugged"):
            await ev.start_charging(DC)
        ev.plug_in()
        assert await ev.start_charging(DC)
        with pytest.raises(EvCommandError, match="already running"):
            await ev.start_charging(DC)
        await ev.stop_charging()
        await ev.vars.wait_for(EvVar.V2G_SESSION_FINISHED, timeout_s=600)

    virtual_loop(main())


def test_stop_charging_command(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=20.0)
        await ev.open()
        ev.plug_in()
        await ev.start_charging(DC)
        await ev.vars.wait_for(EvVar.EV_POWER_READY, True, timeout_s=60)
        await ev.clock.sleep(5)
        await ev.stop_charging()
        await ev.vars.wait_for(EvVar.V2G_SESSION_FINISHED, timeout_s=60)
        return ev, board, link

    ev, board, link = virtual_loop(main())
    assert link.stops == []  # in the charge loop the next loop answer carries the stop
    assert link.loop_targets[-1].stop and not link.loop_targets[-1].charging_complete
    assert ev.stop_cause is StopCause.EV_STOP and not board.contactor and board.cp is CPState.B


def test_pause_then_resume(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=79.0)
        await ev.open()
        ev.plug_in()
        await ev.start_charging(DC)
        await ev.vars.wait_for(EvVar.EV_POWER_READY, True, timeout_s=60)
        await ev.pause_charging()
        finished = await ev.vars.wait_for(EvVar.V2G_SESSION_FINISHED, timeout_s=60)
        assert finished.value.paused and ev.phase == "paused"
        assert await ev.start_charging(DC)  # resume
        await ev.vars.wait_for(EvVar.V2G_SESSION_FINISHED, timeout_s=3600, already=False)
        return ev, link

    ev, link = virtual_loop(main())
    assert not link.stops and any(t.pause for t in link.loop_targets)
    first_loops = [i for i, t in enumerate(link.loop_targets) if t.pause]
    assert first_loops[0] >= 1  # never on the first loop request after PowerDelivery(Start) (3.1)
    assert ev.sessions_finished == 2 and ev.stop_cause is StopCause.SOC_REACHED


def test_set_fault_reports_error_and_stops(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=30.0)
        await ev.open()
        ev.plug_in()
        await ev.start_charging(DC)
        await ev.vars.wait_for(EvVar.EV_POWER_READY, True, timeout_s=60)
        await ev.set_fault(EVErrorCode.RESS_TEMPERATURE_INHIBIT)
        await ev.vars.wait_for(EvVar.V2G_SESSION_FINISHED, timeout_s=60)
        return ev, board, link

    ev, board, link = virtual_loop(main())
    last = link.loop_targets[-1]
    assert last.stop and not last.ev_status.ev_ready
    assert last.ev_status.error_code is EVErrorCode.RESS_TEMPERATURE_INHIBIT
    assert ev.stop_cause is StopCause.EV_FAULT and not board.contactor


def test_set_dc_params_changes_limits_and_targets(ev_parts, virtual_loop):
    params = DcEvParameters(max_current_limit_A=50.0, max_voltage_limit_V=420.0, max_power_limit_W=20_000.0,
                            target_current_A=40.0, target_voltage_V=410.0)

    async def main():
        ev, board, link = ev_parts(soc=79.8)
        ev.set_dc_params(params)
        await _run(ev)
        return link

    link = virtual_loop(main())
    dc = link.requests[0].dc
    assert (dc.ev_max_current_A, dc.ev_max_voltage_V, dc.ev_max_power_W) == (50.0, 420.0, 20_000.0)
    charging = [t for t in link.loop_targets if not t.stop]
    assert charging and all(t.target_current_A == 40.0 and t.target_voltage_V == 410.0 for t in charging)


def test_set_bpt_dc_params_discharges_to_min_soc(ev_parts, virtual_loop):
    cfg = EvConfig(bpt=BptLimits(discharge=True))

    async def main():
        ev, board, link = ev_parts(cfg, soc=31.0)
        ev.set_bpt_dc_params(DcEvBPTParameters(discharge_max_current_limit_A=25.0, discharge_max_power_limit_W=9000.0,
                                               discharge_minimal_soc_pct=30.0))
        await _run(ev, EnergyTransferMode.DC_BPT)
        return ev, link

    ev, link = virtual_loop(main())
    assert link.requests[0].bpt.ev_max_discharge_current_A == 25.0
    flowing = [t for t in link.loop_targets if not t.stop]
    assert flowing and all(-25.0 <= t.target_current_A < -20.0 for t in flowing)
    assert all(-t.target_current_A * (350 + 31.0 / 2) <= 9000.0 + 1 for t in flowing[:1])
    assert ev.soc_pct() <= 30.0 and ev.stop_cause is StopCause.SOC_REACHED


def test_enable_sae_j2847(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=79.9)
        with pytest.raises(EvCommandError):
            ev.enable_sae_j2847_v2g_v2h("V2X")
        ev.enable_sae_j2847_v2g_v2h("V2H")
        await _run(ev)
        return link

    link = virtual_loop(main())
    assert link.requests[0].j2847_mode == "V2H" and link.requests[0].bpt is not None


def test_update_soc(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=40.0)
        with pytest.raises(EvCommandError):
            ev.update_soc(101)
        ev.update_soc(79.9)
        assert board.soc == 79.9
        await _run(ev)
        return link

    link = virtual_loop(main())
    assert link.requests[0].dc.status.soc_pct == 79.9


def test_stop_from_charger(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=30.0, notify={5: EVSENotification.STOP_CHARGING})
        seen = _record_vars(ev)
        await _run(ev)
        return ev, seen

    ev, seen = virtual_loop(main())
    assert EvVar.STOP_FROM_CHARGER in [n for n, _ in seen]
    assert ev.stop_cause is StopCause.EVSE_STOP


def test_ignore_stop_notification_quirk(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(EvConfig(quirks=EvQuirks(ignore_stop_notification=True)), soc=79.5,
                                   notify={1: EVSENotification.STOP_CHARGING})
        await _run(ev)
        return ev

    assert virtual_loop(main()).stop_cause is StopCause.SOC_REACHED


def test_pause_from_charger(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=30.0, notify={3: EVSENotification.PAUSE})
        seen = _record_vars(ev)
        await _run(ev)
        return link, seen

    link, seen = virtual_loop(main())
    assert EvVar.PAUSE_FROM_CHARGER in [n for n, _ in seen]
    assert link.loop_targets[-1].pause


def test_renegotiation_notification_and_quirk(ev_parts, virtual_loop):
    async def main(quirks):
        ev, board, link = ev_parts(EvConfig(quirks=quirks), soc=79.0, notify={3: EVSENotification.RENEGOTIATION})
        await _run(ev)
        return link

    link = virtual_loop(main(EvQuirks()))
    assert sum(1 for t in link.loop_targets if t.renegotiate) == 1
    assert [r for r in link.requests[1:] if r is not None]  # parameters asked again
    link = virtual_loop(main(EvQuirks(ignore_renegotiation=True)))
    assert not any(t.renegotiate for t in link.loop_targets)


def test_unplug_while_charging_opens_contactor_and_aborts(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=30.0)
        await ev.open()
        ev.plug_in()
        await ev.start_charging(DC)
        await ev.vars.wait_for(EvVar.EV_POWER_READY, True, timeout_s=60)
        assert board.contactor
        await ev.unplug()
        finished = await ev.vars.wait_for(EvVar.V2G_SESSION_FINISHED, timeout_s=60)
        return ev, board, link, finished

    ev, board, link, finished = virtual_loop(main())
    assert board.cp is CPState.A and not board.contactor
    assert link.aborted == [StopCause.EV_UNPLUGGED] and finished.value.cause is StopCause.EV_UNPLUGGED


def test_go_silent_stops_answering(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=30.0)
        await ev.open()
        ev.plug_in()
        await ev.start_charging(DC)
        await ev.vars.wait_for(EvVar.EV_POWER_READY, True, timeout_s=60)
        ev.go_silent()
        n = len(link.loop_targets)
        await ev.clock.sleep(30)
        stalled = len(link.loop_targets) - n
        await ev.close()
        return stalled, board

    stalled, board = virtual_loop(main())
    assert stalled <= 1 and not board.contactor


def test_scale_needs_in_requests(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(attrs.evolve(EvConfig(), scale=True), soc=79.5)
        await _run(ev)
        return link

    scale = virtual_loop(main()).requests[0].dc.scale
    assert scale is not None and scale.ev_max_soc_pct == 100.0 and scale.ev_min_soc_pct == 20.0
    assert scale.ev_max_energy_request_Wh == pytest.approx(0.205 * 50_000)


def test_stop_outside_the_loop_asks_the_link(ev_parts, virtual_loop):
    async def main():
        ev, board, link = ev_parts(soc=30.0)
        await ev.open()
        ev.plug_in()
        await ev.start_charging(DC)
        assert ev.phase == "parameters"
        await ev.stop_charging()
        await ev.pause_charging()
        await ev.renegotiate()
        await ev.unplug()
        return link

    assert virtual_loop(main()).stops == [(False, False), (False, True), (True, False)]


def test_ac_evse_target_power_limits_the_draw(ev_parts, virtual_loop):
    from freev2g.ev.variables import AcTargetPower

    async def main():
        ev, board, link = ev_parts(soc=79.5, ac_target_power_W=6900.0)
        seen = _record_vars(ev)
        await _run(ev, AC)
        return board, seen

    board, seen = virtual_loop(main())
    assert (EvVar.AC_EVSE_TARGET_POWER, AcTargetPower(target_active_power_W=6900.0)) in seen
    draws = [e[1] for e in board.log if e[0] == "ac_draw" and e[1] > 0]
    assert draws[-1] == pytest.approx(6900.0 / (230.0 * 3))  # 10 A per phase, below the 32 A limits
