"""Session benchmarks (printed figures only; nothing here is asserted).

1. Plug-in to first charge-loop message at max speed (virtual time): wall and simulated time.
2. Charge-loop response latency in real time (speed 1): how long the EVSE application takes
   to answer a DC loop request (the SECC's 25 ms performance budget, charging-domain.md 4.1),
   p50 / p99 / max, and the EV-side loop period.
3. Concurrent simulated EV+EVSE pairs in one process at the 250 ms DC loop: the largest
   number of pairs whose p99 application response stays <= 25 ms (target >= 500).

Usage: .venv/bin/python bench/bench_sessions.py [--quick] [--pairs 50,100,200,400,500,800]
"""
from __future__ import annotations

import argparse
import asyncio
import time

from freev2g.clock import run
from freev2g.ev.config import BatteryConfig, EvConfig
from freev2g.ev.scenario import PlugIn, Scenario, Sleep, StartCharging, WaitFor
from freev2g.ev.variables import EvVar
from freev2g.link import DCChargeLoopRequest, EvChargeLoopStatus
from freev2g.plugins import get_plugin_manager
from freev2g.simulate import Simulation, SimulationOptions

LONG_CAR = EvConfig(battery=BatteryConfig(start_soc_pct=20.0, target_soc_pct=95.0))
CHARGE_FOREVER = Scenario(name="bench", steps=(PlugIn(), StartCharging(), WaitFor(variable=EvVar.V2G_SESSION_FINISHED)))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def instrument(sim: Simulation, latencies: list[float]) -> None:
    """Wrap the EVSE link's application handler: wall time the EvseManager takes per DC loop
    request (its part of the 25 ms budget)."""
    link = sim.station.link
    inner = link.handler

    async def timed(event):
        if not isinstance(event, DCChargeLoopRequest):
            return await inner(event)
        t0 = time.perf_counter()
        try:
            return await inner(event)
        finally:
            latencies.append(time.perf_counter() - t0)

    link.handler = timed


ROUND_TRIPS: list[float] = []


def instrument_round_trip() -> None:
    """Time each loop request on the EV side from send to response received (virtual_plc's
    EvccSession.call; bench-only wrapper): queueing in the shared event loop included."""
    from freev2g_virtual_plc.evcc.client import EvccSession

    inner = EvccSession.call

    async def call(self, req, timeout_s):
        if "CurrentDemand" not in type(req).__name__ and "ChargeLoop" not in type(req).__name__:
            return await inner(self, req, timeout_s)
        t0 = time.perf_counter()
        try:
            return await inner(self, req, timeout_s)
        finally:
            ROUND_TRIPS.append(time.perf_counter() - t0)

    EvccSession.call = call


def bench_time_to_loop(pm) -> None:
    async def main():
        sim = Simulation(SimulationOptions(speed=None, ev_config=LONG_CAR, scenario=CHARGE_FOREVER), pm)
        first = asyncio.get_running_loop().create_future()
        await sim.start()
        sim.ev.subscribe_trace(lambda e, a: first.done() or isinstance(e, EvChargeLoopStatus) and first.set_result(sim.clock.monotonic()))
        wall0 = time.perf_counter()
        task = asyncio.create_task(sim.run())
        sim_s = await first
        wall = time.perf_counter() - wall0
        task.cancel()
        await sim.stop()
        return wall, sim_s

    wall, sim_s = run(main(), virtual_time=True)
    print(f"plug-in -> first charge-loop message (max speed): {wall * 1000:.1f} ms wall, {sim_s:.2f} s simulated")


async def _run_pairs(pm, n: int, warmup_s: float, window_s: float) -> tuple[list[float], list[float], int]:
    latencies: list[float] = []
    sims = []
    for i in range(n):
        # Independent cars arrive at different moments: spread the plug-ins over 5 s so the
        # pairs' loop messages are not in lockstep (a thundering herd is not a steady load).
        staggered = Scenario(name="bench", steps=(Sleep(duration_s=5.0 * i / max(n, 1)),) + CHARGE_FOREVER.steps)
        sim = Simulation(SimulationOptions(speed=1.0, ev_config=LONG_CAR, scenario=staggered,
                                           ev_link_options={"loop_interval_s": 0.25}), pm)
        await sim.start()
        instrument(sim, latencies)
        sims.append(sim)
    tasks = [asyncio.create_task(s.run()) for s in sims]
    periods: list[float] = []
    last: dict[int, float] = {}

    def tap(i):
        def on(e, a):
            if isinstance(e, EvChargeLoopStatus):
                now = time.perf_counter()
                if i in last:
                    periods.append(now - last[i])
                last[i] = now
        return on

    for i, s in enumerate(sims):
        s.ev.subscribe_trace(tap(i))
    await asyncio.sleep(warmup_s)
    latencies.clear()
    periods.clear()
    ROUND_TRIPS.clear()
    await asyncio.sleep(window_s)
    measured, gaps = list(ROUND_TRIPS), list(periods)
    app = list(latencies)
    charging = sum(1 for s in sims if s.ev.phase == "charging")
    for t in tasks:
        t.cancel()
    await asyncio.gather(*(s.stop() for s in sims), return_exceptions=True)
    return measured, gaps, charging, app


def bench_latency(pm, window_s: float) -> None:
    lat, gaps, _, app = asyncio.run(_run_pairs(pm, 1, 12.0, window_s))
    print(f"charge-loop response (EV request -> response), 1 pair, real time: n={len(lat)} "
          f"p50={pct(lat, 50) * 1000:.2f} ms p99={pct(lat, 99) * 1000:.2f} ms max={max(lat or [0]) * 1000:.2f} ms; "
          f"EvseManager share p50={pct(app, 50) * 1000:.2f} ms p99={pct(app, 99) * 1000:.2f} ms; "
          f"EV loop period p50={pct(gaps, 50) * 1000:.0f} ms")


def bench_pairs(pm, levels: list[int], window_s: float) -> None:
    best = 0
    for n in levels:
        t0 = time.perf_counter()
        lat, gaps, charging, _ = asyncio.run(_run_pairs(pm, n, 20.0, window_s))
        p99 = pct(lat, 99) * 1000
        rate = len(lat) / window_s
        ok = p99 <= 25.0 and charging == n
        print(f"{n:5d} pairs: {charging} charging, {rate:7.0f} loop msgs/s, response p50={pct(lat, 50) * 1000:6.2f} ms "
              f"p99={p99:7.2f} ms, loop period p50={pct(gaps, 50) * 1000:5.0f} ms p99={pct(gaps, 99) * 1000:5.0f} ms "
              f"[{'ok' if ok else 'over budget'}] ({time.perf_counter() - t0:.0f} s)")
        if ok:
            best = n
        else:
            break
    print(f"largest tested pair count with p99 <= 25 ms: {best} (target >= 500)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short windows, small pair counts")
    ap.add_argument("--pairs", default="50,100,200,300,400,500,700")
    args = ap.parse_args()
    pm = get_plugin_manager()
    instrument_round_trip()
    window = 5.0 if args.quick else 15.0
    levels = [10, 25] if args.quick else [int(x) for x in args.pairs.split(",")]
    bench_time_to_loop(pm)
    bench_latency(pm, window)
    bench_pairs(pm, levels, window)
    print("(percentiles: nearest rank over all pairs' loop messages in the measuring window)")


if __name__ == "__main__":
    main()
