"""quiet_gc: start-up objects frozen, full collections postponed, previous settings returned."""
from __future__ import annotations

import gc

from freev2g.realtime import GcPolicy, collect_full, quiet_gc


def test_quiet_gc_freezes_and_raises_thresholds_then_restores():
    before = gc.get_threshold()
    try:
        previous = quiet_gc(GcPolicy(gen0=4000, gen1=40, gen2=90_000))
        assert previous == before
        assert gc.get_threshold() == (4000, 40, 90_000)
        assert gc.get_freeze_count() > 0  # the test process's start-up objects are out of the way
        cycle = []
        cycle.append(cycle)
        del cycle
        assert collect_full() >= 1  # the postponed full collection still finds cyclic garbage
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
