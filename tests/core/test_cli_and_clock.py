"""The CLI factory (version, logging options, config commands) and the clocks."""
from __future__ import annotations

import asyncio
import json
import logging

import pytest
from click.testing import CliRunner

from freev2g import __version__
from freev2g.cli import make_cli
from freev2g.clock import Clock, ManualClock, run
from freev2g.plugins import get_plugin_manager


@pytest.fixture
def cli():
    return make_cli(get_plugin_manager(autoload=False))


def test_version(cli):
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_config_example_then_check_reports_missing_drivers_by_key(cli, tmp_path):
    example = CliRunner().invoke(cli, ["config", "example"]).output
    path = tmp_path / "station.toml"
    path.write_text(example)
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    # autoload is off: no "sim" board or "virtual" link is installed, and check says so by key.
    assert result.exit_code == 1
    assert "board.bsp: no board driver 'bsp/sim'" in result.output
    assert "link.name: no link 'evse/virtual'" in result.output


def test_config_check_lists_every_error_with_its_key_path(cli, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[evse]\ncharge_mode = "XX"\nmax_current_import_A = "16"\n[board]\nbsp = 1\n')
    result = CliRunner().invoke(cli, ["config", "check", str(path)])
    assert result.exit_code == 1
    for key in ("evse.charge_mode", "evse.max_current_import_A", "board.bsp"):
        assert key in result.output


def test_json_log_format(cli, tmp_path):
    from freev2g.cli import _JsonFormatter

    rec = logging.LogRecord("freev2g.session", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    rec.session_id = "abc"
    doc = json.loads(_JsonFormatter().format(rec))
    assert doc["message"] == "hello x" and doc["session_id"] == "abc" and doc["level"] == "info"
    result = CliRunner().invoke(cli, ["--log-format", "json", "-v", "plugins"])
    assert result.exit_code == 0


def test_virtual_time_runs_an_hour_instantly_and_enforces_timeouts():
    async def main():
        clock = Clock()
        await clock.sleep(3600)
        with pytest.raises(TimeoutError):
            async with clock.timeout(5):
                await clock.sleep(6)
        return clock.monotonic()

    assert run(main(), virtual_time=True) == pytest.approx(3605)


def test_scaled_clock_divides_waits():
    async def main():
        clock = Clock(speed=1000)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await clock.sleep(10)  # 10 ms of loop time
        return loop.time() - t0, clock.monotonic()

    loop_elapsed, simulated = run(main(), virtual_time=True)
    assert loop_elapsed == pytest.approx(0.01)
    assert simulated == pytest.approx(10)


def test_manual_clock_and_bad_speed():
    c = ManualClock(5.0)
    c.advance(2.5)
    assert c.monotonic() == 7.5
    with pytest.raises(ValueError):
        c.advance(-1)
    with pytest.raises(ValueError, match="speed must be > 0"):
        Clock(speed=0)


def test_a_clock_read_after_its_virtual_loop_ended_does_not_jump():
    # A virtual loop's time starts at 0; time.monotonic() is the machine's uptime. Reading the
    # clock after the loop ended (a test's assertions, a CLI's summary) once returned the
    # difference of the two: hundreds of simulated seconds integrated into the sim board at once.
    clock = Clock()

    async def session():
        clock.monotonic()
        await clock.sleep(5.0)
        return clock.monotonic()

    inside = run(session(), virtual_time=True)
    assert inside == pytest.approx(5.0)
    after = clock.monotonic()
    assert inside <= after < inside + 1.0
    again = run(session(), virtual_time=True)  # another loop: time goes on from where it was
    assert again == pytest.approx(after + 5.0, abs=1.0)
