"""Session benchmarks (printed figures only; nothing here is asserted).

1. Plug-in to first charge-loop message at max speed (virtual time): wall and simulated time.
2. Charge-loop response latency in real time (speed 1): how long the EVSE application takes
   to answer a DC loop request (the SECC's 25 ms performance budget, charging-domain.md 4.1),
   p50 / p99 / max, and the EV-side loop period.
3. Concurrent simulated EV+EVSE pairs in one process at the 250 ms DC loop, ramped (50, 100,
   200, 300, 500, 700 by default; stops at the first count over budget): per step the EV-side
   response p50/p99, how many sessions still charge, every session the EVSE ended (with its
   cause), CPU share and the longest GC pause; then the largest count with p99 <= 25 ms and
   every session charging (target >= 500).

Usage: .venv/bin/python bench/bench_sessions.py [--quick] [--pairs 50,100,200,300,500,700]
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from freev2g.clock import run
from freev2g.ev.config import BatteryConfig, EvConfig
from freev2g.ev.scenario import PlugIn, Scenario, Sleep, StartCharging, WaitFor
from freev2g.ev.variables import EvVar
from freev2g.link import DCChargeLoopRequest, EvChargeLoopStatus
from freev2g.model.events import SessionFinished
from freev2g.plugins import get_plugin_manager
from freev2g.realtime import quiet_gc
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


class GcPauses:
    """Longest garbage-collector pause while measuring (a stop-the-world pause holds every pair)."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self.full = 0
        self._t0 = 0.0
        gc.callbacks.append(self._on)

    def _on(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            return
        self.longest_s = max(self.longest_s, time.perf_counter() - self._t0)
        self.full += info["generation"] == 2

    def reset(self) -> None:
        self.longest_s, self.full = 0.0, 0

    def close(self) -> None:
        gc.callbacks.remove(self._on)


class LogTally(logging.Handler):
    """Counts warnings and errors (printed once per step instead of one line per pair)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}: {record.getMessage()[:120]}"] += 1


@dataclass
class PairsRun:
    round_trips: list[float]
    periods: list[float]
    app: list[float]
    charging: int
    ended: list[tuple[int, str, str]]  # (pair, cause, detail) of sessions the EVSE ended
    cpu_share: float  # process CPU seconds per wall second in the window
    gc_longest_s: float
    gc_full: int
    start_s: float


async def _run_pairs(pm, n: int, warmup_s: float, window_s: float, journal_dir: str | None = None,
                     freeze_gc: bool = True) -> PairsRun:
    latencies: list[float] = []
    sims = []
    ended: list[tuple[int, str, str]] = []
    measuring = [True]
    t_start = time.perf_counter()
    arrivals = random.Random(n)  # seeded: the same arrival times on every run
    for i in range(n):
        # Independent cars arrive at independent moments: plug-ins at random times within 5 s.
        # (Evenly spaced plug-ins, 5 s * i / n, put the 250 ms loops of 200 pairs into only
        # 10 phases 25 ms apart, and the 50 ms safety monitors into 2: a herd, not a steady load.)
        staggered = Scenario(name="bench", steps=(Sleep(duration_s=arrivals.uniform(0.0, 5.0)),) + CHARGE_FOREVER.steps)
        journal = str(Path(journal_dir) / f"pair{i}.sqlite") if journal_dir else None
        sim = Simulation(SimulationOptions(speed=1.0, ev_config=LONG_CAR, scenario=staggered, journal_path=journal,
                                           ev_link_options={"loop_interval_s": 0.25}), pm)
        await sim.start()
        sim.subscribe(lambda e, i=i: measuring[0] and isinstance(e, SessionFinished)
                      and ended.append((i, e.cause.value, e.detail)))
        instrument(sim, latencies)
        sims.append(sim)
    start_s = time.perf_counter() - t_start
    if freeze_gc:
        # What a station process does once it has started (freev2g.realtime.quiet_gc): freeze the
        # start-up objects and keep full collections out of the charge loops.
        previous_gc = quiet_gc()
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
    pauses = GcPauses()
    try:
        await asyncio.sleep(warmup_s)
        latencies.clear()
        periods.clear()
        ROUND_TRIPS.clear()
        pauses.reset()
        cpu0 = time.process_time()
        await asyncio.sleep(window_s)
        cpu = (time.process_time() - cpu0) / window_s
        run = PairsRun(list(ROUND_TRIPS), list(periods), list(latencies),
                       sum(1 for s in sims if s.ev.phase == "charging"), list(ended), cpu,
                       pauses.longest_s, pauses.full, start_s)
    finally:
        pauses.close()
        measuring[0] = False
        for t in tasks:
            t.cancel()
        await asyncio.gather(*(s.stop() for s in sims), return_exceptions=True)
        if freeze_gc:
            gc.unfreeze()
            gc.set_threshold(*previous_gc)
    return run


def bench_latency(pm, window_s: float) -> None:
    r = asyncio.run(_run_pairs(pm, 1, 10.0, window_s))
    lat, gaps, app = r.round_trips, r.periods, r.app
    print(f"charge-loop response (EV request -> response), 1 pair, real time: n={len(lat)} "
          f"p50={pct(lat, 50) * 1000:.2f} ms p99={pct(lat, 99) * 1000:.2f} ms max={max(lat or [0]) * 1000:.2f} ms; "
          f"EvseManager share p50={pct(app, 50) * 1000:.2f} ms p99={pct(app, 99) * 1000:.2f} ms; "
          f"EV loop period p50={pct(gaps, 50) * 1000:.0f} ms")


def bench_pairs(pm, levels: list[int], warmup_s: float, window_s: float, freeze_gc: bool) -> None:
    print(f"concurrent pairs (ISO 15118-2 DC, 250 ms loop, real time; sqlite journal per pair; "
          f"warm-up {warmup_s:g} s, window {window_s:g} s; quiet_gc after start-up: {'on' if freeze_gc else 'off'})")
    best = 0
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    for n in levels:
        tally.counts.clear()
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="freev2g-bench-") as tmp:
            r = asyncio.run(_run_pairs(pm, n, warmup_s, window_s, journal_dir=tmp, freeze_gc=freeze_gc))
        lat, gaps = r.round_trips, r.periods
        p99 = pct(lat, 99) * 1000
        ok = p99 <= 25.0 and r.charging == n and not r.ended
        print(f"{n:5d} pairs: {r.charging:4d} charging, {len(r.ended):3d} ended, {len(lat) / window_s:6.0f} loop msgs/s, "
              f"response p50={pct(lat, 50) * 1000:6.2f} ms p99={p99:7.2f} ms max={max(lat or [0]) * 1000:6.1f} ms, "
              f"EvseManager p99={pct(r.app, 99) * 1000:5.2f} ms, loop period p99={pct(gaps, 99) * 1000:4.0f} ms, "
              f"CPU {r.cpu_share * 100:3.0f} %, longest GC pause {r.gc_longest_s * 1000:4.1f} ms ({r.gc_full} full), "
              f"start-up {r.start_s:.1f} s, host load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              f"[{'ok' if ok else 'over budget'}] ({time.perf_counter() - t0:.0f} s)")
        causes = Counter((cause, detail) for _, cause, detail in r.ended)
        for (cause, detail), count in causes.most_common():
            print(f"        ended: {count} x {cause}: {detail}")
        for line, count in tally.counts.most_common(4):
            print(f"        logged (start-up, run or stop): {count} x {line}")
        if ok:
            best = n
        else:
            break
    print(f"largest tested pair count with p99 <= 25 ms and every session charging: {best} (target >= 500)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short windows, small pair counts")
    ap.add_argument("--pairs", default="50,100,200,300,500,700")
    ap.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring (plug-in to charging)")
    ap.add_argument("--window", type=float, default=10.0, help="measuring window per pair count, seconds")
    ap.add_argument("--no-gc-freeze", action="store_true", help="leave the collector at its defaults (no freev2g.realtime.quiet_gc)")
    args = ap.parse_args()
    pm = get_plugin_manager()
    instrument_round_trip()
    window = 5.0 if args.quick else args.window
    levels = [10, 25] if args.quick else [int(x) for x in args.pairs.split(",")]
    bench_time_to_loop(pm)
    bench_latency(pm, window)
    bench_pairs(pm, levels, args.warmup, window, not args.no_gc_freeze)
    print("(percentiles: nearest rank over all pairs' loop messages in the measuring window)")


if __name__ == "__main__":
    main()
