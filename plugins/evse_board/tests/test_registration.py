"""The entry point registers "sim" for every board kind; sim factories share ONE model per
BoardContext.shared; options are validated with the key named."""
import pytest
from freev2g import boards
from freev2g.clock import Clock
from freev2g.plugins import get_plugin_manager
from freev2g.registry import BoardContext

from freev2g_evse_board.sim import SimConfigError, SimModel, parse_sim_config

PROTOCOLS = {
    "bsp": boards.ControlPilot,
    "imd": boards.IsolationMonitor,
    "power_supply": boards.PowerSupply,
    "connector_lock": boards.ConnectorLock,
    "power_meter": boards.PowerMeter,
    "ev_board": boards.EvBoard,
}


@pytest.fixture(scope="module")
def registries():
    pm = get_plugin_manager()
    assert "evse_board" in pm.infos and "evse_board" not in {b.name for b in pm.broken}
    return pm.registries()


def test_sim_registered_for_every_kind_and_shares_one_model(registries):
    shared: dict = {}
    ctx_evse = BoardContext(clock=Clock(), shared=shared)
    ctx_ev = BoardContext(clock=ctx_evse.clock, shared=shared)
    made = {}
    for kind, proto in PROTOCOLS.items():
        reg = registries.boards.get(kind, "sim")
        assert reg.plugin == "evse_board"
        made[kind] = reg.factory({}, ctx_ev if kind == "ev_board" else ctx_evse)
        assert isinstance(made[kind], proto), kind
    assert isinstance(shared["sim_model"], SimModel)
    assert len({id(d.model) for d in made.values()}) == 1
    made["ev_board"].set_cp_state("C")
    assert made["bsp"].cp_state().value == "C"


def test_ev_side_options_set_the_battery_of_the_existing_model(registries):
    ctx = BoardContext(clock=Clock())
    bsp = registries.boards.get("bsp", "sim").factory({"evse": {"ac_phases": 1}}, ctx)
    ev = registries.boards.get("ev_board", "sim").factory({"battery": {"soc_pct": 77.0}}, ctx)
    assert ev.battery_soc_pct() == 77.0
    assert bsp.capabilities().max_phases == 1


def test_separate_contexts_get_separate_models(registries):
    f = registries.boards.get("bsp", "sim").factory
    a, b = f({}, BoardContext(clock=Clock())), f({}, BoardContext(clock=Clock()))
    assert a.model is not b.model


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"nope": 1}, "extra fields found (nope)"),
        ({"power_supply": {"ramp_V_per_s": -5}}, "ramp_V_per_s must be > 0, got -5"),
        ({"battery": {"capacity_Wh": "big"}}, "battery.capacity_Wh"),
        ({"battery": {"ocv_curve": [[0, 300]]}}, "ocv_curve"),
        ({"imd": {"colour": "red"}}, "colour"),
    ],
)
def test_bad_options_name_the_key(options, fragment):
    with pytest.raises(SimConfigError, match="board.options.sim") as info:
        parse_sim_config(options)
    assert fragment in str(info.value)


def test_options_structure_into_config():
    cfg = parse_sim_config({"battery": {"ocv_curve": [[0, 300], [100, 400]]}, "max_step_s": 0.5})
    assert cfg.battery.ocv_curve == ((0.0, 300.0), (100.0, 400.0))
    assert cfg.max_step_s == 0.5
