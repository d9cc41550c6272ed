"""CLI: `freev2g simulate` (EV + EVSE in one process), `freev2g evse` and `freev2g ev` (one side
each, joined by virtual_plc's socket medium). Added by `add_commands(cli)` (built-in module).
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import click

from .realtime import quiet_gc
from .clock import Clock, run as run_loop
from .config import ConfigError
from .config_check import check_station_file, journal_path_problem
from .model.enums import Protocol

DEFAULT_SOCKET = "/tmp/freev2g-virtual-plc.sock"


def _speed(value: str) -> float | None:
    if value.strip().lower() in ("max", "none", "0"):
        return None
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(f"speed must be a number or 'max', got {value!r}") from None
    if not speed > 0:
        raise click.BadParameter(f"speed must be > 0 or 'max', got {value!r}")
    return speed


def _load_configs(pm, config: str | None, ev_config: str | None, scenario: str | None):
    from .ev.config import load_ev_config
    from .ev.scenario import load_scenario

    try:
        # The same check as `freev2g config check`: a file it refuses never starts a station.
        station = check_station_file(pm, config) if config else None
        car = load_ev_config(ev_config) if ev_config else None
        sc = load_scenario(scenario) if scenario else None
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(2) from None
    return station, car, sc


def _station_for(checked, config: str | None, mode: str, mode_given: bool):
    """(station config, mode, notes): command line > station file > the simulation's defaults."""
    from .sim_config import apply_mode, cli_overrides, merge_station
    from .simulate import default_station_config

    if checked is None:
        return default_station_config(mode), mode, []
    mode, notes = cli_overrides(mode, mode_given, checked.data, config)
    defaults = default_station_config(mode)
    station = merge_station(defaults, checked.config, checked.data)
    if notes:
        station = apply_mode(station, defaults, checked.data)
    return station, mode, notes


def _check_output_paths(journal: str | None, report_dir: str | None) -> None:
    """--journal / --report-dir that cannot be written: one line naming the option, exit 2."""
    problems = []
    for option, path, is_dir in (("--report-dir", report_dir, True), ("--journal", journal, False)):
        if not path:
            continue
        folder = Path(path) if is_dir else Path(path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((a for a in (folder, *folder.parents) if a.exists() and not a.is_dir()), None)
            why = f"{str(blocker)!r} is a file, not a directory" if blocker else f"cannot create it ({exc.strerror})"
            problems.append(f"{option} {path!r}: {why}")
            continue
        problem = None if is_dir else journal_path_problem(path)
        if is_dir and not os.access(path, os.W_OK | os.X_OK):
            problem = "the directory is not writable"
        if problem:
            problems.append(f"{option} {path!r}: {problem}")
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise SystemExit(2)


class _Console:
    """Session log lines, plus a live status line when stdout is a TTY."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self._status = ""
        self._last = 0.0

    def line(self, text: str) -> None:
        if self.tty and self._status:
            click.echo("\r\033[K", nl=False)
        click.echo(text)
        if self.tty and self._status:
            click.echo(self._status, nl=False)

    def status(self, ev) -> None:
        if not self.tty or ev is None:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        power = ev.samples[-1][3] / 1000.0 if ev.samples else 0.0
        self._status = f"[{ev.phase}] SoC {ev.soc_pct():5.1f} %  power {power:6.1f} kW"
        click.echo("\r\033[K" + self._status, nl=False)

    def done(self) -> None:
        if self.tty and self._status:
            click.echo("\r\033[K", nl=False)
            self._status = ""


@click.command("simulate")
@click.option("--protocol", type=click.Choice([p.value for p in Protocol]), default="iso2", show_default=True)
@click.option("--mode", type=click.Choice(["ac", "dc", "dc_bpt"]), default="dc", show_default=True)
@click.option("--scale", is_flag=True, help="Send and journal the SCALE data extensions.")
@click.option("--scenario", type=click.Path(dir_okay=False),
              help="Scenario TOML: the steps the EV plays (default: plug in, charge, unplug). "
                   "`freev2g scenario example` prints one.")
@click.option("--speed", default="1", show_default=True, help="Simulation clock: 1 = real time, N = N times faster (timers and timeouts shrink "
              "with it), max = as fast as the CPU allows on virtual time (one process only).")
@click.option("--config", type=click.Path(dir_okay=False),
              help="station.toml (`freev2g config example`); it overrides only the keys it sets, and "
                   "options given here override it.")
@click.option("--ev-config", type=click.Path(dir_okay=False), help="car.toml or FreeV2G ev.json")
@click.option("--journal", type=click.Path(dir_okay=False), help="Session journal (sqlite).")
@click.option("--report-dir", type=click.Path(file_okay=False), help="Write journal, plot.svg and summary.json here.")
@click.option("--quiet", is_flag=True, help="Only the summary.")
@click.option("--id-token", help="Present this id token (RFID) at plug-in; the station then needs an "
              "authorization (EIM instead of free service) from a policy hook or an uplink such as OCPP.")
@click.pass_obj
def simulate_command(pm, protocol, mode, scale, scenario, speed, config, ev_config, journal, report_dir, quiet,
                     id_token) -> None:
    """Run an EV and an EVSE in one process over the virtual link and print the session."""
    from .session_log import SessionLog, format_summary
    from .simulate import Simulation, SimulationError, SimulationOptions

    from .sim_config import authorization_line

    checked, car, sc = _load_configs(pm, config, ev_config, scenario)
    _check_output_paths(journal, report_dir)
    mode_given = click.get_current_context().get_parameter_source("mode") is click.core.ParameterSource.COMMANDLINE
    station, mode, notes = _station_for(checked, config, mode, mode_given)
    if id_token:
        if station.evse.disable_authentication and checked and "disable_authentication" in checked.data.get("evse", {}):
            notes.append(f"note: --id-token overrides evse.disable_authentication = true in {config}")
        station = require_authorization(station, mode)
    for note in notes:
        click.echo(note, err=True)
    auth_line = authorization_line(station, data=checked.data if checked else None, source=config, id_token=id_token,
                                   policy_plugins=len(pm.hook.freev2g_authorize.get_hookimpls()))
    try:
        opts = SimulationOptions(
            protocol=Protocol(protocol), mode=mode, scale=scale, speed=_speed(speed), station_config=station,
            ev_config=car, scenario=sc, journal_path=journal, report_dir=report_dir,
        )
    except SimulationError as exc:
        raise click.UsageError(str(exc)) from None
    console = _Console(sys.stdout.isatty())

    async def main():
        sim = Simulation(opts, pm)
        if id_token:
            present_token_at_plug_in(sim, id_token)
        log = SessionLog(console.line, None)
        if not quiet:
            sim.subscribe(log.on_event)
        try:
            await sim.start()
            if not quiet:
                console.line(auth_line)  # once the station runs: how its sessions get authorized
            quiet_gc()  # start-up objects frozen; no full collection inside the charge loops
            log.clock = sim.clock
            if not quiet:
                sim.ev.subscribe_trace(log.on_link)
            sim.ev.subscribe_trace(lambda e, a: console.status(sim.ev))
            return await sim.run()
        finally:
            await sim.stop()

    started = time.monotonic()
    try:
        result = run_loop(main(), virtual_time=opts.speed is None)
    except SimulationError as exc:
        console.done()
        raise click.ClickException(str(exc)) from None
    except _start_errors() as exc:  # a driver or the journal failed at start: one line naming it
        console.done()
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    console.done()
    for text in format_summary(result):
        click.echo(text)
    click.echo(f"  wall time       : {time.monotonic() - started:.1f} s")
    if result.journal_path:
        click.echo(f"Journal: {result.journal_path}")
    if report_dir:
        click.echo(f"Report: {Path(report_dir).resolve()} (summary.json, plot.svg, journal.sqlite)")
    if not result.ok:
        raise SystemExit(1)


def require_authorization(station, mode: str):
    """The station config for `--id-token`: EIM with authorization instead of free service."""
    from .simulate import default_station_config

    station = station or default_station_config(mode)
    if station.evse.disable_authentication or not station.evse.payment_enable_eim:
        station.evse = attrs.evolve(station.evse, disable_authentication=False, payment_enable_eim=True)
    return station


def present_token_at_plug_in(sim, id_token: str, token_type: str = "ISO14443") -> None:
    """Present `id_token` on the EVSE of every PluggedIn, as an RFID reader would
    (StationApi.present_id_token: the policy hook first, else AuthorizationRequested)."""
    from .model.events import PluggedIn

    def on_event(event) -> None:
        if isinstance(event, PluggedIn):
            task = asyncio.get_running_loop().create_task(
                sim.station.present_id_token(event.evse_index, id_token, token_type))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    tasks: set = set()
    sim.subscribe(on_event)


def _socket_options(options: dict[str, Any], path: str) -> dict[str, Any]:
    return {**options, "medium": "socket", "path": options.get("path", path)}


@click.command("evse")
@click.option("--config", type=click.Path(dir_okay=False),
              help="station.toml; it overrides only the keys it sets of the default DC sim station.")
@click.option("--socket", "socket_path", default=DEFAULT_SOCKET, show_default=True, help="virtual_plc socket path")
@click.option("--speed", default="1", show_default=True,
              help="Clock rate: 1 = real time, N = N times faster; the `freev2g ev` side must use the same.")
@click.option("--sessions", type=int, default=0, help="Exit after this many finished sessions (0 = run until stopped).")
@click.pass_obj
def evse_command(pm, config, socket_path, speed, sessions) -> None:
    """Run the charger side; a `freev2g ev` in another terminal plays the car."""
    from .session_log import SessionLog
    from .sim_config import authorization_line

    checked, _, _ = _load_configs(pm, config, None, None)
    station_cfg, _, _ = _station_for(checked, config, "dc", False)
    auth_line = authorization_line(station_cfg, data=checked.data if checked else None, source=config, id_token=None,
                                   policy_plugins=len(pm.hook.freev2g_authorize.get_hookimpls()))
    link = attrs.evolve(station_cfg.link, options=_socket_options(station_cfg.link.options, socket_path))
    station_cfg = attrs.evolve(station_cfg, link=link)
    spd = _speed(speed) or 1.0

    async def main():
        from .evse.station import Station
        from .model.events import SessionFinished

        clock = Clock(spd)
        done = asyncio.Event()
        count = 0
        log = SessionLog(click.echo, clock)

        def on_event(e):
            nonlocal count
            log.on_event(e)
            if isinstance(e, SessionFinished):
                count += 1
                if sessions and count >= sessions:
                    done.set()

        # One dict for both: the socket medium's board server serves shared["sim_model"] to the EV.
        shared: dict = {}
        station = Station(station_cfg, pm=pm, clock=clock, board_shared=shared, link_shared=shared,
                          journal_path=station_cfg.journal)
        station.subscribe(on_event)
        _stop_on_signals(done)
        await station.start()
        quiet_gc()
        click.echo(f"EVSE {station_cfg.evse.evse_id} ready on {link.options['path']}; waiting for an EV")
        click.echo(auth_line)
        try:
            await done.wait()
        finally:
            await station.stop()

    try:
        asyncio.run(main())
    except _start_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


def _start_errors() -> tuple[type[Exception], ...]:
    """Errors of a station that cannot start (their messages name the key), imported lazily."""
    from .evse.station import StationError
    from .journal import JournalError

    return (StationError, JournalError)


@click.command("ev")
@click.option("--config", "ev_config", type=click.Path(dir_okay=False), help="car.toml or FreeV2G ev.json")
@click.option("--socket", "socket_path", default=DEFAULT_SOCKET, show_default=True)
@click.option("--protocol", type=click.Choice([p.value for p in Protocol]), default="iso2", show_default=True)
@click.option("--mode", type=click.Choice(["ac", "dc", "dc_bpt"]), default="dc", show_default=True)
@click.option("--scenario", type=click.Path(dir_okay=False),
              help="Scenario TOML: the steps the EV plays (default: plug in, charge, unplug). "
                   "`freev2g scenario example` prints one.")
@click.option("--speed", default="1", show_default=True,
              help="Clock rate: 1 = real time, N = N times faster; the `freev2g evse` side must use the same.")
@click.pass_obj
def ev_command(pm, ev_config, socket_path, protocol, mode, scenario, speed) -> None:
    """Run the car side against a `freev2g evse` over the socket medium."""
    from .ev.config import EvConfig
    from .ev.controller import EvController
    from .ev.runner import ScenarioRunner
    from .ev.scenario import Scenario, ScenarioStepFailed
    from .registry import BoardContext, LinkContext
    from .session_log import SessionLog
    from .simulate import SimulationOptions, ev_board_options

    _, car, sc = _load_configs(pm, None, ev_config, scenario)
    car = car or EvConfig()
    opts = SimulationOptions(protocol=Protocol(protocol), mode=mode)
    spd = _speed(speed) or 1.0

    async def main() -> int:
        clock = Clock(spd)
        regs = pm.registries()
        board_opts = {**ev_board_options(car), "path": socket_path}
        board = regs.boards.get("ev_board", "virtual_remote").factory(board_opts, BoardContext(clock=clock, station_id="ev"))
        link_opts = _socket_options({"protocols": [protocol]}, socket_path)
        link = regs.links.get("virtual", "ev").factory(link_opts, LinkContext(clock=clock, boards={"ev_board": board}))
        ev = EvController(car, board=board, link=link, clock=clock)
        log = SessionLog(click.echo, clock)
        ev.subscribe_trace(log.on_link)
        try:
            await ev.open()
        except ConnectionError as exc:  # no `freev2g evse` on that socket (a user's mistake, no traceback)
            click.echo(f"error: {exc}; start `freev2g evse --socket {socket_path}` first, "
                       "or give this command the socket it listens on", err=True)
            await ev.close()
            return 1
        try:
            await ScenarioRunner(ev, clock=clock, mode=opts.energy_mode).run(sc or Scenario.default())
        except ScenarioStepFailed as exc:
            click.echo(str(exc), err=True)
            return 1
        finally:
            await ev.close()
        return 0

    raise SystemExit(asyncio.run(main()))


def _stop_on_signals(event: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, event.set)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass


def add_commands(cli: click.Group) -> None:
    """Register simulate, evse and ev on the root group (BUILTIN_COMMAND_MODULES)."""
    cli.add_command(simulate_command)
    cli.add_command(evse_command)
    cli.add_command(ev_command)
