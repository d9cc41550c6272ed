"""Scenario files: typed steps, validation errors naming step index and field."""
from __future__ import annotations

import pytest

from freev2g.config import ConfigError
from freev2g.ev.scenario import Inject, PlugIn, Scenario, Sleep, StartCharging, WaitFor, load_scenario, parse_scenario
from freev2g.ev.variables import EvVar
from freev2g.model import EnergyTransferMode

GOOD = """
name = "pause and resume"
[[steps]]
action = "plug_in"
cable_rating_A = 20
[[steps]]
action = "start_charging"
mode = "DC_extended"
e_amount_kWh = 10
[[steps]]
action = "wait_for"
variable = "ev_power_ready"
value = true
timeout_s = 60
[[steps]]
action = "sleep"
duration_s = 30
[[steps]]
action = "inject"
fault = "imd_fault"
params = { resistance_Ohm = 40000 }
"""


def test_good_scenario_loads(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(GOOD)
    sc = load_scenario(path)
    assert sc.name == "pause and resume"
    assert sc.steps == (
        PlugIn(cable_rating_A=20.0),
        StartCharging(mode=EnergyTransferMode.DC_EXTENDED, e_amount_kWh=10.0),
        WaitFor(variable=EvVar.EV_POWER_READY, value=True, timeout_s=60.0),
        Sleep(duration_s=30.0),
        Inject(fault="imd_fault", params={"resistance_Ohm": 40000}),
    )


def test_default_scenario():
    steps = Scenario.default().steps
    assert isinstance(steps[0], PlugIn) and steps[2] == WaitFor(variable=EvVar.V2G_SESSION_FINISHED)


@pytest.mark.parametrize(
    "step, needle",
    [
        ({"action": "plug_in", "foo": 1}, "steps[1] (plug_in): unknown key(s) foo"),
        ({"action": "wait_for", "variable": "nope"},
         "steps[1] (wait_for): variable: must be one of v2g_session_finished, ev_power_ready, ac_evse_max_current, "
         "ac_evse_target_power, dc_power_on, stop_from_charger, pause_from_charger; got 'nope'"),
        ({"action": "wait_for", "variable": "ev_power_ready", "timeout_s": -1}, "steps[1] (wait_for): timeout_s: must be > 0"),
        ({"action": "sleep"}, "steps[1] (sleep): duration_s: missing"),
        ({"action": "jump"}, "steps[1]: action 'jump' unknown"),
        ({"action": "inject", "fault": "meteor"}, "steps[1] (inject): fault: must be one of"),
        ({"action": "update_soc", "soc_pct": 130}, "steps[1] (update_soc): soc_pct: must be within 0..100"),
        ({"action": "start_charging", "mode": "DC_warp"}, "steps[1] (start_charging): mode:"),
        ({"action": "set_fault", "error": "FAILED_Nope"}, "steps[1] (set_fault): error:"),
        ({"action": "enable_sae_j2847_v2g_v2h", "mode": "V2X"}, "mode: must be V2G or V2H"),
    ],
)
def test_validation_names_step_and_field(step, needle):
    with pytest.raises(ConfigError) as info:
        parse_scenario({"steps": [{"action": "plug_in"}, step]}, source="s.toml")
    assert needle in str(info.value)


def test_all_problems_reported_at_once():
    with pytest.raises(ConfigError) as info:
        parse_scenario({"steps": [{"action": "sleep"}, {"action": "jump"}], "extra": 1})
    assert len(info.value.problems) == 3


def test_empty_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="steps: needs at least one"):
        parse_scenario({"name": "x"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[[steps]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_scenario(tmp_path / "missing.toml")
