"""Control-loop timing over the C core (ARCHITECTURE.md "Timing").

The deadline arithmetic and lateness statistics are pure C (core/cext/deadline.c) with time
passed in, so `DeadlineTracker` and `LatenessHistogram` are tested with injected time.
`PeriodicTimer` puts a CLOCK_MONOTONIC timerfd under that logic: the asyncio loop watches the
fd (loop.add_reader), so a waiting control loop costs no CPU and wakes at the kernel's
high-resolution deadline instead of asyncio's millisecond-rounded sleep. The loops it serves:
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


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class PeriodicTimer:
    """`await timer.tick()` returns at each CLOCK_MONOTONIC deadline, period_s apart.

    The grid starts at the first tick() (or start()); a tick that comes too late serves the
    earliest missed deadline and counts the later missed ones as overruns, without bursts.
    Many timers may run at once, each on its own timerfd. Lateness includes the time the
    event loop needed to run this task; in a process with busy Python threads, the GIL switch
    interval (sys.setswitchinterval, default 5 ms) bounds how soon the loop thread runs again.
    """

    def __init__(self, period_s: float):
        if not period_s > 0:
            raise ValueError(f"period_s must be > 0, got {period_s!r}")
        self.period_s = float(period_s)
        self._period_ns = max(1, round(period_s * _NS_PER_S))
        fd = lib.fv2g_timerfd_create()
        if fd < 0:
            raise OSError(-fd, f"timerfd_create: {os.strerror(-fd)}")
        self._fd: int | None = fd
        self._finalizer = weakref.finalize(self, _close_fd, fd)
        self._tracker = DeadlineTracker(self._period_ns, 0)
        self._armed = False
        self._stale = False  # the fd may still report an expiration that was served
        self._waiter: asyncio.Future[None] | None = None
        self._waiter_loop: asyncio.AbstractEventLoop | None = None

    @property
    def fileno(self) -> int:
        return self._require_fd()

    @property
    def next_deadline_ns(self) -> int:
        return self._tracker.next_deadline_ns

    def start(self, first_deadline_ns: int | None = None) -> None:
        """Arm the grid; default first deadline: one period from now. A first deadline in the
        past is allowed (the first tick then reports the missed periods)."""
        fd = self._require_fd()
        first = monotonic_ns() + self._period_ns if first_deadline_ns is None else first_deadline_ns
        status = lib.fv2g_timerfd_arm(fd, max(1, first), self._period_ns)
        if status < 0:
            raise OSError(-status, f"timerfd_settime: {os.strerror(-status)}")
        self._tracker.restart(first)
        self._armed = True
        self._stale = True

    async def tick(self) -> Tick:
        self._require_fd()
        if self._waiter is not None:
            raise RuntimeError("tick() is already being awaited on this PeriodicTimer")
        if not self._armed:
            self.start()
        # After a wake the clock is read before anything that releases the GIL (os.read and
        # every cffi call do; a busy Python thread may then keep the GIL for a whole switch
        # interval), and the fd's stale readiness is drained while we are still early.
        while True:
            tick = self._tracker.wake(time.monotonic_ns())
            if tick is not None:
                self._stale = True
                return tick
            if self._stale:
                self._consume_expirations()
                self._stale = False
                continue  # the clock moved while the GIL was away: check again
            await self._readable()
            self._stale = True

    def stats(self) -> LatenessStats:
        return self._tracker.stats()

    def close(self) -> None:
        if self._fd is None:
            return
        if self._waiter is not None and self._waiter_loop is not None:
            self._waiter_loop.remove_reader(self._fd)
            if not self._waiter.done():
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

    def _consume_expirations(self) -> bool:
        try:
            os.read(self._require_fd(), 8)  # u64 expiration count; the C logic counts overruns
        except BlockingIOError:
            return False
        return True

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        fd = self._require_fd()
        waiter = loop.create_future()

        def on_readable() -> None:
            loop.remove_reader(fd)
            if not waiter.done():
                waiter.set_result(None)

        self._waiter, self._waiter_loop = waiter, loop
        loop.add_reader(fd, on_readable)
        try:
            await waiter
        finally:
            if self._fd is not None:
                loop.remove_reader(fd)
            self._waiter = self._waiter_loop = None
