"""Issue #11, Configuration: one precedence (command line > station file > the simulation's
defaults), the authorization line, `config example` / `scenario example`, `config check` on
station, car and scenario files, and error lines that help (did you mean, the value, the enum).

Simulations run through the real CLI (click's CliRunner) at --speed max on the real sim board
and journal into a real sqlite file; the physical outcome (DC volts and amps metered) and the
journalled cause are read back from that file.
"""
from __future__ import annotations

import json
import re
import sqlite3
import tomllib

import pytest
from attrs import fields
from click.testing import CliRunner

from freev2g.cli import make_cli
from freev2g.config import EvseManagerConfig, parse_station_config
from freev2g.config_example import EXAMPLE_STATION_TOML
from freev2g.ev.config import EXAMPLE_CAR_TOML, parse_car_config
from freev2g.ev.scenario import parse_scenario

QUICK_CAR = "[battery]\nstart_soc_pct = 76\ntarget_soc_pct = 80\n"


def _run(pm, args, tmp_path):
    car = tmp_path / "car.toml"
    car.write_text(QUICK_CAR)
    journal = tmp_path / "journal.sqlite"
    res = CliRunner().invoke(make_cli(pm), ["simulate", "--speed", "max", "--ev-config", str(car),
                                            "--journal", str(journal), *args])
    return res, journal


def _journal(journal):
    with sqlite3.connect(journal) as db:
        sessions = db.execute("select protocol, stop_cause from sessions").fetchall()
        volts, amps = db.execute("select max(voltage_V), max(current_A) from meter_values").fetchone()
        auth = [json.loads(d) for (d,) in db.execute("select data from events where kind = 'Authorized'")]
    return sessions, volts, amps, auth


@pytest.mark.parametrize("content", ["", '[station]\nid = "my-station"\n'], ids=["empty", "station-table-only"])
def test_a_station_file_that_sets_no_evse_key_keeps_the_dc_hlc_free_service_station(plugin_manager, tmp_path, content):
    """Before: the file's EvseManager defaults (charge_mode AC, authorization on) replaced the
    simulation's, the DC car never saw 5 % and the session died."""
    station = tmp_path / "station.toml"
    station.write_text(content)
    res, journal = _run(plugin_manager, ["--protocol", "iso2", "--mode", "dc", "--config", str(station)], tmp_path)
    assert res.exit_code == 0, res.output
    sessions, volts, amps, auth = _journal(journal)
    assert sessions == [("iso2", "ev_stop")]
    assert volts > 300 and amps > 50  # DC power flowed through the sim board
    assert auth and auth[0]["accepted"] and auth[0]["reason"] == "free service"
    assert "authorization: free service" in res.output and "simulation's default" in res.output


def test_an_uplink_only_file_keeps_the_simulation_defaults(plugin_manager, tmp_path):
    """The structured config a `[uplinks.ocpp]`-only file gives (the OCPP plugin parses it; no
    CSMS is contacted here) is merged onto the DC free-service defaults."""
    from freev2g.config_check import check_station_file
    from freev2g.sim_config import authorization_line, merge_station
    from freev2g.simulate import default_station_config

    station = tmp_path / "station.toml"
    station.write_text('[uplinks.ocpp]\nurl = "ws://127.0.0.1:9/ocpp"\n')
    checked = check_station_file(plugin_manager, station)
    cfg = merge_station(default_station_config("dc"), checked.config, checked.data)
    assert cfg.evse.charge_mode.value == "DC" and cfg.evse.disable_authentication is True
    assert "ocpp" in cfg.uplinks
    line = authorization_line(cfg, data=checked.data, source=str(station), id_token=None, policy_plugins=0)
    assert line.startswith("authorization: free service") and "uplink ocpp is not asked" in line


def test_the_mode_flag_overrides_the_file_with_a_one_line_note(plugin_manager, tmp_path):
    station = tmp_path / "station.toml"
    station.write_text('[evse]\ncharge_mode = "AC"\n')
    res, journal = _run(plugin_manager, ["--mode", "dc", "--config", str(station)], tmp_path)
    assert res.exit_code == 0, res.output
    assert f"note: --mode dc overrides evse.charge_mode = 'AC' in {station}" in res.output
    sessions, volts, amps, _ = _journal(journal)
    assert sessions == [("iso2", "ev_stop")] and volts > 300 and amps > 50


def test_without_a_mode_flag_the_files_charge_mode_decides(plugin_manager, tmp_path):
    """File > defaults: an AC station file runs an AC session with ISO 15118 (the simulation's AC
    HLC keys), the EV too."""
    station = tmp_path / "station.toml"
    station.write_text('[evse]\ncharge_mode = "AC"\n')
    res, journal = _run(plugin_manager, ["--config", str(station)], tmp_path)
    assert res.exit_code == 0, res.output
    assert "note:" not in res.output and "iso2 / ac" in res.output
    sessions, volts, _, _ = _journal(journal)
    assert sessions == [("iso2", "ev_stop")] and 200 < volts < 260  # AC mains, not a DC output


def test_the_authorization_line_says_when_nothing_will_answer_and_is_right(plugin_manager, tmp_path):
    station = tmp_path / "station.toml"
    station.write_text("[evse]\ndisable_authentication = false\n")
    res, journal = _run(plugin_manager, ["--config", str(station)], tmp_path)
    line = next(x for x in res.output.splitlines() if x.startswith("authorization:"))
    assert f"evse.disable_authentication = false in {station}" in line and "authorization_timeout" in line
    sessions, _, amps, _ = _journal(journal)
    assert sessions == [("iso2", "authorization_timeout")] and not amps  # no current ever flowed


def test_an_id_token_overrides_the_files_free_service_with_a_note(plugin_manager, tmp_path):
    """Command line > file: --id-token asks for an authorization although the file says free
    service; with nothing installed to answer it, the line says so and the journal agrees."""
    station = tmp_path / "station.toml"
    station.write_text("[evse]\ndisable_authentication = true\n")
    res, journal = _run(plugin_manager, ["--config", str(station), "--id-token", "ABC123"], tmp_path)
    assert f"note: --id-token overrides evse.disable_authentication = true in {station}" in res.output
    line = next(x for x in res.output.splitlines() if x.startswith("authorization:"))
    assert "'ABC123'" in line and "authorization_timeout" in line
    sessions, _, amps, _ = _journal(journal)
    assert sessions == [("iso2", "authorization_timeout")] and not amps


def test_an_unknown_uplink_name_suggests_the_installed_one(plugin_manager, tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('[uplinks.ocp]\nurl = "ws://127.0.0.1:9/ocpp"\n')
    res = CliRunner().invoke(make_cli(plugin_manager), ["config", "check", str(path)])
    assert res.exit_code == 1
    assert f"{path}: uplinks.ocp: no uplink plugin named 'ocp'; did you mean 'ocpp'?" in res.output


def test_freev2g_evse_applies_the_same_precedence_and_says_how_it_authorizes(tmp_path):
    """`freev2g evse --config` (a real process on a real socket): a file without [evse] keys keeps
    the DC free-service station; the process is stopped with SIGTERM once it listens."""
    import signal
    import subprocess
    import sys
    import threading

    station = tmp_path / "station.toml"
    station.write_text('[station]\nid = "two-process"\n')
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from freev2g.cli import main; main(sys.argv[1:])",
                             "evse", "--config", str(station), "--socket", str(tmp_path / "plc.sock")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(60.0, proc.kill)  # a station that never prints the line: end the read
    watchdog.start()
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("authorization:"):
                break
    finally:
        watchdog.cancel()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert any("ready on" in x for x in lines), lines
    assert lines[-1].startswith("authorization: free service") and "simulation's default" in lines[-1], lines


def _uncommented(text: str) -> str:
    """The example with every commented key and table switched on."""
    return re.sub(r"^# (\[|[a-z_]+ = )", r"\1", text, flags=re.M)


def test_config_example_marks_every_value_that_is_not_the_seed_default():
    doc = tomllib.loads(EXAMPLE_STATION_TOML)
    defaults = EvseManagerConfig()
    lines = {m.group(1): m.group(0) for m in re.finditer(r"^#? ?([a-zA-Z_0-9]+) = .*$", EXAMPLE_STATION_TOML, re.M)}
    for key, value in doc["evse"].items():
        default = getattr(defaults, key)
        default = getattr(default, "value", default)
        if value != default:
            assert "default:" in lines[key], f"evse.{key} = {value!r} differs from the seed default {default!r}"
    for key in ("ac_hlc_enabled", "ac_hlc_use_5percent", "ac_enforce_hlc"):
        assert key in lines, f"the AC HLC key {key} is not shown"


def test_config_example_puts_every_commented_key_under_its_own_table(plugin_manager):
    doc = tomllib.loads(_uncommented(EXAMPLE_STATION_TOML))
    assert "journal" in doc and "journal_durability" in doc  # top level, not under [link]
    assert set(doc["link"]) == {"name"}
    assert {"ac_hlc_enabled", "supported_iso_ac_bpt"} <= set(doc["evse"])
    types = {r.name: r.config_type for r in plugin_manager.registries().uplinks.all()}
    parse_station_config(doc, uplink_types=types)  # every switched-on key is a valid key


def test_car_and_scenario_examples_parse_and_config_check_detects_each_kind(plugin_manager, tmp_path):
    from freev2g.config_example import EXAMPLE_SCENARIO_TOML

    cli = make_cli(plugin_manager)
    car = CliRunner().invoke(cli, ["config", "example", "--car"])
    scenario = CliRunner().invoke(cli, ["scenario", "example"])
    assert car.exit_code == 0 and scenario.exit_code == 0
    assert car.output == EXAMPLE_CAR_TOML and scenario.output == EXAMPLE_SCENARIO_TOML
    parse_car_config(tomllib.loads(car.output))
    assert len(parse_scenario(tomllib.loads(scenario.output)).steps) >= 5
    for kind, text in (("car", car.output), ("scenario", scenario.output), ("station", EXAMPLE_STATION_TOML)):
        path = tmp_path / f"{kind}.toml"
        path.write_text(text)
        res = CliRunner().invoke(cli, ["config", "check", str(path)])
        assert res.exit_code == 0 and f"{path}: checked as a {kind} file\n{path}: OK\n" in res.output, res.output
    bad = tmp_path / "bad_car.toml"
    bad.write_text('[battery]\nstart_soc_pct = "half"\n')
    res = CliRunner().invoke(cli, ["config", "check", str(bad)])
    assert res.exit_code == 1 and f"{bad}: battery.start_soc_pct: expected float, got str 'half'" in res.output


def test_the_example_scenario_pauses_resumes_and_charges_to_the_target(plugin_manager, tmp_path):
    """`scenario example` is a scenario that works as its comments say (real sim board, journal)."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(CliRunner().invoke(make_cli(plugin_manager), ["scenario", "example"]).output)
    journal = tmp_path / "journal.sqlite"
    res = CliRunner().invoke(make_cli(plugin_manager), ["simulate", "--speed", "max", "--quiet", "--scenario",
                                                        str(scenario), "--journal", str(journal)])
    assert res.exit_code == 0, res.output
    with sqlite3.connect(journal) as db:
        assert db.execute("select stop_cause from sessions").fetchall() == [("ev_stop",)]
        kinds = [k for (k,) in db.execute("select kind from events order by seq")]
        soc = db.execute("select max(soc_pct) from meter_values").fetchone()[0]
    assert kinds.count("ChargingPaused") == 1 and kinds.count("ChargingResumed") == 1
    assert kinds.index("ChargingPaused") < kinds.index("ChargingResumed")
    assert soc is None or soc >= 79.5
    assert "SoC             : 66.0 % -> 80.0 %" in res.output


def test_config_check_never_calls_a_working_key_no_effect(plugin_manager, tmp_path):
    path = tmp_path / "station.toml"
    path.write_text("[evse]\nsupported_iso_ac_bpt = true\nenable_autocharge = true\n"
                    "fail_on_powermeter_errors = false\nhack_skoda_enyaq = true\n")
    res = CliRunner().invoke(make_cli(plugin_manager), ["config", "check", str(path)])
    assert res.exit_code == 0, res.output
    noted = re.findall(r"evse\.(\w+) is accepted but not supported", res.output)
    assert noted == ["hack_skoda_enyaq"]


def test_errors_suggest_the_key_name_the_value_and_list_the_enum(plugin_manager, tmp_path):
    path = tmp_path / "station.toml"
    path.write_text('[evse]\ncharge_mod = "DC"\ncharge_mode = "dc"\nmax_current_import_A = "32"\n'
                    '[evsee]\nx = 1\n')
    res = CliRunner().invoke(make_cli(plugin_manager), ["config", "check", str(path)])
    assert res.exit_code == 1
    out = res.output
    assert f"{path}: evse.charge_mod: unknown key; did you mean 'charge_mode'?" in out
    assert f"{path}: evsee: unknown table; did you mean 'evse'?" in out
    assert f"{path}: evse.max_current_import_A: expected float, got str '32'" in out
    assert f"{path}: evse.charge_mode: must be one of AC, DC; got 'dc'" in out


def test_scenario_errors_suggest_the_action_and_the_key(plugin_manager, tmp_path):
    path = tmp_path / "scenario.toml"
    path.write_text('[[steps]]\naction = "plugin"\n[[steps]]\naction = "plug_in"\ncable_rating = 3\n')
    res = CliRunner().invoke(make_cli(plugin_manager), ["config", "check", str(path)])
    assert res.exit_code == 1
    assert "steps[0]: action 'plugin' unknown; did you mean 'plug_in'?" in res.output
    assert "steps[1] (plug_in): unknown key(s) cable_rating; did you mean 'cable_rating_A'?" in res.output


def test_scenario_type_and_enum_errors_name_the_value_and_the_choices(plugin_manager, tmp_path):
    """Scenarios are read as strictly as station and car files: "ten" is not a number."""
    path = tmp_path / "scenario.toml"
    path.write_text('[[steps]]\naction = "sleep"\nduration_s = "10"\n'
                    '[[steps]]\naction = "start_charging"\nmode = "dc"\n')
    res = CliRunner().invoke(make_cli(plugin_manager), ["config", "check", str(path)])
    assert res.exit_code == 1
    assert "steps[0] (sleep): duration_s: expected float, got str '10'" in res.output
    assert "steps[1] (start_charging): mode: must be one of AC_single_phase_core," in res.output
    assert "DC_extended" in res.output and "got 'dc'" in res.output


def test_every_evse_field_is_either_supported_or_reported():
    """The SUPPORTED set only names real fields (a typo there would hide a working key)."""
    from freev2g.config import SUPPORTED_EVSE_KEYS

    assert SUPPORTED_EVSE_KEYS <= {f.name for f in fields(EvseManagerConfig)}
