"""`freev2g board ...`: list drivers, drive the sim board, talk to / emulate a serial board."""
from __future__ import annotations

import asyncio
import inspect
import os
import sys
from typing import Any, Iterable

import click
from freev2g.boards import BoardError
from freev2g.clock import Clock, run
from freev2g.registry import BoardContext

from .console import HELP, Console
from .serialboard.driver import make_serial_factory
from .sim.drivers import make_sim_factory

EVSE_KINDS = ("bsp", "imd", "power_supply", "connector_lock", "power_meter")


@click.group("board")
def board_group() -> None:
    """Board drivers: list them, play with the sim board, talk to or emulate a serial board."""


@board_group.command("list")
@click.pass_obj
def board_list(pm) -> None:
    """Registered board drivers (kind, name, plugin)."""
    regs = pm.registries().boards.all()
    if not regs:
        click.echo("no board drivers registered")
    rows = [(r.kind, r.name, r.plugin, r.description) for r in sorted(regs, key=lambda r: (r.kind, r.name))]
    if rows:
        rows.insert(0, ("KIND", "NAME", "PLUGIN", "DESCRIPTION"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)] if rows else []
    for row in rows:  # columns as wide as their longest entry, two spaces apart
        click.echo("  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[3])


def _script_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--script that is not there: one line naming it (not click's usage block)."""
    if value is not None and not os.path.isfile(value):
        why = "is a directory" if os.path.isdir(value) else "file not found"
        raise click.ClickException(f"--script {value!r}: {why}")
    return value


def _lines(script: str | None, interactive: bool) -> Iterable[tuple[str, str]]:
    """(where, line) pairs from the script file or stdin."""
    if script is not None:
        with open(script, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                yield f"{script}:{n}", line
        return
    stream = sys.stdin
    n = 0
    while True:
        if interactive:
            click.echo("board> ", nl=False)
        line = stream.readline()
        if not line:
            return
        n += 1
        yield f"stdin:{n}", line


async def _drive(console: Console, lines: Iterable[tuple[str, str]], *, stdin_in_thread: bool = False) -> int:
    errors = 0
    iterator = iter(lines)
    while True:
        if stdin_in_thread:  # a real loop keeps serving the serial port while we wait for input
            item = await asyncio.get_running_loop().run_in_executor(None, next, iterator, None)
        else:
            item = next(iterator, None)
        if item is None:
            return errors
        where, line = item
        if line.strip().lower() in ("quit", "exit"):
            return errors
        try:
            await console.run_line(line)
        except ValueError as exc:  # ConsoleError, bad values from the model: report and go on
            errors += 1
            click.echo(f"{where}: {exc}", err=True)


@board_group.command("sim")
@click.option("--script", type=click.Path(dir_okay=False), callback=_script_file, help="Run commands from FILE.")
@click.option("--option", "options", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Sim option, e.g. battery.soc_pct=80 (repeatable).")
def board_sim(script: str | None, options: tuple[str, ...]) -> None:
    """Drive the simulated board on virtual time: plug in, set duty, show CP state and readings.

    Without --script, reads commands from stdin (see below).
    """
    config = _parse_options(options)
    interactive = script is None and sys.stdin.isatty()
    if interactive:
        click.echo(HELP)

    async def main() -> int:
        ctx = BoardContext(clock=Clock())
        drivers = {kind: make_sim_factory(kind)(config, ctx) for kind in EVSE_KINDS}
        drivers["ev_board"] = make_sim_factory("ev_board")(config, ctx)
        console = Console(drivers, ctx.clock, click.echo, model=ctx.shared["sim_model"])
        return await _drive(console, _lines(script, interactive))

    errors = run(main(), virtual_time=True)
    if errors:
        raise SystemExit(1)


board_sim.help = inspect.cleandoc(board_sim.help or "") + "\n\n\b\n" + HELP


def _parse_options(options: tuple[str, ...]) -> dict[str, Any]:
    from .sim.config import SimConfigError, parse_sim_config

    config: dict[str, Any] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected SECTION.KEY=VALUE, got {item!r}", param_hint="--option")
        parts = key.split(".")
        node = config
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        try:
            node[parts[-1]] = int(value) if value.isdigit() else float(value)
        except ValueError:
            node[parts[-1]] = {"true": True, "false": False}.get(value.lower(), value)
    try:
        parse_sim_config(config)
    except SimConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--option") from None
    return config


@board_group.command("serial")
@click.option("--port", required=True, help="Serial device, e.g. /dev/ttyUSB0.")
@click.option("--baudrate", default=115200, show_default=True)
@click.option("--heartbeat-timeout", "heartbeat_timeout_s", default=1.0, show_default=True, type=float)
@click.option("--script", type=click.Path(dir_okay=False), callback=_script_file, help="Run commands from FILE.")
def board_serial(port: str, baudrate: int, heartbeat_timeout_s: float, script: str | None) -> None:
    """Connect to a serial board, print its events, send commands (same language as `board sim`,
    EVSE-side commands only; `wait SECONDS` pauses; `quit` leaves)."""
    interactive = script is None and sys.stdin.isatty()

    async def main() -> int:
        ctx = BoardContext(clock=Clock())
        opts = {"port": port, "baudrate": baudrate, "heartbeat_timeout_s": heartbeat_timeout_s}
        try:
            drivers = {kind: make_serial_factory(kind)(opts, ctx) for kind in EVSE_KINDS}
            for driver in drivers.values():
                driver.subscribe(_print_event)
            link = ctx.shared[f"serial_board:{port}"]
            await link.wait_connected(max(3.0, heartbeat_timeout_s))
        except (BoardError, ValueError) as exc:  # CommunicationFault, bad options
            click.echo(f"error: {exc}", err=True)
            if f"serial_board:{port}" in ctx.shared:
                await ctx.shared[f"serial_board:{port}"].close()
            return 1
        click.echo(f"connected to {link.board_name or 'board'} on {port}")
        try:
            errors = await _drive(Console(drivers, ctx.clock, click.echo), _lines(script, interactive),
                                  stdin_in_thread=script is None)
        finally:
            stats = link.decoder.stats
            click.echo(f"frames={stats.frames} garbage_bytes={stats.garbage_bytes} "
                       f"bad_checksum={stats.bad_checksum} protocol_errors={link.protocol_errors}")
            await link.close()
        return errors

    if asyncio.run(main()):
        raise SystemExit(1)


def _print_event(e) -> None:
    value = getattr(e.value, "value", e.value)
    if e.kind != "reading":  # readings arrive every meter period; `show` prints them
        click.echo(f"event {e.source} {e.kind} {value} {e.detail}".rstrip())


@board_group.command("emulate")
@click.option("--heartbeat", "heartbeat_s", default=0.1, show_default=True, type=float, help="Seconds.")
@click.option("--host-timeout", "host_timeout_s", default=2.0, show_default=True, type=float,
              help="Fail safe after this many seconds without a host frame (0 = never).")
@click.option("--plug/--no-plug", default=False, help="Start with an EV plugged in (state B).")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
def board_emulate(heartbeat_s: float, host_timeout_s: float, plug: bool, duration: float | None) -> None:
    """Start the pty board emulator (backed by the sim model); prints its device path."""
    from .serialboard.emulator import BoardEmulator

    async def main() -> None:
        emu = BoardEmulator(heartbeat_s=heartbeat_s, host_timeout_s=host_timeout_s or None)
        if plug:
            emu.model.plug_in()
        path = await emu.start()
        click.echo(f"board emulator on {path}", nl=True)
        sys.stdout.flush()
        try:
            if duration is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(duration)
        finally:
            await emu.stop()
            click.echo(f"stopped: {emu.commands_handled} commands handled")

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
