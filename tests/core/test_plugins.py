"""Plugin manager: built-ins first, entry points isolated, broken ones recorded, env switches."""
from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from freev2g.cli import make_cli
from freev2g.plugins import ENV_BLOCK, ENV_DISABLE_AUTOLOAD, get_plugin_manager
from freev2g.registry import BoardRegistry, DuplicateRegistration, LinkRegistry, RegistryError, UnknownDriver

FIXTURES = Path(__file__).parent / "plugin_fixtures"


@pytest.fixture(autouse=True)
def _fixture_path(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))


def source_of(*names: str):
    eps = [EntryPoint(name=n, value=n, group="freev2g") for n in names]
    return lambda group: eps if group == "freev2g" else []


def test_builtins_come_first_then_entry_points_in_order():
    pm = get_plugin_manager(autoload=True, entry_point_source=source_of("fx_good_board"))
    assert pm.plugin_names()[0] == "freev2g.builtin"
    assert "fx_good_board" in pm.plugin_names()
    assert pm.broken == []


def test_nothing_is_loaded_at_import_time():
    import subprocess
    import sys

    code = "import sys, freev2g, freev2g.cli, freev2g.plugins; print(any(m.startswith('freev2g_') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "name, stage, fragment",
    [
        ("fx_import_error", "load", "ModuleNotFoundError"),
        ("fx_bad_signature", "validate", "surprise"),
        ("fx_unknown_hook", "validate", "freev2g_register_teleporter"),
        ("fx_raises_in_register", "register", "vendor SDK is not installed"),
    ],
)
def test_a_broken_plugin_is_recorded_and_the_others_still_load(name, stage, fragment):
    pm = get_plugin_manager(autoload=True, entry_point_source=source_of(name, "fx_good_board"))
    regs = pm.registries()
    assert [b.name for b in pm.broken] == [name]
    assert pm.broken[0].stage == stage
    assert fragment in pm.broken[0].error
    assert regs.boards.get("connector_lock", "fx_lock").plugin == "fx_good_board"


def test_duplicate_registration_marks_the_later_plugin_broken_and_keeps_the_first():
    pm = get_plugin_manager(autoload=True, entry_point_source=source_of("fx_good_board", "fx_duplicate"))
    regs = pm.registries()
    assert regs.boards.get("connector_lock", "fx_lock").plugin == "fx_good_board"
    assert [(b.name, b.stage) for b in pm.broken] == [("fx_duplicate", "register")]
    assert "registered twice" in pm.broken[0].error


def test_disable_autoload_env_switch(monkeypatch):
    monkeypatch.setenv(ENV_DISABLE_AUTOLOAD, "1")
    pm = get_plugin_manager(entry_point_source=source_of("fx_good_board"))
    assert pm.plugin_names() == ["freev2g.builtin"]


def test_block_env_switch_skips_named_plugins(monkeypatch):
    monkeypatch.setenv(ENV_BLOCK, "fx_import_error, fx_good_board")
    pm = get_plugin_manager(entry_point_source=source_of("fx_import_error", "fx_good_board", "fx_raises_in_register"))
    assert "fx_good_board" not in pm.plugin_names()
    assert [b.name for b in pm.broken] == []  # the raising one breaks only when registries run
    pm.registries()
    assert [b.name for b in pm.broken] == ["fx_raises_in_register"]
    assert pm.blocked == ("fx_import_error", "fx_good_board")


def test_plugins_command_lists_registrations_and_broken_ones():
    pm = get_plugin_manager(autoload=True, entry_point_source=source_of("fx_good_board", "fx_import_error"))
    result = CliRunner().invoke(make_cli(pm), ["plugins"])
    assert result.exit_code == 0, result.output
    assert "fx_good_board" in result.output
    assert "board connector_lock/fx_lock" in result.output
    assert "BROKEN fx_import_error" in result.output and "ModuleNotFoundError" in result.output


def test_plugin_cli_command_is_added_and_runs():
    pm = get_plugin_manager(autoload=True, entry_point_source=source_of("fx_good_board"))
    result = CliRunner().invoke(make_cli(pm), ["fx-hello"])
    assert result.exit_code == 0
    assert result.output.strip() == "hello from fx_good_board"


def test_a_plugin_cannot_take_a_builtin_command_name():
    pm = get_plugin_manager(autoload=True, entry_point_source=source_of("fx_overrides_builtin_command"))
    cli = make_cli(pm)
    assert [(b.name, b.stage) for b in pm.broken] == [("fx_overrides_builtin_command", "register")]
    result = CliRunner().invoke(cli, ["plugins"])
    assert "BROKEN fx_overrides_builtin_command" in result.output


def test_registries_reject_duplicates_bad_kinds_and_roles_and_name_what_is_installed():
    boards = BoardRegistry()
    boards.current_plugin = "a"
    boards.register("bsp", "sim", lambda c, x: None)
    with pytest.raises(DuplicateRegistration, match="bsp/sim registered twice"):
        boards.register("bsp", "sim", lambda c, x: None)
    with pytest.raises(RegistryError, match="board kind 'relay' unknown"):
        boards.register("relay", "x", lambda c, x: None)
    with pytest.raises(RegistryError, match="factory must be callable"):
        boards.register("imd", "x", "not callable")
    with pytest.raises(UnknownDriver, match="installed: bsp/sim"):
        boards.get("bsp", "serial")
    links = LinkRegistry()
    with pytest.raises(RegistryError, match="role must be 'evse' or 'ev'"):
        links.register("virtual", "car", lambda c, x: None)


def test_the_installed_third_party_distribution_is_found_through_its_entry_point():
    """tests/third_party_plugin is pip-installed into the test environment by `make test`."""
    pm = get_plugin_manager()
    info = pm.infos.get("example_meter")
    assert info is not None, f"example plugin not installed; plugins: {pm.plugin_names()}"
    assert info.distribution == "freev2g-example-meter"
    reg = pm.registries().boards.get("power_meter", "fixed_load")
    assert reg.plugin == "example_meter"

    class Clock:
        def monotonic(self):
            return 1800.0

    from freev2g.registry import BoardContext

    meter = reg.factory({"power_W": 11000.0}, BoardContext(clock=Clock()))
    assert meter.read().energy_import_Wh == pytest.approx(5500.0)
    result = CliRunner().invoke(make_cli(pm), ["meter-demo", "--power-w", "3700", "--hours", "2"])
    assert result.exit_code == 0 and result.output.strip() == "7400.0 Wh"
