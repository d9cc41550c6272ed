"""`freev2g whitebeet emulate`: run one emulated module until it is done (whitebeet-hci.md 8.1).

Done means: `sessions` V2G sessions finished AND the host has been quiet for `quiet_s` (the host
still sends its shutdown commands after the last session: CP/SLAC stop, Stop listen, Get mode,
each one gets an answer, 8.1 #5), or the transport closed. SIGINT/SIGTERM stop it at once,
cleanly: no traceback, exit code 0.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from attrs import define

from ..transport.ethernet import DEFAULT_MODULE_MAC, mac_bytes
from .scripted import ScriptedEvConfig

log = logging.getLogger(__name__)

EVSE_MODULE_MAC = DEFAULT_MODULE_MAC  # 1.2: the EVSE module's default Ethernet MAC
EV_MODULE_MAC = "00:01:01:63:77:31"  # 1.2: the EV module's default Ethernet MAC


def default_mac(role: str) -> str:
    return EV_MODULE_MAC if role == "ev" else EVSE_MODULE_MAC


@define(kw_only=True)
class EmulateOptions:
    iface: str
    role: str  # "evse" | "ev"
    mac: str | None = None  # None: the role's default (default_mac)
    sessions: int = 0  # 0: run until stopped
    medium_path: str | None = None
    rt_priority: int | None = None
    quiet_s: float = 5.0  # after the last session: exit once the host sent nothing for this long
    ev: ScriptedEvConfig | None = None  # the scripted EV (EVSE role without a medium)
    host_power_max_W: float | None = None  # EV role: cap 0xC3 powers for a host with a 16-bit power field


async def serve_until_done(emu: Any, clock: Any, *, sessions: int, quiet_s: float, poll_s: float = 0.1) -> str:
    """Wait until the emulator is done (module docstring); returns why ("quiet" | "closed")."""
    core = emu.core
    while not sessions or emu.v2g.sessions_completed < sessions:
        if not core.running:
            return "closed"
        await clock.sleep(poll_s)
    waiting_since = clock.monotonic()
    while core.running:
        last = core.last_frame_at
        quiet_for = clock.monotonic() - max(last if last is not None else waiting_since, waiting_since)
        if quiet_for >= quiet_s:
            return "quiet"
        await clock.sleep(min(poll_s, quiet_s - quiet_for))
    return "closed"


async def emulate(opts: EmulateOptions, *, clock: Any, echo: Callable[[str], None]) -> str:
    from .assemble import ev_emulator, evse_emulator
    from ..transport.ethernet import EthernetTransport

    mac = opts.mac or default_mac(opts.role)
    transport = EthernetTransport(opts.iface, own_mac=mac_bytes(mac), module_side=True, rt_priority=opts.rt_priority)
    if opts.role == "ev":
        from .ev import EvEmulatorConfig

        emu = ev_emulator(transport, clock=clock, mac=mac_bytes(mac), medium_path=opts.medium_path,
                          config=EvEmulatorConfig(host_power_max_W=opts.host_power_max_W))
    else:
        emu = evse_emulator(transport, clock=clock, mac=mac_bytes(mac), medium_path=opts.medium_path, ev=opts.ev)
    await emu.start()
    echo(f"emulating an {opts.role.upper()} module {mac} on {opts.iface}")
    why = "stopped"
    try:
        why = await serve_until_done(emu, clock, sessions=opts.sessions, quiet_s=opts.quiet_s)
        echo(f"emulator done: {emu.v2g.sessions_completed} session(s), host {why}")
    finally:
        await emu.stop()
    return why
