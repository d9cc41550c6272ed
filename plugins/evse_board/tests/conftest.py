import pytest
from attrs import define
from freev2g.clock import Clock
from freev2g.registry import BoardContext
from freev2g.testing import virtual_loop  # noqa: F401  (the pytest11 entry point may not be installed)

from freev2g_evse_board.sim import make_sim_factory


@define
class SimBench:
    ctx: BoardContext
    bsp: object
    imd: object
    psu: object
    lock: object
    meter: object
    ev: object

    @property
    def model(self):
        return self.ctx.shared["sim_model"]

    @property
    def clock(self):
        return self.ctx.clock


def make_bench(evse_options=None, ev_options=None) -> SimBench:
    ctx = BoardContext(clock=Clock())
    made = {
        kind: make_sim_factory(kind)(evse_options or {}, ctx)
        for kind in ("bsp", "imd", "power_supply", "connector_lock", "power_meter")
    }
    ev = make_sim_factory("ev_board")(ev_options or {}, ctx)
    return SimBench(ctx, made["bsp"], made["imd"], made["power_supply"], made["connector_lock"],
                    made["power_meter"], ev)


@pytest.fixture
def bench() -> SimBench:
    return make_bench()


@pytest.fixture
def bench_factory():
    return make_bench
