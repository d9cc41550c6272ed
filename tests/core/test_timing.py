"""freev2g.timing: the C deadline logic with injected time, and PeriodicTimer on a real
CLOCK_MONOTONIC timerfd (no assertions on how late a wake is: speed belongs in bench/)."""
from __future__ import annotations

import asyncio
import os

import pytest

from freev2g.timing import (
    DeadlineTracker,
    LatenessHistogram,
    PeriodicTimer,
    Tick,
    TimerClosedError,
    monotonic_ns,
)

MS = 1_000_000


def test_deadline_grid_lateness_and_overruns() -> None:
    tracker = DeadlineTracker(10 * MS, 100 * MS)
    assert tracker.wake(99 * MS) is None  # early: nothing due
    assert tracker.wake(100 * MS + 500_000) == Tick(100 * MS, 0.0005, 0, 110 * MS)
    # 110, 120 and 130 ms have passed: serve 110 (25 ms late), skip 120 and 130 as overruns.
    assert tracker.wake(135 * MS) == Tick(110 * MS, 0.025, 2, 140 * MS)
    assert tracker.wake(140 * MS) == Tick(140 * MS, 0.0, 0, 150 * MS)
    stats = tracker.stats()
    assert (stats.ticks, stats.overruns, stats.early_wakes) == (3, 2, 1)
    assert stats.max_s == 0.025
    assert stats.mean_s == pytest.approx((0.0005 + 0.025) / 3)


def test_deadline_restart_and_large_or_negative_time_scales() -> None:
    tracker = DeadlineTracker(250 * MS, -10 * MS)
    assert tracker.wake(-10 * MS) == Tick(-10 * MS, 0.0, 0, 240 * MS)
    tracker.restart(2**62)
    assert tracker.next_deadline_ns == 2**62
    assert tracker.wake(2**62 + 1_000 * 250 * MS).missed == 1_000
    with pytest.raises(ValueError, match="period_ns"):
        DeadlineTracker(0, 0)


def test_histogram_percentiles_within_resolution() -> None:
    hist = LatenessHistogram()
    assert hist.stats().p99_s == 0.0
    for micros in range(1, 1001):
        hist.record_ns(micros * 1000)
    stats = hist.stats()
    assert stats.ticks == hist.count == 1000
    assert stats.p50_s == pytest.approx(500e-6, rel=0.016)
    assert stats.p99_s == pytest.approx(990e-6, rel=0.016)
    assert stats.max_s == 1000e-6 and hist.percentile_s(100) == 1000e-6
    assert stats.p50_s >= 500e-6  # bucket upper bounds: never optimistic
    with pytest.raises(ValueError):
        hist.percentile_s(101)


def test_histogram_extremes() -> None:
    hist = LatenessHistogram()
    hist.record_ns(-5)  # early counts as on time
    hist.record_s(3 * 3600.0)  # beyond the top bucket: max stays exact
    assert hist.percentile_s(50) == 0.0
    assert hist.stats().max_s == 3 * 3600.0 == hist.percentile_s(100)
    hist.reset()
    assert hist.count == 0


def test_periodic_timer_ticks_on_its_grid() -> None:
    async def main() -> list[Tick]:
        with PeriodicTimer(0.002) as timer:
            assert os.readlink(f"/proc/self/fd/{timer.fileno}") == "anon_inode:[timerfd]"
            ticks = [await timer.tick() for _ in range(5)]
            assert timer.stats().ticks == 5
            return ticks

    ticks = asyncio.run(main())
    period = 2 * MS
    for before, after in zip(ticks, ticks[1:]):
        assert after.deadline_ns == before.next_deadline_ns
        assert (after.deadline_ns - before.deadline_ns) % period == 0
        assert after.lateness_s >= 0


def test_several_timers_at_once() -> None:
    async def run(timer: PeriodicTimer, n: int) -> list[Tick]:
        return [await timer.tick() for _ in range(n)]

    async def main():
        with PeriodicTimer(0.001) as fast, PeriodicTimer(0.003) as slow:
            a, b = await asyncio.gather(run(fast, 9), run(slow, 3))
            return a, b, fast.stats(), slow.stats()

    a, b, fast_stats, slow_stats = asyncio.run(main())
    assert (len(a), len(b), fast_stats.ticks, slow_stats.ticks) == (9, 3, 9, 3)
    assert all(t.next_deadline_ns > t.deadline_ns for t in a + b)


def test_missed_periods_are_reported_once_as_overruns() -> None:
    async def main():
        with PeriodicTimer(0.010) as timer:
            now = monotonic_ns()
            timer.start(first_deadline_ns=now - 55 * MS)  # deadlines -55, -45, ... -5 ms passed
            first = await timer.tick()
            return now, first, timer.stats()

    now, first, stats = asyncio.run(main())
    assert first.deadline_ns == now - 55 * MS
    assert first.missed == 5
    assert first.next_deadline_ns == now + 5 * MS
    assert stats.overruns == 5 and stats.max_s >= 0.055


def test_closed_timer_and_double_wait() -> None:
    async def main() -> None:
        timer = PeriodicTimer(0.050)
        first = asyncio.ensure_future(timer.tick())
        await asyncio.sleep(0)  # let it register its reader
        with pytest.raises(RuntimeError, match="already being awaited"):
            await timer.tick()
        timer.close()
        with pytest.raises(TimerClosedError):
            await first
        with pytest.raises(TimerClosedError):
            await timer.tick()
        timer.close()  # idempotent

    asyncio.run(main())
    with pytest.raises(ValueError, match="period_s"):
        PeriodicTimer(0)


def test_python_clock_is_the_timerfd_clock() -> None:
    """PeriodicTimer reads time.monotonic_ns(); the timerfd runs on CLOCK_MONOTONIC."""
    from freev2g.timing import lib

    before = monotonic_ns()
    c_clock = lib.fv2g_monotonic_ns()
    after = monotonic_ns()
    assert before <= c_clock <= after


def test_deadline_grid_saturates_instead_of_overflowing() -> None:
    top = 2**63 - 1
    tracker = DeadlineTracker(10 * MS, top - 5 * MS)
    tick = tracker.wake(top - 1 * MS)
    assert tick is not None and tick.next_deadline_ns == top
    assert tracker.wake(top - 1) is None  # nothing is ever due again, and nothing overflowed
