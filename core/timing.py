"""Control-loop timing over the C core (ARCHITECTURE.md "Timing").

The deadline arithmetic and lateness statistics are pure C (core/cext/deadline.c) with time
passed in, so `DeadlineTracker` and `LatenessHistogram` are tested with injected time.
`PeriodicTimer` puts a CLOCK_MONOTONIC timerfd under that logic: the asyncio loop watches the
fd (loop.add_reader), so a waiting control loop costs no CPU and wakes at the kernel's
high-resolution deadline instead of asyncio's millisecond-rounded sleep; a measured wake-ahead
takes the cold wake path off the deadline. `RealtimeMode` (core/realtime.py) is the opt-in set of thread and
interpreter levers (GIL switch interval, SCHED_FIFO, timer slack, pinning, nice) for a process
whose other Python threads would otherwise delay the loop thread. The loops it serves:
the 25 ms / 250 ms DC charge-loop budgets and the 500 ms WHITE beet refresh
(charging-domain.md section 4, whitebeet-hci.md 7.8).
"""
from __future__ import annotations

import asyncio
import os
import time
import weakref

from attrs import frozen

from .cext.loader import load_core

_core = load_core()
ffi, lib = _core.ffi, _core.lib

_NS_PER_S = 1_000_000_000


class TimerClosedError(RuntimeError):
    """tick() on a PeriodicTimer after close()."""


@frozen
class Tick:
    """One served deadline: the earliest one due at the wake, and how late the wake was."""

    deadline_ns: int
    lateness_s: float
    missed: int  # later deadlines that also passed before the wake (overruns, skipped)
    next_deadline_ns: int


@frozen
class LatenessStats:
    """Lateness distribution (histogram percentiles, < 1.6 % relative error; max exact)."""

    ticks: int
    overruns: int
    p50_s: float
    p99_s: float
    max_s: float
    mean_s: float
    early_wakes: int = 0


class LatenessHistogram:
    """Fixed-size log-linear histogram in C memory owned by this object (no allocation later)."""

    def __init__(self) -> None:
        self._hist = ffi.new("fv2g_hist *")

    def record_ns(self, value_ns: int) -> None:
        """Negative values count as 0 (early is not late)."""
        lib.fv2g_hist_record(self._hist, value_ns)

    def record_s(self, value_s: float) -> None:
        self.record_ns(round(value_s * _NS_PER_S))

    def percentile_s(self, percent: float) -> float:
        if not 0 <= percent <= 100:
            raise ValueError(f"percent must be 0..100, got {percent}")
        return lib.fv2g_hist_percentile(self._hist, round(percent * 10_000)) / _NS_PER_S

    @property
    def count(self) -> int:
        return self._hist.count

    def stats(self, *, overruns: int = 0, early_wakes: int = 0) -> LatenessStats:
        count = self._hist.count
        mean = self._hist.sum_ns / count / _NS_PER_S if count else 0.0
        return LatenessStats(count, overruns, self.percentile_s(50), self.percentile_s(99),
                             self._hist.max_ns / _NS_PER_S, mean, early_wakes)

    def reset(self) -> None:
        lib.fv2g_hist_reset(self._hist)


class DeadlineTracker:
    """Periodic deadlines first_deadline_ns + k * period_ns on any monotonic ns scale."""

    def __init__(self, period_ns: int, first_deadline_ns: int):
        if period_ns <= 0:
            raise ValueError(f"period_ns must be > 0, got {period_ns}")
        raw = lib.fv2g_deadline_new(period_ns, first_deadline_ns)
        if raw == ffi.NULL:
            raise MemoryError("fv2g_deadline_new failed")
        self._deadline = ffi.gc(raw, lib.fv2g_deadline_free)
        self._wake = ffi.new("fv2g_wake *")
        self.period_ns = period_ns

    @property
    def next_deadline_ns(self) -> int:
        return lib.fv2g_deadline_next(self._deadline)

    def restart(self, first_deadline_ns: int) -> None:
        """Move the grid (statistics are kept)."""
        lib.fv2g_deadline_restart(self._deadline, first_deadline_ns)

    def wake(self, now_ns: int) -> Tick | None:
        """Serve the earliest due deadline (skipping later missed ones); None if none is due."""
        if not lib.fv2g_deadline_wake(self._deadline, now_ns, self._wake):
            return None
        w = self._wake
        return Tick(w.deadline_ns, w.lateness_ns / _NS_PER_S, w.missed, w.next_deadline_ns)

    def stats(self) -> LatenessStats:
        raw = ffi.new("fv2g_deadline_stats *")
        lib.fv2g_deadline_get_stats(self._deadline, raw)
        return LatenessStats(raw.wakes, raw.overruns, raw.p50_ns / _NS_PER_S, raw.p99_ns / _NS_PER_S,
                             raw.max_ns / _NS_PER_S, raw.mean_ns / _NS_PER_S, raw.early_wakes)


def monotonic_ns() -> int:
    """CLOCK_MONOTONIC, the clock of PeriodicTimer's deadlines (time.monotonic_ns on Linux)."""
    return time.monotonic_ns()


def probe_wake_floor(period_s: float, wakes: int) -> LatenessHistogram:
    """Lateness of `wakes` blocking wakes of the calling thread on its own timerfd, measured in
    C with the GIL released: the kernel/machine floor under PeriodicTimer (for bench_timer.py).
    Blocks the calling thread for about wakes * period_s; never call it from an event loop."""
    if not period_s > 0 or wakes < 0:
        raise ValueError(f"period_s must be > 0 and wakes >= 0, got {period_s!r}, {wakes!r}")
    hist = LatenessHistogram()
    status = lib.fv2g_timerfd_wake_probe(max(1, round(period_s * _NS_PER_S)), wakes, hist._hist)
    if status < 0:
        raise OSError(-status, f"timerfd wake probe: {os.strerror(-status)}")
    return hist


def next_wake_ahead_ns(ahead_ns: int, path_ns: int, cap_ns: int) -> int:
    """PeriodicTimer's wake-ahead rule: the slowest recent wake path, decaying by 1/16 per
    wake, within 0..cap_ns."""
    return max(0, min(cap_ns, max(path_ns, ahead_ns - (ahead_ns >> 4))))


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class PeriodicTimer:
    """`await timer.tick()` returns at each CLOCK_MONOTONIC deadline, period_s apart.

    The grid starts at the first tick() (or start()); a tick that comes too late serves the
    earliest missed deadline and counts the later missed ones as overruns, without bursts.
    Many timers may run at once, each on its own timerfd, watched by the loop from the first
    tick() to close(): a wake costs no system call before the task resumes (the reader callback
    only resolves a future; readiness nobody waits for is drained off the critical path).

    Wake-ahead: a wake from idle pays a cold path (the CPU leaving idle, cold caches, Python's
    loop iteration). So the fd is first armed `wake_ahead` before the deadline, then, once the
    task runs and the deadline has not come, armed again at the deadline itself: the task never
    resumes before its deadline and nothing spins; the second wake finds a warm path.
    wake_ahead is measured: the slowest recent wake path (the time from an fd expiration to the
    task running, decaying by 1/16 per wake), capped by wake_ahead_max_s and a quarter period;
    it starts at the cap and settles; wake_ahead_max_s=0 turns it off. Pre-wakes count as
    early_wakes in stats().

    Lateness includes the time the event loop needed to run this task; with busy Python threads
    the GIL switch interval (default 5 ms) bounds how soon the loop thread runs, see
    RealtimeMode. Close the timer (or use `with`): an open timer stays referenced by its
    loop's reader until that loop closes.
    """

    def __init__(self, period_s: float, *, wake_ahead_max_s: float = 0.0005):
        if not period_s > 0:
            raise ValueError(f"period_s must be > 0, got {period_s!r}")
        if not wake_ahead_max_s >= 0:
            raise ValueError(f"wake_ahead_max_s must be >= 0, got {wake_ahead_max_s!r}")
        self.period_s = float(period_s)
        self._period_ns = max(1, round(period_s * _NS_PER_S))
        self._ahead_cap_ns = min(round(wake_ahead_max_s * _NS_PER_S), self._period_ns // 4)
        self._ahead_ns = self._ahead_cap_ns  # start wide; it settles on the measured path
        self._target_ns: int | None = None  # the fd's armed expiration while tick() waits
        fd = lib.fv2g_timerfd_create()
        if fd < 0:
            raise OSError(-fd, f"timerfd_create: {os.strerror(-fd)}")
        self._fd: int | None = fd
        self._finalizer = weakref.finalize(self, _close_fd, fd)
        self._tracker = DeadlineTracker(self._period_ns, 0)
        self._armed = False
        self._waiter: asyncio.Future[None] | None = None
        self._watch_loop: asyncio.AbstractEventLoop | None = None

    @property
    def fileno(self) -> int:
        return self._require_fd()

    @property
    def next_deadline_ns(self) -> int:
        return self._tracker.next_deadline_ns

    @property
    def wake_ahead_ns(self) -> int:
        """The current measured wake-ahead margin."""
        return self._ahead_ns

    def start(self, first_deadline_ns: int | None = None) -> None:
        """Set the grid; default first deadline: one period from now. A first deadline in the
        past is allowed (the first tick then reports the missed periods)."""
        self._require_fd()
        first = monotonic_ns() + self._period_ns if first_deadline_ns is None else first_deadline_ns
        self._tracker.restart(first)
        self._armed = True

    async def tick(self) -> Tick:
        self._require_fd()
        if self._waiter is not None:
            raise RuntimeError("tick() is already being awaited on this PeriodicTimer")
        if not self._armed:
            self.start()
        loop = asyncio.get_running_loop()
        self._watch(loop)
        # After a wake the clock is read first: os.read, timerfd_settime and every cffi call
        # release the GIL, and a busy Python thread may then keep it for a switch interval.
        while True:
            now = time.monotonic_ns()
            tick = self._tracker.wake(now)
            if self._target_ns is not None:  # woke from a wait: learn the wake path
                path_ns = now - self._target_ns
                self._target_ns = None
                self._ahead_ns = next_wake_ahead_ns(self._ahead_ns, path_ns, self._ahead_cap_ns)
            if tick is not None:
                return tick
            deadline = self._tracker.next_deadline_ns
            target = deadline - self._ahead_ns
            if target <= now:  # inside the wake-ahead window: wait for the deadline itself
                target = deadline
            self._arm(target)  # also clears expirations nobody waited for
            waiter = self._waiter = loop.create_future()
            self._target_ns = target
            try:
                await waiter
            except BaseException:  # cancelled or closed: no wake path to learn from
                self._target_ns = None
                raise
            finally:
                self._waiter = None

    def stats(self) -> LatenessStats:
        return self._tracker.stats()

    def close(self) -> None:
        if self._fd is None:
            return
        self._unwatch()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(TimerClosedError("PeriodicTimer closed while waiting"))
        self._fd = None
        self._finalizer()

    def __enter__(self) -> "PeriodicTimer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _require_fd(self) -> int:
        if self._fd is None:
            raise TimerClosedError("PeriodicTimer is closed")
        return self._fd

    def _arm(self, at_ns: int) -> None:
        status = lib.fv2g_timerfd_arm(self._require_fd(), max(1, at_ns), 0)
        if status < 0:
            raise OSError(-status, f"timerfd_settime: {os.strerror(-status)}")

    def _consume_expirations(self) -> None:
        try:
            os.read(self._require_fd(), 8)  # u64 expiration count; the C logic counts overruns
        except BlockingIOError:
            pass

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._watch_loop is loop:
            return
        self._unwatch()
        loop.add_reader(self._require_fd(), self._on_readable)
        self._watch_loop = loop

    def _unwatch(self) -> None:
        old, self._watch_loop = self._watch_loop, None
        if old is not None and not old.is_closed() and self._fd is not None:
            old.remove_reader(self._fd)

    def _on_readable(self) -> None:
        """Loop callback: wake the waiting tick() with no system call on the way; readiness
        nobody waits for (the expiration tick() just served, or a period while the control
        step runs) is drained here, so level-triggered epoll never spins."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        elif self._fd is not None:
            self._consume_expirations()


# The real-time levers live in core/realtime.py; re-exported for existing imports.
from .realtime import RealtimeOptions, LeverResult, RealtimeMode  # noqa: E402,F401
