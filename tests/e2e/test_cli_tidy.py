"""Issue #11, Install and CLI tidiness: builds print no setuptools deprecation, the example
third-party plugin stays out of `make demo`'s install, `board list` columns line up, help texts
explain --speed / --scenario and point at nothing a user does not have, a missing interface or
file gives one line naming it.

Real parts: `python -m build --no-isolation` on the real pyproject.toml files, `make -n` on the
real Makefile, the real CLI (CliRunner, and a subprocess of the installed `freev2g` script).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from freev2g.cli import make_cli

ROOT = Path(__file__).resolve().parents[2]
FREEV2G = Path(sys.executable).with_name("freev2g")
PROJECTS = [ROOT] + sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_building_a_project_prints_no_setuptools_warning(project, tmp_path):
    """The sdist build runs the same pyproject.toml validation as `pip install -e` (the wall of
    `project.license` deprecations came from there)."""
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--outdir", str(tmp_path),
                           str(project)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    warnings = [line for line in out.splitlines() if re.search(r"warning|deprecat", line, re.I)]
    assert not warnings, "\n".join(warnings)


def _make_dry_run(target: str) -> str:
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    proc = subprocess.run(["make", "-n", "-B", "--no-print-directory", target], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_make_demo_does_not_install_the_example_third_party_plugin():
    demo = _make_dry_run("demo")
    assert "freev2g simulate" in demo and "pip install" in demo
    assert "third_party_plugin" not in demo


def test_make_test_still_installs_the_example_third_party_plugin():
    assert "-e tests/third_party_plugin" in _make_dry_run("test-fast")


def test_board_list_columns_line_up(pm):
    res = CliRunner().invoke(make_cli(pm), ["board", "list"])
    assert res.exit_code == 0, res.output
    regs = sorted(pm.registries().boards.all(), key=lambda r: (r.kind, r.name))
    lines = [line for line in res.output.splitlines() if line.strip()][1:]  # after the header
    assert len(lines) == len(regs)
    starts = set()
    for line, reg in zip(lines, regs):
        name_at = line.index(reg.name, len(reg.kind))
        plugin_at = line.index(reg.plugin, name_at + len(reg.name))
        desc_at = line.index(reg.description, plugin_at + len(reg.plugin))
        starts.add((name_at, plugin_at, desc_at))
    assert len(starts) == 1, starts


def _helps(cmd: click.Command, path: list[str]):
    yield " ".join(path), cmd.get_help(click.Context(cmd, info_name=" ".join(path)))
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _helps(sub, path + [name])


def test_help_texts_point_at_nothing_a_user_does_not_have(pm):
    bad = []
    for where, text in _helps(make_cli(pm), ["freev2g"]):
        flat = " ".join(text.split())
        for m in re.finditer(r"\S*\.py\b|\S*\.md\b|fact sheet|\bseed \d+|shared/", flat):
            bad.append(f"{where}: {m.group(0)}")
    assert not bad, bad


@pytest.mark.parametrize("command", ["simulate", "ev"])
def test_help_explains_speed_and_scenario(pm, command):
    text = " ".join(CliRunner().invoke(make_cli(pm), [command, "--help"]).output.split())
    assert re.search(r"--speed TEXT .*1 = real time, N = N times faster", text), text
    assert re.search(r"--scenario FILE Scenario TOML.*freev2g scenario example", text), text


def _one_line(args: list[str]) -> tuple[int, list[str]]:
    proc = subprocess.run([str(FREEV2G), *args], capture_output=True, text=True, timeout=120)
    lines = [x for x in (proc.stdout + proc.stderr).splitlines() if x.strip()]
    return proc.returncode, lines


@pytest.mark.parametrize("args, named", [
    (["whitebeet", "info", "--iface", "nope0"], "nope0"),
    (["whitebeet", "evse", "--iface", "nope0"], "nope0"),
    (["whitebeet", "ev", "--iface", "nope0", "--config", "car.toml"], "nope0"),
    (["whitebeet", "capture", "--iface", "nope0", "--count", "1"], "nope0"),
    (["whitebeet", "emulate", "--iface", "nope0", "--role", "evse"], "nope0"),
    (["whitebeet", "evse", "--iface", "lo", "--config", "/nonexistent/station.toml"], "/nonexistent/station.toml"),
    (["whitebeet", "ev", "--iface", "lo", "--config", "/nonexistent/car.toml"], "/nonexistent/car.toml"),
    (["simulate", "--config", "/nonexistent/station.toml"], "/nonexistent/station.toml"),
    (["simulate", "--ev-config", "/nonexistent/car.toml"], "/nonexistent/car.toml"),
    (["evse", "--config", "/nonexistent/station.toml"], "/nonexistent/station.toml"),
    (["ev", "--scenario", "/nonexistent/scenario.toml"], "/nonexistent/scenario.toml"),
    (["config", "check", "/nonexistent/station.toml"], "/nonexistent/station.toml"),
    (["board", "serial", "--port", "/dev/nonexistent-tty"], "/dev/nonexistent-tty"),
    (["board", "sim", "--script", "/nonexistent/script.txt"], "/nonexistent/script.txt"),
    (["board", "serial", "--port", "/dev/null", "--script", "/nonexistent/script.txt"], "/nonexistent/script.txt"),
])
def test_a_missing_interface_port_or_file_gives_one_line_naming_it(args, named):
    code, lines = _one_line(args)
    assert code != 0
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in lines[0], lines
