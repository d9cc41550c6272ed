"""`freev2g whitebeet ...`: evse, ev, info, capture, emulate (whitebeet-hci.md 1.2, 7, 8)."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import click

from freev2g.model.enums import EnergyTransferMode

from .transport.ethernet import mac_bytes, mac_str

log = logging.getLogger(__name__)


@click.group("whitebeet")
def whitebeet_group() -> None:
    """Drive a WHITE beet module over Ethernet, or emulate one."""


def _iface(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--iface must name a network interface of this host: one line naming it otherwise."""
    if value is None:
        return value
    try:
        socket.if_nametoindex(value)  # this process's network namespace (not /sys, which may be another's)
    except (OSError, ValueError):
        known = ", ".join(sorted(name for _, name in socket.if_nameindex()))
        raise click.ClickException(f"--iface {value!r}: no such network interface on this host (have: {known})")
    return value


def _config_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--config that is missing or not readable: one line naming it (the file is parsed later)."""
    if value is not None and not os.path.isfile(value):
        why = "is a directory" if os.path.isdir(value) else "file not found"
        raise click.ClickException(f"--config {value!r}: {why}")
    return value


def _config_errors(fn):
    """A bad station/car file: its problems, one line each, not a traceback."""
    from functools import wraps

    from freev2g.config import ConfigError

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(f"{exc.source}: {problem}", err=True)
            raise SystemExit(2) from None

    return wrapper


def _run(coro) -> None:
    async def main():
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await coro
        except asyncio.CancelledError:
            pass

    asyncio.run(main())


@whitebeet_group.command("evse")
@click.option("--iface", required=True, callback=_iface, help="Host Ethernet interface wired to the module.")
@click.option("--mac", default=None, help="Module Ethernet MAC (discovered when omitted).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, callback=_config_file,
              help="station.toml")
@click.option("--sessions", type=int, default=0, help="Exit after this many finished sessions (0 = run forever).")
@click.option("--rt-priority", type=int, default=None, help="SCHED_RR priority 1..99 for this process (latency tail under load).")
@click.option("--cable-socket", "cable_socket", default=None, type=click.Path(dir_okay=False),
              help="Simulation only: serve the EV side of the sim power stage on this unix socket "
                   "(a `freev2g whitebeet ev` with the same --cable-socket is its EV).")
@click.pass_obj
@_config_errors
def evse_command(pm, iface, mac, config_path, sessions, rt_priority, cable_socket) -> None:
    """Run a charging station (EvseManager) on an EVSE module."""
    from freev2g.clock import Clock
    from freev2g.config import StationConfig, load_station_config
    from freev2g.evse.station import Station

    from .host.cable import SIM_KEY, close_cable, make_board_server, meter_line

    cfg = load_station_config(config_path) if config_path else StationConfig()
    options = {"iface": iface, **({"mac": mac} if mac else {}), **({"rt_priority": rt_priority} if rt_priority else {})}
    cfg.link.name = "whitebeet"
    cfg.link.options = {**cfg.link.options, **options}
    cfg.board.bsp = "whitebeet"
    cfg.board.options = {**cfg.board.options, "whitebeet": {**cfg.board.options.get("whitebeet", {}), **options,
                                                            "mirror_sim": True, "ev_from_module": not cable_socket}}

    async def main():
        station = Station(cfg, pm=pm, clock=Clock())
        cable = None
        done = asyncio.Event()
        finished = []

        def listener(event):
            if event.kind == "SessionFinished":
                finished.append(event)
                click.echo(f"session {event.session_id} finished: {getattr(event, 'cause', '')}")
                if station.board_shared.get(SIM_KEY) is not None:  # a sim power stage: what it delivered
                    click.echo(f"session {event.session_id} {meter_line(station)}")
                if sessions and len(finished) >= sessions:
                    done.set()

        station.subscribe(listener)
        await station.start()
        if cable_socket:
            model = station.board_shared.get(SIM_KEY)
            if model is None:
                await station.stop()
                raise click.UsageError("--cable-socket needs the sim power stage (board power_supply = \"sim\")")
            cable = make_board_server(cable_socket, model, station.clock)
            await cable.start()
            click.echo(f"serving the sim cable's EV side on {cable_socket}")
        click.echo(f"station running on {iface}")
        try:
            await done.wait()
        finally:
            if cable is not None:
                await close_cable(cable, station.clock, peer_first=True)
            await station.stop()

    _run(main())


@whitebeet_group.command("ev")
@click.option("--iface", required=True, callback=_iface, help="Host Ethernet interface wired to the module.")
@click.option("--mac", default=None,
              help="Module Ethernet MAC [default: the config's mac (ev.json), else discovered].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None, callback=_config_file,
              help="car.toml or ev.json [default: ./ev.json, as FreeV2G].")
@click.option("--mode", default=None, help="Energy transfer mode (default: the first of the config).")
@click.option("--sessions", type=int, default=1, show_default=True, help="Charging sessions to run, then exit.")
@click.option("--rt-priority", type=int, default=None, help="SCHED_RR priority 1..99 for this process (latency tail under load).")
@click.option("--stop-after-s", type=float, default=None, help="Stop charging after this long (else at the target SoC).")
@click.option("--cable-socket", "cable_socket", default=None, type=click.Path(dir_okay=False),
              help="Simulation only: the EV's power stage (contactor, inlet, battery) is the EV side of the "
                   "sim model an EVSE host serves on this unix socket (its --cable-socket).")
@_config_errors
def ev_command(iface, mac, config_path, mode, sessions, stop_after_s, rt_priority, cable_socket) -> None:
    """Run the EV controller on an EV module."""
    from .ev_cli import DEFAULT_EV_JSON

    if config_path is None:
        if not os.path.isfile(DEFAULT_EV_JSON):
            raise click.UsageError(f"no --config given and no {DEFAULT_EV_JSON} in {os.getcwd()} "
                                   "(give --config car.toml|ev.json)")
        config_path = DEFAULT_EV_JSON
        click.echo(f"config: {DEFAULT_EV_JSON} (no --config given)")
    if mac is not None:
        try:
            mac_bytes(mac)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--mac") from None
    from .ev_cli import run_ev

    code = run_ev(iface=iface, mac=mac, config_path=config_path, mode=mode, sessions=sessions, echo=click.echo,
                  stop_after_s=stop_after_s, rt_priority=rt_priority, cable_socket=cable_socket)
    if code:
        raise SystemExit(code)


@whitebeet_group.command("info")
@click.option("--iface", required=True, callback=_iface, help="Host Ethernet interface wired to the module.")
@click.option("--mac", default=None, help="Module MAC (discovered when omitted).")
@click.option("--timeout", "timeout_s", type=float, default=2.0)
def info_command(iface, mac, timeout_s) -> None:
    """Print the module's firmware version and MAC."""
    from freev2g.clock import Clock

    from .client import ClientConfig, HciClient
    from .transport.ethernet import EthernetTransport, discover_module_mac

    async def main():
        module = mac_bytes(mac) if mac else await discover_module_mac(iface, timeout_s=timeout_s)
        client = HciClient(EthernetTransport(iface, peer_mac=module), clock=Clock(),
                           config=ClientConfig(response_timeout_s=timeout_s, timeout_retries=0))
        await client.start()
        try:
            version = (await client.call("system.get_firmware_version")).version
            reported = (await client.call("system.get_mac_address")).mac
            click.echo(f"firmware: {version}")
            click.echo(f"mac: {mac_str(module)} (module reports {mac_str(reported)})")
        finally:
            await client.close()

    _run(main())


@whitebeet_group.command("capture")
@click.option("--iface", required=True, callback=_iface, help="Host Ethernet interface wired to the module.")
@click.option("--pcap", "pcap_path", type=click.Path(dir_okay=False), default=None, help="Also write a pcap file.")
@click.option("--count", type=int, default=0, help="Stop after this many HCI frames (0 = until Ctrl-C).")
@click.option("--mac", default=None,
              help="Module MAC: its frames are responses and notifications (learnt from the first response when omitted).")
def capture_command(iface, pcap_path, count, mac) -> None:
    """Log HCI frames seen on IFACE in both directions (also what this machine sends), decoded:
    commands, responses and notifications with their field names and values; optionally write
    them to a pcap file."""
    from .capture import capture

    module = None
    if mac is not None:
        try:
            module = mac_bytes(mac)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--mac") from None
    _run(capture(iface, pcap_path=pcap_path, count=count, echo=click.echo, module_mac=module))


@whitebeet_group.command("emulate")
@click.option("--iface", required=True, callback=_iface, help="Interface the host reaches the emulated module on.")
@click.option("--role", type=click.Choice(["evse", "ev"]), required=True)
@click.option("--mac", default=None,
              help="MAC the emulated module answers with [default: 00:01:01:63:77:33 (EVSE), 00:01:01:63:77:31 (EV)].")
@click.option("--sessions", type=int, default=0, help="Exit after this many sessions (0 = forever).")
@click.option("--quiet-s", type=click.FloatRange(min=0.0), default=5.0, show_default=True,
              help="With --sessions: after the last session, exit once the host has sent nothing for this long "
                   "(its shutdown commands still get answers).")
@click.option("--medium", "medium_path", default=None, type=click.Path(dir_okay=False),
              help="virtual_plc socket medium path: the PLC side is a virtual link (needed for --role ev); "
                   "two emulators on one path charge against each other. Without it (EVSE role): a scripted EV.")
@click.option("--ev-mode", type=click.Choice([m.value for m in EnergyTransferMode]), default=None,
              help="Scripted EV: energy transfer mode [default: the first the host offers].")
@click.option("--ev-target-voltage", type=click.FloatRange(min=0.0), default=None,
              help="Scripted EV: DC target voltage V [default: 400].")
@click.option("--ev-target-current", type=click.FloatRange(min=0.0), default=None,
              help="Scripted EV: DC target current A [default: 50].")
@click.option("--host-power-max-w", "host_power_max_W", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="EV role: cap the schedule powers in 0xC3 at this (logged), for a host that echoes them in 0xA8 "
                   "as a 16-bit integer (FreeV2G: 32767) [default: no cap].")
@click.option("--rt-priority", type=int, default=None, help="SCHED_RR priority 1..99 for this process (latency tail under load).")
def emulate_command(iface, role, mac, sessions, quiet_s, medium_path, ev_mode, ev_target_voltage, ev_target_current,
                    host_power_max_W, rt_priority) -> None:
    """Speak the module side of the HCI on IFACE (8), backed by a virtual_plc link or a scripted EV."""
    from freev2g.clock import Clock

    from .emulator.run import EmulateOptions, emulate
    from .emulator.scripted import ScriptedEvConfig

    if role == "ev" and not medium_path:
        raise click.UsageError("--role ev needs --medium PATH (the EVCC is a virtual_plc link on that socket)")
    scripted = {k: v for k, v in (("mode", EnergyTransferMode(ev_mode) if ev_mode else None),
                                  ("target_voltage_V", ev_target_voltage), ("target_current_A", ev_target_current))
                if v is not None}
    if scripted and (role == "ev" or medium_path):
        raise click.UsageError("--ev-mode/--ev-target-voltage/--ev-target-current set the scripted EV: "
                               "only with --role evse and no --medium")
    if host_power_max_W is not None and role != "ev":
        raise click.UsageError("--host-power-max-w caps what the EV module reports (0xC3): only with --role ev")
    if mac is not None:
        try:
            mac_bytes(mac)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--mac") from None
    opts = EmulateOptions(host_power_max_W=host_power_max_W, iface=iface, role=role, mac=mac, sessions=sessions, medium_path=medium_path,
                          rt_priority=rt_priority, quiet_s=quiet_s, ev=ScriptedEvConfig(**scripted))
    _run(emulate(opts, clock=Clock(), echo=click.echo))
