"""Every stop path ends with power off within the fact-sheet limits and the cause in the journal.

Limits (simulated time, from the moment the trigger is applied to the last contactor open):
  unplug / CP loss: 0.1 s (charging-domain.md 1.4 / 3.6 "stop immediately");
  over-voltage: 0.45 s (5.6, Table 104: > 400 ms -> error shutdown within 50 ms);
  IMD / PSU fault, EVSE/EV stop, remote stop: within the stop sequence, 5 s
  (loop period 0.25 s + PowerDelivery + current ramp-down, 4.3 / 5.7).
"""
from __future__ import annotations

import asyncio

import pytest

from freev2g.ev.scenario import (
    LinkTimeout, Pause, PlugIn, Renegotiate, Resume, Scenario, Sleep, StartCharging, Stop, Unplug, WaitFor,
)
from freev2g.ev.variables import EvVar
from freev2g.model import StopCause

POWERED = WaitFor(variable=EvVar.EV_POWER_READY, value=True, timeout_s=120)
FINISHED = WaitFor(variable=EvVar.V2G_SESSION_FINISHED, timeout_s=600)


def _sc(*steps):
    return Scenario(name="t", steps=steps)


def _off_after(out, t0):
    """Seconds from t0 until both contactors were last seen opening (None: never closed after t0)."""
    opens = [t for t, _source, closed in out.power_off_at if not closed and t >= t0]
    return (max(opens) - t0) if opens else 0.0


def _check_off(out):
    m = out.sim.model
    assert not m.evse_contactor and not m.ev_contactor
    assert abs(m.psu_current_A) < 0.5


def _cause(out):
    return out.finished().stop_cause


def test_ev_stop(run_sim):
    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), POWERED, Sleep(duration_s=5), Stop(), FINISHED, Unplug()),
                  ev_config=None)
    assert out.result.ok and _cause(out) == StopCause.EV_STOP.value
    _check_off(out)


def test_evse_remote_stop(run_sim):
    from freev2g.ev.scenario import RemoteStop

    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), POWERED, Sleep(duration_s=5), RemoteStop(), FINISHED, Unplug()),
                  ev_config=None)
    assert out.result.ok, out.result.scenario_error
    assert _cause(out) == StopCause.REMOTE_STOP.value
    assert out.result.ev_stop_cause == StopCause.EVSE_STOP.value
    _check_off(out)


def test_pause_and_resume(run_sim):
    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), POWERED, Sleep(duration_s=3), Pause(), FINISHED, Sleep(duration_s=10), Resume(),
                               WaitFor(variable=EvVar.EV_POWER_READY, value=True, timeout_s=120, fresh=True),
                               WaitFor(variable=EvVar.V2G_SESSION_FINISHED, timeout_s=600, fresh=True), Unplug()))
    assert out.result.ok, out.result.scenario_error
    kinds = [rec.kind for s in out.journal.sessions() for rec in out.journal.events(s.session_id)]
    assert "ChargingPaused" in kinds and "ChargingResumed" in kinds
    assert out.result.end_soc_pct >= 79.5
    _check_off(out)


def test_ev_renegotiation(run_sim):
    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), POWERED, Sleep(duration_s=2), Renegotiate(), FINISHED, Unplug()))
    assert out.result.ok, out.result.scenario_error
    session = out.finished()
    needs = [r.to_event() for r in out.journal.events(session.session_id) if r.kind == "EVNeedsReceived"]
    assert any(n.renegotiation for n in needs)
    _check_off(out)


def test_imd_fault_in_cable_check(run_sim, wait_phase):
    async def driver(sim, marks):
        await wait_phase(sim, {"cable_check"})
        marks["t"] = sim.clock.monotonic()
        sim.model.inject("imd_fault")

    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), FINISHED, Unplug()), driver=driver)
    assert _cause(out) in (StopCause.IMD_FAULT.value, StopCause.CABLE_CHECK_FAILED.value)
    assert out.result.energy_Wh == pytest.approx(0.0, abs=1.0)
    assert _off_after(out, out.marks["t"]) <= 5.0
    _check_off(out)


def test_over_voltage_while_charging(run_sim, wait_phase):
    async def driver(sim, marks):
        await wait_phase(sim, {"charging"})
        await sim.clock.sleep(3)
        marks["t"] = sim.clock.monotonic()
        sim.model.inject("over_voltage")

    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), FINISHED, Unplug()), driver=driver, ev_config=None)
    assert _cause(out) == StopCause.OVER_VOLTAGE.value
    assert _off_after(out, out.marks["t"]) <= 0.45
    _check_off(out)


def test_power_supply_fault(run_sim, wait_phase):
    async def driver(sim, marks):
        await wait_phase(sim, {"charging"})
        await sim.clock.sleep(3)
        marks["t"] = sim.clock.monotonic()
        sim.model.inject("psu_fault")

    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), FINISHED, Unplug()), driver=driver, ev_config=None)
    assert _cause(out) == StopCause.POWER_SUPPLY_FAULT.value
    assert _off_after(out, out.marks["t"]) <= 5.0
    _check_off(out)


def test_link_timeout(run_sim):
    out = run_sim(scenario=_sc(PlugIn(), StartCharging(), POWERED, Sleep(duration_s=2), LinkTimeout(),
                               Sleep(duration_s=120), Unplug()), ev_config=None)
    assert _cause(out) in (StopCause.LINK_TIMEOUT.value, StopCause.LINK_LOST.value)
    _check_off(out)


# EV phase -> the link event after which the cable is pulled (None: poll the phase).
UNPLUG_AT = {
    "plugged": None,
    "session_setup": "EvSessionStarted",
    "cable_check": "CableCheckReady",
    "precharge": "PreChargeStatus",
    "charging": "EvChargeLoopStatus",
    "welding": "WeldingDetectionStatus",
    "finished": None,
}


@pytest.mark.parametrize("phase", list(UNPLUG_AT))
def test_unplug_in_every_state(run_sim, wait_phase, phase):
    async def driver(sim, marks):
        trigger = UNPLUG_AT[phase]
        if trigger is None:
            await wait_phase(sim, {phase})
        else:
            hit = asyncio.Event()
            sim.ev.subscribe_trace(lambda e, a: hit.set() if type(e).__name__ == trigger else None)
            await sim.clock.wait_for(hit.wait(), 600)
        marks["t"] = sim.clock.monotonic()
        await sim.ev.unplug()

    steps = [PlugIn()]
    if phase != "plugged":
        steps += [StartCharging(expect_started=False)]
        if phase == "welding":
            steps += [POWERED, Sleep(duration_s=2), Stop()]
    steps += [Sleep(duration_s=700)] if phase != "finished" else [FINISHED, Sleep(duration_s=5)]
    out = run_sim(scenario=_sc(*steps), driver=driver)
    _check_off(out)
    assert _off_after(out, out.marks["t"]) <= 0.1
    if phase not in ("finished",):
        session = out.finished()
        assert session is not None and session.stop_cause == StopCause.EV_UNPLUGGED.value
    kinds = [rec.kind for s in out.journal.sessions() for rec in out.journal.events(s.session_id)]
    assert "Unplugged" in kinds or "SessionFinished" in kinds
