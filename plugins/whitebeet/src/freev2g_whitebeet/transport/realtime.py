"""Real-time scheduling for the process that owns an HCI transport.

Measured with bench/bench_whitebeet.py on a 2-core machine shared with other busy processes:
the round-trip tail above 2 ms (p99 ~4 ms) is the scheduler, not Python: a process woken by its
socket waits for the next CFS time slice (~4 ms) while other processes hold both cores. With
SCHED_RR (priority 20) on the host and the emulator, p99 fell to ~0.15 ms under the same load.
"""
from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def use_realtime_priority(priority: int | None) -> bool:
    """SCHED_RR at `priority` (1..99) for this process; False (and a warning) when not allowed."""
    if not priority:
        return False
    if not 1 <= int(priority) <= 99:
        raise ValueError(f"rt_priority {priority!r}: expected 1..99")
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(int(priority)))
    except (PermissionError, OSError, AttributeError) as exc:
        log.warning("whitebeet: real-time priority %d not available (%s); latency tails will follow the "
                    "machine load", priority, exc)
        return False
    return True
