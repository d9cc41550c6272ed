"""End-to-end parts: real Station (EvseManager, journal), real virtual_plc link both roles, real
sim board shared by both sides; run on virtual time (speed None)."""
from __future__ import annotations

import asyncio

import attrs
import pytest

from freev2g.clock import run
from freev2g.ev.config import BatteryConfig, EvConfig
from freev2g.journal import Journal
from freev2g.plugins import get_plugin_manager
from freev2g.simulate import Simulation, SimulationOptions
from freev2g.testing import virtual_loop  # noqa: F401 - fixture

# A short top-up (78 -> 80 %) keeps each virtual-time session to a few hundred loop messages.
QUICK_CAR = EvConfig(battery=BatteryConfig(start_soc_pct=78.0, target_soc_pct=80.0))


@pytest.fixture(scope="session")
def pm():
    return get_plugin_manager()


@attrs.define
class Outcome:
    result: object
    sim: Simulation
    journal: Journal | None
    power_off_at: list  # clock times of relay-open events (EVSE and EV side)
    marks: dict

    def finished(self):
        sessions = [s for s in self.journal.sessions() if s.finished]
        return sessions[-1] if sessions else None


def _run_sim(pm, tmp_path, *, driver=None, **kw):
    """Run one simulation on virtual time. `driver(sim, marks)` may act while it runs."""
    kw.setdefault("ev_config", QUICK_CAR)
    opts = SimulationOptions(speed=None, journal_path=str(tmp_path / "journal.sqlite"), **kw)
    marks: dict = {}
    relays: list = []

    async def main():
        sim = Simulation(opts, pm)
        await sim.start()
        model = sim.model
        if model is not None:
            for source in ("bsp", "ev_board"):
                model.subscribe(source, lambda e, s=source: relays.append((sim.clock.monotonic(), s, e.value))
                                if e.kind == "relay" else None)
        try:
            if driver is None:
                return await sim.run(), sim
            task = asyncio.create_task(sim.run())
            await driver(sim, marks)
            return await task, sim
        finally:
            await sim.stop()

    result, sim = run(main(), virtual_time=True)
    journal = Journal(opts.journal_path)
    return Outcome(result, sim, journal, relays, marks)


@pytest.fixture
def run_sim(pm, tmp_path):
    """run_sim(driver=None, **SimulationOptions) -> Outcome (virtual time)."""
    return lambda **kw: _run_sim(pm, tmp_path, **kw)


@pytest.fixture
def wait_phase():
    return _wait_phase


async def _wait_phase(sim, phases, timeout_s=600.0):
    """Poll the EV's phase (clock time) until it is one of `phases`."""
    deadline = sim.clock.monotonic() + timeout_s
    while sim.ev.phase not in phases:
        if sim.clock.monotonic() > deadline:
            raise AssertionError(f"EV never reached {phases}; it is in {sim.ev.phase}")
        await sim.clock.sleep(0.05)
