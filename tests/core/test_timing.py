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


def test_timer_keeps_its_reader_between_ticks_and_drops_it_on_close() -> None:
    """The fd stays watched across ticks (no epoll_ctl per wake); close() unregisters it."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        timer = PeriodicTimer(0.002)
        await timer.tick()
        key = loop._selector.get_key(timer.fileno)  # noqa: SLF001 - the loop's registration
        await timer.tick()
        await asyncio.sleep(0)  # the stale readiness of the served expiration is drained...
        assert loop._selector.get_key(timer.fileno) is key  # ...without unregistering
        fd = timer.fileno
        timer.close()
        with pytest.raises(KeyError):
            loop._selector.get_key(fd)

    asyncio.run(main())


def test_timer_moves_to_a_new_event_loop() -> None:
    with PeriodicTimer(0.002) as timer:
        first = asyncio.run(timer.tick())
        second = asyncio.run(timer.tick())  # the first loop is closed; the fd is watched anew
        assert second.deadline_ns > first.deadline_ns


def test_unawaited_expirations_do_not_spin_the_loop() -> None:
    """While nobody awaits tick(), expirations are drained by the reader callback: the loop
    runs a bounded number of callbacks per expiration instead of spinning on a readable fd."""

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        with PeriodicTimer(0.001) as timer:
            await timer.tick()
            calls = 0
            original = timer._on_readable  # noqa: SLF001

            def counting() -> None:
                nonlocal calls
                calls += 1
                original()

            loop.remove_reader(timer.fileno)
            loop.add_reader(timer.fileno, counting)
            idle_until = monotonic_ns() + 20 * MS
            yields = 0
            while monotonic_ns() < idle_until:  # keeps the loop iterating, never awaits tick()
                await asyncio.sleep(0.0005)
                yields += 1
            tick = await timer.tick()
            return calls, tick.missed

    calls, missed = asyncio.run(main())
    # Each expiration wakes the loop once and is drained; a readable fd nobody drains would
    # make the callback run on every loop pass (thousands in 20 ms).
    assert missed > 0
    assert 1 <= calls <= 2 * (missed + 2)


def test_wake_probe_counts_every_wake() -> None:
    from freev2g.timing import probe_wake_floor

    hist = probe_wake_floor(0.001, 4)
    assert hist.count == 4 and hist.stats().max_s >= 0
    assert probe_wake_floor(0.001, 0).count == 0
    with pytest.raises(ValueError, match="period_s"):
        probe_wake_floor(0, 3)


def _run_in_thread(fn):
    """RealtimeMode changes the calling thread: keep the pytest thread untouched."""
    import threading

    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]


def test_realtime_mode_applies_and_restores_every_lever() -> None:
    import sys

    from freev2g.timing import LeverResult, RealtimeMode, RealtimeOptions, lib

    def body():
        before = (sys.getswitchinterval(), lib.fv2g_thread_get_timer_slack(), os.sched_getscheduler(0),
                  os.sched_getaffinity(0))
        cpu = min(before[3])
        with RealtimeMode(RealtimeOptions(switch_interval_s=0.0002, fifo_priority=5, timer_slack_ns=1000,
                                          cpu=cpu)) as levers:
            inside = (sys.getswitchinterval(), lib.fv2g_thread_get_timer_slack(), os.sched_getscheduler(0),
                      os.sched_getaffinity(0))
        after = (sys.getswitchinterval(), lib.fv2g_thread_get_timer_slack(), os.sched_getscheduler(0),
                 os.sched_getaffinity(0))
        return levers, before, inside, after, cpu

    levers, before, inside, after, cpu = _run_in_thread(body)
    assert [lv.name for lv in levers] == ["switch_interval", "timer_slack", "sched_fifo", "cpu_affinity"]
    assert after == before
    assert inside[0] == pytest.approx(0.0002, rel=1e-6) and inside[3] == {cpu}
    fifo = levers[2]
    if fifo.applied:
        assert inside[2] == os.SCHED_FIFO
        assert inside[1] in (0, 1000)  # newer kernels give SCHED_FIFO threads no slack at all
    else:  # not privileged here: reported, not raised, and the others still applied
        assert fifo == LeverResult("sched_fifo", "priority 5", False, fifo.error) and "Error" in fifo.error
        assert inside[2] == before[2] and inside[1] == 1000


def test_realtime_mode_fails_soft_and_validates() -> None:
    from freev2g.timing import RealtimeMode, RealtimeOptions

    from freev2g.timing import lib

    def body():
        with RealtimeMode(RealtimeOptions(switch_interval_s=None, fifo_priority=1000, timer_slack_ns=777,
                                          cpu=10_000)) as levers:
            return levers, os.sched_getscheduler(0), lib.fv2g_thread_get_timer_slack()

    levers, policy, slack = _run_in_thread(body)
    assert [(lv.name, lv.applied) for lv in levers] == [
        ("timer_slack", True), ("sched_fifo", False), ("cpu_affinity", False)]
    assert all("OSError" in lv.error or "ValueError" in lv.error for lv in levers[1:])
    assert policy != os.SCHED_FIFO and slack == 777
    with pytest.raises(ValueError, match="switch_interval_s"):
        RealtimeOptions(switch_interval_s=0)
    with pytest.raises(ValueError, match="timer_slack_ns"):
        RealtimeOptions(timer_slack_ns=-1)
    mode = RealtimeMode(RealtimeOptions(switch_interval_s=None, fifo_priority=None, timer_slack_ns=None))
    with mode:
        with pytest.raises(RuntimeError, match="already active"):
            mode.__enter__()


def test_realtime_mode_process_nice_reaches_every_thread_and_is_restored() -> None:
    import threading

    from freev2g.timing import RealtimeMode, RealtimeOptions

    main_tid = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, main_tid)
    target = min(before + 3, 19)  # a higher nice value needs no privilege

    def body():
        with RealtimeMode(RealtimeOptions(switch_interval_s=None, fifo_priority=None, timer_slack_ns=None,
                                          process_nice=target)) as levers:
            inside = (os.getpriority(os.PRIO_PROCESS, main_tid), os.getpriority(os.PRIO_PROCESS, 0))
        return levers, inside

    levers, inside = _run_in_thread(body)
    assert [(lv.name, lv.applied) for lv in levers] == [("process_nice", True)]
    assert inside == (target, target)
    assert os.getpriority(os.PRIO_PROCESS, main_tid) == before
    with pytest.raises(ValueError, match="process_nice"):
        RealtimeOptions(process_nice=40)


def test_wake_ahead_rule_tracks_the_slowest_recent_path() -> None:
    from freev2g.timing import next_wake_ahead_ns

    assert next_wake_ahead_ns(0, 40_000, 500_000) == 40_000  # jumps up to a slower path
    assert next_wake_ahead_ns(160_000, 20_000, 500_000) == 150_000  # decays by 1/16 otherwise
    assert next_wake_ahead_ns(0, 9 * MS, 500_000) == 500_000  # capped
    assert next_wake_ahead_ns(0, 40_000, 0) == 0  # cap 0: wake-ahead off
    ahead = 480_000
    for _ in range(200):
        ahead = next_wake_ahead_ns(ahead, 30_000, 500_000)
    assert 30_000 <= ahead < 32_000  # settles on the path once slow wakes stop


def test_wake_ahead_never_resumes_before_the_deadline() -> None:
    async def run(timer: PeriodicTimer) -> tuple[list[Tick], int]:
        ticks = [await timer.tick() for _ in range(6)]
        return ticks, timer.wake_ahead_ns

    with PeriodicTimer(0.004, wake_ahead_max_s=0.0005) as ahead, PeriodicTimer(0.004, wake_ahead_max_s=0) as exact:
        ticks_a, margin_a = asyncio.run(run(ahead))
        ticks_e, margin_e = asyncio.run(run(exact))
    assert all(t.lateness_s >= 0 for t in ticks_a + ticks_e)
    assert 0 <= margin_a <= 500_000 and margin_e == 0
    assert ahead.stats().ticks == 6
    with pytest.raises(ValueError, match="wake_ahead_max_s"):
        PeriodicTimer(0.01, wake_ahead_max_s=-1)


def test_cancelled_tick_leaves_the_timer_usable() -> None:
    async def main() -> Tick:
        with PeriodicTimer(0.003) as timer:
            waiting = asyncio.ensure_future(timer.tick())
            await asyncio.sleep(0)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert timer.wake_ahead_ns <= 3 * MS // 4
            return await timer.tick()

    tick = asyncio.run(main())
    assert tick.lateness_s >= 0


def test_timerfd_arm_one_shot_and_bad_arguments() -> None:
    import errno

    from freev2g.timing import lib

    fd = lib.fv2g_timerfd_create()
    assert fd >= 0
    try:
        assert lib.fv2g_timerfd_arm(fd, 1, -1) == -errno.EINVAL
        assert lib.fv2g_timerfd_arm(fd, 0, 0) == -errno.EINVAL
        assert lib.fv2g_timerfd_arm(fd, 1, 0) == 0  # one-shot, long past: expired once
        assert int.from_bytes(os.read(fd, 8), "little") == 1
        with pytest.raises(BlockingIOError):  # one-shot: nothing more, ever
            os.read(fd, 8)
        assert lib.fv2g_timerfd_arm(-1, 1, 0) == -errno.EBADF
        assert lib.fv2g_thread_set_timer_slack(0) == -errno.EINVAL
    finally:
        os.close(fd)
