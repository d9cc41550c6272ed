"""Control-loop timer lateness: PeriodicTimer (timerfd + C deadline logic) vs an asyncio.sleep
loop, both at 25 ms and 250 ms periods while another thread keeps Python busy.

Targets: PeriodicTimer p99 lateness <= 0.3 ms; at least 5x lower than the asyncio.sleep loop.
A busy Python thread holds the GIL; CPython hands it over after sys.getswitchinterval()
(5 ms by default), which bounds how soon any asyncio loop thread can run. The figures are
printed for the default interval and for 0.1 ms, a setting a station process can choose.
Usage: bench_timer.py [seconds per loop] (default 5). Figures depend on machine load: a
shared or oversubscribed machine adds scheduling delay to both loops.
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading

from freev2g.timing import LatenessHistogram, PeriodicTimer, monotonic_ns

PERIODS_S = (0.025, 0.250)


async def timerfd_loop(period_s: float, until_ns: int) -> LatenessHistogram:
    hist = LatenessHistogram()
    with PeriodicTimer(period_s) as timer:
        while monotonic_ns() < until_ns:
            tick = await timer.tick()
            hist.record_s(tick.lateness_s)
    return hist


async def sleep_loop(period_s: float, until_ns: int) -> LatenessHistogram:
    """The usual asyncio way, on absolute deadlines (no drift), skipping missed periods."""
    hist = LatenessHistogram()
    period_ns = round(period_s * 1e9)
    deadline = monotonic_ns() + period_ns
    while monotonic_ns() < until_ns:
        await asyncio.sleep(max(0, deadline - monotonic_ns()) / 1e9)
        now = monotonic_ns()
        hist.record_ns(now - deadline)
        deadline += ((now - deadline) // period_ns + 1) * period_ns
    return hist


async def phase(kind, seconds: float) -> list[LatenessHistogram]:
    until = monotonic_ns() + round(seconds * 1e9)
    return await asyncio.gather(*(kind(p, until) for p in PERIODS_S))


def busy(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(2000))


def run_phase(kind, seconds: float, busy_thread: bool) -> list[LatenessHistogram]:
    stop = threading.Event()
    worker = threading.Thread(target=busy, args=(stop,), daemon=True)
    if busy_thread:
        worker.start()
    try:
        return asyncio.run(phase(kind, seconds))
    finally:
        stop.set()
        if busy_thread:
            worker.join()


def report(title: str, timer: list[LatenessHistogram], sleep: list[LatenessHistogram]) -> None:
    print(title)
    for period, t, s in zip(PERIODS_S, timer, sleep):
        ts, ss = t.stats(), s.stats()
        ratio = ss.p99_s / ts.p99_s if ts.p99_s else float("inf")
        met = ts.p99_s <= 0.0003 and ratio >= 5
        print(f"  {period * 1e3:4.0f} ms  PeriodicTimer  p50 {ts.p50_s * 1e3:7.3f}  p99 {ts.p99_s * 1e3:7.3f}  "
              f"max {ts.max_s * 1e3:7.3f} ms  ({ts.ticks} ticks)")
        print(f"  {'':7}  asyncio.sleep  p50 {ss.p50_s * 1e3:7.3f}  p99 {ss.p99_s * 1e3:7.3f}  "
              f"max {ss.max_s * 1e3:7.3f} ms  ({ss.ticks} ticks)")
        print(f"  {'':7}  p99 ratio {ratio:5.1f} x   targets (p99 <= 0.3 ms, >= 5x): {'met' if met else 'NOT met'}")


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    default_interval = sys.getswitchinterval()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {seconds:g} s per loop; "
          "lateness = task resumed - deadline")
    scenarios = [
        ("idle process", False, default_interval),
        (f"busy Python thread, GIL switch interval {default_interval * 1e3:g} ms (default)", True,
         default_interval),
        ("busy Python thread, GIL switch interval 0.1 ms", True, 0.0001),
    ]
    try:
        for title, busy_thread, interval in scenarios:
            sys.setswitchinterval(interval)
            timer = run_phase(timerfd_loop, seconds, busy_thread)
            sleep = run_phase(sleep_loop, seconds, busy_thread)
            report(title, timer, sleep)
    finally:
        sys.setswitchinterval(default_interval)


if __name__ == "__main__":
    main()
