"""`freev2g board ...` through click's CliRunner, with the real plugin manager."""
import asyncio
import threading

import pytest
from click.testing import CliRunner
from freev2g.cli import make_cli
from freev2g.plugins import get_plugin_manager

from freev2g_evse_board.serialboard.emulator import BoardEmulator


@pytest.fixture(scope="module")
def cli():
    return make_cli(get_plugin_manager())


def test_board_list_shows_sim_and_serial(cli):
    out = CliRunner().invoke(cli, ["board", "list"])
    assert out.exit_code == 0, out.output
    rows = {tuple(line.split()[:3]) for line in out.output.splitlines()}
    for kind in ("bsp", "imd", "power_supply", "connector_lock", "power_meter", "ev_board"):
        assert (kind, "sim", "evse_board") in rows
    assert ("bsp", "serial", "evse_board") in rows and ("ev_board", "serial", "evse_board") not in rows


def test_board_sim_script(cli, tmp_path):
    script = tmp_path / "session.txt"
    script.write_text(
        "# an AC session\n"
        "show\nplug 20\nduty 53.3\nev C\npower on\ndraw 32 3\nwait 3600\nshow\n"
        "inject cp_short\nshow\n"
    )
    out = CliRunner().invoke(cli, ["board", "sim", "--script", str(script)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("cp=A duty=100.0% cp+=12.00V")
    assert "cp=C duty=53.3%" in lines[1] and "cable=20.0A" in lines[1] and "ac=20.0A" in lines[1]
    assert "meter=13800.0Wh in" in lines[1]  # 3 x 230 V x 20 A for one hour
    assert lines[2].startswith("cp=E") and "faults=cp_short" in lines[2]


def test_board_sim_reports_bad_lines_and_keeps_going(cli):
    out = CliRunner().invoke(cli, ["board", "sim"], input="duty abc\nfly\nev C\ninject nope\nshow\n")
    assert out.exit_code == 1
    assert "stdin:1: duty must be a number, got 'abc'" in out.output
    assert "stdin:2: unknown command 'fly'" in out.output
    assert "stdin:4: unknown sim fault 'nope'" in out.output
    assert "cp=C" in out.output  # the good lines still ran


def test_board_sim_options_are_validated(cli):
    ok = CliRunner().invoke(cli, ["board", "sim", "--option", "battery.soc_pct=80"], input="show\n")
    assert ok.exit_code == 0 and "soc=80.00%" in ok.output
    bad = CliRunner().invoke(cli, ["board", "sim", "--option", "battery.colour=red"], input="show\n")
    assert bad.exit_code == 2 and "colour" in bad.output


class EmulatorThread:
    """The board emulator on its own loop in a thread, so the CLI can talk to it over the pty."""

    def __init__(self):
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.emu = None

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def start():
            self.emu = BoardEmulator(heartbeat_s=0.05, host_timeout_s=10.0)
            self.emu.model.plug_in()
            await self.emu.start()
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()
        self.loop.run_until_complete(self.emu.stop())

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(10)
        return self.emu

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_board_serial_talks_to_the_emulator(cli, tmp_path):
    script = tmp_path / "cmds.txt"
    script.write_text("duty 5\npower on\nshow\n")
    with EmulatorThread() as emu:
        out = CliRunner().invoke(cli, ["board", "serial", "--port", emu.device_path, "--heartbeat-timeout", "5", "--script", str(script)])
        assert emu.model.evse_duty_pct() == 5.0 and emu.model.evse_contactor
    assert out.exit_code == 0, out.output
    assert "connected to freev2g-sim-board" in out.output
    assert "event serial.bsp cp_state B" in out.output
    assert "cp=B duty=5.0% contactor=closed" in out.output
    assert "garbage_bytes=0" in out.output


def test_board_serial_bad_port(cli):
    out = CliRunner().invoke(cli, ["board", "serial", "--port", "/dev/nope-nope"], input="show\n")
    assert out.exit_code == 1 and "cannot open /dev/nope-nope" in out.output


def test_board_emulate_prints_its_device(cli):
    out = CliRunner().invoke(cli, ["board", "emulate", "--duration", "0.2", "--plug"])
    assert out.exit_code == 0, out.output
    assert "board emulator on /dev/" in out.output and "stopped: 0 commands handled" in out.output
