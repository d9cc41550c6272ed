"""Opt-in real-time levers for the thread that runs the control loop (ARCHITECTURE.md "Timing").

A woken control loop still needs the GIL and a CPU: `RealtimeMode` applies, and restores on
exit, the GIL switch interval, timer slack, SCHED_FIFO, CPU pinning and nice; a refused lever is
reported and the others still apply. bench/bench_timer.py measures each lever.
"""
from __future__ import annotations

import os
import sys
import threading

from attrs import field, frozen

from .cext.loader import load_core

lib = load_core().lib  # the C glue for timer slack (core/cext/timerfd_glue.c)

def _positive_or_none(instance: object, attribute: object, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"RealtimeOptions.{attribute.name} must be > 0 or None, got {value!r}")


@frozen
class RealtimeOptions:
    """Levers for the thread that runs the control loop; None leaves a lever alone.

    switch_interval_s: sys.setswitchinterval for the whole process (CPython's default 5 ms is
      how long a thread waiting for the GIL, e.g. the loop thread just woken by its timerfd,
      waits before it asks a busy Python thread to hand the GIL over). Lower values cost
      nothing while only one thread wants the GIL, and more GIL hand-overs otherwise. 0.1 ms met
      the p99 <= 0.3 ms target at both 25 ms and 250 ms periods in every bench/bench_timer.py
      run so far; 0.02 ms did in some runs only (both cost a busy thread a few % of its work).
    fifo_priority: SCHED_FIFO priority of the calling thread (Linux, needs CAP_SYS_NICE or an
      RLIMIT_RTPRIO allowance; the kernel's RT throttling still caps a runaway thread).
    timer_slack_ns: the calling thread's timer slack (prctl), default 50 us; timerfd
      expirations ignore it, but the GIL's timed wait and epoll timeouts do not. (Recent
      kernels give SCHED_FIFO threads zero slack whatever is set.)
    cpu: pin the calling thread to this CPU (sched_setaffinity).
    process_nice: nice value for every thread of the process (Linux nice is per thread; threads
      started later inherit their creator's). A woken loop thread waits for whichever thread
      holds the GIL, so that thread's share of a loaded machine bounds the wake; None: no change.
    """

    switch_interval_s: float | None = field(default=0.0001, validator=_positive_or_none)
    fifo_priority: int | None = field(default=10, validator=_positive_or_none)
    timer_slack_ns: int | None = field(default=1, validator=_positive_or_none)
    cpu: int | None = None
    process_nice: int | None = field(default=None)

    @process_nice.validator
    def _check_nice(self, attribute: object, value: int | None) -> None:
        if value is not None and not -20 <= value <= 19:
            raise ValueError(f"RealtimeOptions.process_nice must be -20..19 or None, got {value!r}")


@frozen
class LeverResult:
    """One lever of a RealtimeMode: what was asked, and whether the system allowed it."""

    name: str
    requested: str
    applied: bool
    error: str | None = None


class RealtimeMode:
    """`with RealtimeMode(options) as levers:` applies RealtimeOptions to the calling thread
    (call it from the event-loop thread) and restores every previous setting on exit.

    Fails soft: a lever the system refuses (no privilege, no such CPU) is reported in the
    LeverResult tuple with the error, and the others still apply. Not reentrant; exit from the
    thread that entered (the thread-level levers belong to it).
    """

    def __init__(self, options: RealtimeOptions | None = None):
        self.options = options if options is not None else RealtimeOptions()
        self._restore: list[tuple[object, object]] = []
        self._thread: int | None = None

    def __enter__(self) -> tuple[LeverResult, ...]:
        if self._thread is not None:
            raise RuntimeError("RealtimeMode is already active")
        self._thread = threading.get_ident()
        o, results = self.options, []
        levers = (  # name, value, text, read state, write state, value -> state
            ("switch_interval", o.switch_interval_s, "{:g} s", sys.getswitchinterval, sys.setswitchinterval, None),
            ("timer_slack", o.timer_slack_ns, "{} ns", _get_slack, _set_slack, None),
            ("sched_fifo", o.fifo_priority, "priority {}", _get_sched, _set_sched, lambda p: (os.SCHED_FIFO, p)),
            ("cpu_affinity", o.cpu, "CPU {}", _get_affinity, _set_affinity, lambda cpu: {cpu}),
            ("process_nice", o.process_nice, "nice {}", _get_nices, _set_nices,
             lambda nice: dict.fromkeys(_get_nices(), nice)),
        )
        for name, value, text, get, set_, to_state in levers:
            if value is None:
                continue
            requested = text.format(value)
            try:
                previous = get()
            except (OSError, AttributeError) as exc:  # AttributeError: not Linux
                results.append(LeverResult(name, requested, False, f"{type(exc).__name__}: {exc}"))
                continue
            try:
                set_(value if to_state is None else to_state(value))
            except (OSError, ValueError) as exc:
                try:
                    set_(previous)  # a lever applied to some threads only is undone
                except OSError:
                    pass
                results.append(LeverResult(name, requested, False, f"{type(exc).__name__}: {exc}"))
                continue
            self._restore.append((set_, previous))
            results.append(LeverResult(name, requested, True))
        return tuple(results)

    def __exit__(self, *exc: object) -> None:
        if self._thread != threading.get_ident():
            raise RuntimeError("RealtimeMode must be exited by the thread that entered it")
        while self._restore:
            set_, previous = self._restore.pop()
            set_(previous)
        self._thread = None


def _get_slack() -> int:
    value = lib.fv2g_thread_get_timer_slack()
    if value < 0:
        raise OSError(-value, f"prctl(PR_GET_TIMERSLACK): {os.strerror(-value)}")
    return value


def _set_slack(slack_ns: int) -> None:
    status = lib.fv2g_thread_set_timer_slack(slack_ns)
    if status < 0:
        raise OSError(-status, f"prctl(PR_SET_TIMERSLACK, {slack_ns}): {os.strerror(-status)}")


def _get_sched() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.sched_getparam(0).sched_priority


def _set_sched(policy_priority: tuple[int, int]) -> None:
    policy, priority = policy_priority
    os.sched_setscheduler(0, policy, os.sched_param(priority))


def _get_affinity() -> set[int]:
    return os.sched_getaffinity(0)


def _set_affinity(cpus: set[int]) -> None:
    os.sched_setaffinity(0, cpus)


def _get_nices() -> dict[int, int]:
    nices = {}
    for name in os.listdir("/proc/self/task"):
        try:
            nices[int(name)] = os.getpriority(os.PRIO_PROCESS, int(name))
        except ProcessLookupError:  # the thread ended meanwhile
            pass
    return nices


def _set_nices(nices: dict[int, int]) -> None:
    for tid, nice in nices.items():
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except ProcessLookupError:
            pass


@frozen
class GcPolicy:
    """Garbage-collector settings for a process that runs charge loops.

    A full (generation 2) collection stops every loop in the process at once: with hundreds of
    simulated sessions in one process it took 50-120 ms and set the p99 of the 25 ms DC loop
    (bench/bench_sessions.py). `quiet_gc` freezes what start-up created and raises the thresholds
    so that young objects are still collected often but full collections wait for
    `collect_full()` at a quiet moment (between sessions, or on a slow timer).
    """

    gen0: int = 5000
    gen1: int = 50
    gen2: int = 100_000


def quiet_gc(policy: GcPolicy = GcPolicy()) -> tuple[int, int, int]:
    """Freeze start-up objects and apply `policy`; returns the previous thresholds."""
    import gc

    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(policy.gen0, policy.gen1, policy.gen2)
    return previous


def collect_full() -> int:
    """The full collection that `quiet_gc` postponed; call it when no loop is running."""
    import gc

    return gc.collect()
