"""`freev2g simulate` through click's CliRunner at --speed max (virtual time)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from freev2g.cli import make_cli

QUICK_CAR = """
[battery]
start_soc_pct = 78
target_soc_pct = 80
"""


def _cli(pm):
    return make_cli(pm)  # simulate/evse/ev are built-in commands of the real CLI


def test_simulate_prints_log_summary_and_writes_report(pm, tmp_path):
    car = tmp_path / "car.toml"
    car.write_text(QUICK_CAR)
    report = tmp_path / "report"
    res = CliRunner().invoke(_cli(pm), ["simulate", "--protocol", "iso2", "--mode", "dc", "--scale", "--speed", "max",
                                        "--ev-config", str(car), "--report-dir", str(report)])
    assert res.exit_code == 0, res.output
    out = res.output
    assert '"Session started": protocol iso2' in out and "CurrentDemandReq" in out and "SCALE:" in out
    assert "Summary" in out and "stop cause" in out and f"Report: {report.resolve()}" in out
    assert "\r" not in out  # no live status line when stdout is not a TTY
    summary = json.loads((report / "summary.json").read_text())
    assert summary["energy_Wh"] > 0 and summary["end_soc_pct"] >= 79.5
    assert (report / "plot.svg").read_text().startswith("<svg") and (report / "journal.sqlite").exists()


def test_simulate_rejects_bad_combination(pm):
    res = CliRunner().invoke(_cli(pm), ["simulate", "--protocol", "din", "--mode", "ac", "--speed", "max"])
    assert res.exit_code == 2 and "DIN 70121 is DC only" in res.output


def test_simulate_reports_scenario_errors(pm, tmp_path):
    sc = tmp_path / "bad.toml"
    sc.write_text('[[steps]]\naction = "sleep"\n')
    res = CliRunner().invoke(_cli(pm), ["simulate", "--speed", "max", "--scenario", str(sc)])
    assert res.exit_code == 2 and "steps[0] (sleep): duration_s: missing" in res.output


def test_failed_scenario_step_exits_1(pm, tmp_path):
    sc = tmp_path / "wait.toml"
    sc.write_text('[[steps]]\naction = "plug_in"\n[[steps]]\naction = "wait_for"\nvariable = "ev_power_ready"\ntimeout_s = 5\n')
    res = CliRunner().invoke(_cli(pm), ["simulate", "--speed", "max", "--scenario", str(sc), "--quiet"])
    assert res.exit_code == 1 and "scenario FAILED" in res.output and "ev_power_ready not seen within 5 s" in res.output
