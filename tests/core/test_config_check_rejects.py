"""Issue #10 item 13: `freev2g config check` rejects what cannot run, naming key and value, in one
line per problem and without a traceback; `freev2g simulate --config` refuses the same file with
the same line (both run one check, freev2g.config_check).

Everything is real: TOML files on disk, the installed plugins (sim board, virtual link), the
click CLI through CliRunner, and for a few files the installed `freev2g` console script in a
subprocess (so a traceback printed by the interpreter itself would be seen).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from freev2g.cli import make_cli
from freev2g.plugins import get_plugin_manager

FREEV2G = Path(sys.executable).with_name("freev2g")

# (file text, substrings the one error line must contain)
BAD_FILES = {
    "ac_nominal_voltage_zero": ('[evse]\nac_nominal_voltage = 0.0\n', ("evse.ac_nominal_voltage", "0.0")),
    "nan_in_dc": ("[dc]\nmax_voltage_V = nan\n", ("dc.max_voltage_V", "nan")),
    "inf_in_dc": ("[dc]\nmax_current_A = inf\n", ("dc.max_current_A", "inf")),
    "nan_in_evse": ("[evse]\nmax_current_import_A = nan\n", ("evse.max_current_import_A", "nan")),
    "max_power_zero": ("[dc]\nmax_power_W = 0.0\n", ("dc.max_power_W", "0.0")),
    "max_current_zero": ("[dc]\nmax_current_A = 0\n", ("dc.max_current_A", "0")),
    "ac_current_zero": ('[evse]\ncharge_mode = "AC"\nmax_current_import_A = 0.0\n', ("evse.max_current_import_A", "0.0")),
    "min_voltage_above_max": ("[dc]\nmin_voltage_V = 900.0\nmax_voltage_V = 500.0\n",
                              ("dc.min_voltage_V", "900.0", "dc.max_voltage_V", "500.0")),
    "min_current_above_max": ("[dc]\nmin_current_A = 300.0\n", ("dc.min_current_A", "300.0", "dc.max_current_A")),
    "negative_connector_id": ("[evse]\nconnector_id = -1\n", ("evse.connector_id", "-1")),
    "voltage_above_hardware": ('[evse]\ncharge_mode = "DC"\n[dc]\nmax_voltage_V = 1500.0\n', ("dc.max_voltage_V", "1500.0", "1000.0", "power_supply")),
    "voltage_below_hardware": ('[evse]\ncharge_mode = "DC"\n[dc]\nmin_voltage_V = 50.0\n', ("dc.min_voltage_V", "50.0", "150.0", "power_supply")),
    "sim_option_typo": ("[board.options.sim]\nmax_stepp_s = 1.0\n", ("board.options.sim", "max_stepp_s")),
    "sim_option_bad_value": ("[board.options.sim.power_supply]\nmax_export_voltage_V = -5.0\n",
                             ("board.options.sim.power_supply.max_export_voltage_V", "-5.0")),
    "sim_option_nan": ("[board.options.sim]\nmax_step_s = nan\n", ("board.options.sim.max_step_s", "nan")),
    "serial_option_typo": ('[board]\npower_meter = "serial"\n[board.options.serial]\nport = "/dev/x"\nbaudrat = 9600\n',
                           ("board.options.serial", "baudrat")),
    "serial_option_missing_port": ('[board]\npower_meter = "serial"\n', ("board.options.serial.port", "None")),
    "options_for_unused_driver": ("[board.options.smi]\nmax_step_s = 1.0\n", ("board.options.smi", "smi")),
    "unknown_board": ('[board]\nimd = "nosuch"\n', ("board.imd", "nosuch")),
    "unknown_link": ('[link]\nname = "nosuch"\n', ("link.name", "nosuch")),
    "unknown_uplink": ("[uplinks.nosuch]\nurl = \"x\"\n", ("uplinks.nosuch", "nosuch")),
    "journal_dir_missing": ('journal = "/nonexistent-freev2g-dir/journal.sqlite"\n',
                            ("journal", "/nonexistent-freev2g-dir/journal.sqlite")),
}


@pytest.fixture(scope="module")
def cli():
    return make_cli(get_plugin_manager())


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _assert_one_line(result, path: Path, expected: tuple[str, ...]) -> str:
    assert "Traceback" not in result.output
    assert result.exit_code != 0, result.output
    # A SystemExit, not an exception that CliRunner caught for us (that would be a traceback).
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = _error_lines(result.output)
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith(f"{path}: "), line
    for part in expected:
        assert part in line, (part, line)
    return line


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_config_check_rejects_with_one_line_naming_key_and_value(cli, tmp_path, case):
    text, expected = BAD_FILES[case]
    path = _write(tmp_path, case, text)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    check_line = _assert_one_line(result, path, expected)
    # simulate refuses the same file with the same line, before anything starts.
    sim = CliRunner().invoke(cli, ["simulate", "--config", str(path), "--speed", "max", "--quiet"])
    assert _assert_one_line(sim, path, expected) == check_line


def test_not_utf8_is_one_clear_line(cli, tmp_path):
    path = _write(tmp_path, "latin1", '[station]\nid = "Ladesäule"\n'.encode("latin-1"))
    for args in (["config", "check", str(path)], ["simulate", "--config", str(path), "--quiet"]):
        line = _assert_one_line(CliRunner().invoke(cli, args), path, ("UTF-8",))
        assert "line 2" in line  # where the bad byte is


def test_unwritable_journal_path(cli, tmp_path):
    if os.geteuid() == 0:
        # root may write anywhere a mode forbids; a path below a regular file can never be created.
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        journal = blocker / "journal.sqlite"
    else:  # pragma: no cover - CI runs as root
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        journal = ro / "journal.sqlite"
    path = _write(tmp_path, "journal", f'journal = "{journal}"\n')
    _assert_one_line(CliRunner().invoke(cli, ["config", "check", str(path)]), path, ("journal", str(journal)))


def test_good_file_passes_with_notes(cli, tmp_path):
    path = _write(tmp_path, "good", '[evse]\ncharge_mode = "DC"\nhack_skoda_enyaq = true\n'
                                    '[dc]\nmax_voltage_V = 500.0\n[board.options.sim]\nmax_step_s = 0.5\n'
                                    '[board.options.sim.power_supply]\nmax_export_voltage_V = 500.0\n')
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "evse.hack_skoda_enyaq is accepted but not supported" in result.output
    assert result.output.strip().endswith(f"{path}: OK")


@pytest.mark.parametrize("case", ["unknown_board", "nan_in_dc", "sim_option_typo"])
def test_console_script_prints_one_line_without_traceback(tmp_path, case):
    """The installed `freev2g` script in a real process: stderr has the one line, exit code 1
    (config check) and 2 (simulate, its usage-error code for a bad file)."""
    text, expected = BAD_FILES[case]
    path = _write(tmp_path, case, text)
    bad_bytes = _write(tmp_path, "bytes", b"\xff\xfe[evse]\n")
    for file, parts in ((path, expected), (bad_bytes, ("UTF-8",))):
        for args, code in ((["config", "check", str(file)], 1), (["simulate", "--config", str(file), "--quiet"], 2)):
            proc = subprocess.run([str(FREEV2G), *args], capture_output=True, text=True, timeout=60)
            assert proc.returncode == code, (args, proc.stdout, proc.stderr)
            assert "Traceback" not in proc.stderr + proc.stdout
            lines = _error_lines(proc.stderr)
            assert len(lines) == 1 and all(p in lines[0] for p in parts), proc.stderr


@pytest.mark.parametrize("option", ["--journal", "--report-dir"])
def test_simulate_refuses_an_unwritable_journal_or_report_option_in_one_line(cli, tmp_path, option):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    target = blocker / ("journal.sqlite" if option == "--journal" else "report")
    result = CliRunner().invoke(cli, ["simulate", option, str(target), "--speed", "max", "--quiet"])
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = _error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith(f"{option} {str(target)!r}: "), result.output


def test_a_driver_that_fails_to_start_is_one_line_naming_the_key(cli, tmp_path):
    """What only fails at start (a serial port that is not there) passes the check (the check
    touches no hardware) and then stops the command with one line naming the key."""
    path = _write(tmp_path, "serial", '[evse]\ncharge_mode = "DC"\n[board]\npower_meter = "serial"\n'
                                      '[board.options.serial]\nport = "/dev/nonexistent-freev2g-tty"\n')
    assert CliRunner().invoke(cli, ["config", "check", str(path)]).exit_code == 0
    result = CliRunner().invoke(cli, ["simulate", "--config", str(path), "--speed", "max", "--quiet"])
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = _error_lines(result.output)
    assert len(lines) == 1 and "board.power_meter = 'serial'" in lines[0], result.output
    assert "/dev/nonexistent-freev2g-tty" in lines[0]


@pytest.mark.parametrize("option, name", [("--ev-config", "car.toml"), ("--ev-config", "ev.json"),
                                          ("--scenario", "scenario.toml")])
def test_simulate_other_files_not_utf8_one_line(cli, tmp_path, option, name):
    path = tmp_path / name
    path.write_bytes(b'\n\xff{"x": 1}\n')
    line = _assert_one_line(CliRunner().invoke(cli, ["simulate", option, str(path), "--quiet"]), path, ("UTF-8",))
    assert "line 2" in line
