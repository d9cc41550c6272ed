"""Build an emulated module for a role on a transport (whitebeet-hci.md 8).

The PLC side is either the scripted simulated EV (EVSE role only, 8.3) or a virtual_plc link on
the socket medium at `medium_path` (both roles): two emulators on one path charge against each
other.
"""
from __future__ import annotations

from attrs import define

from ..messages import Catalogue
from .core import EmulatorCore, ModuleState
from .ev import EvEmulatorConfig, EvV2gModule
from .evse import EvseEmulatorConfig, EvseV2gModule
from .scripted import ScriptedEvConfig, ScriptedEvPeer


@define
class EvseEmulator:
    core: EmulatorCore
    v2g: EvseV2gModule
    peer: object

    async def start(self) -> None:
        if hasattr(self.peer, "start"):
            await self.peer.start()
        await self.core.start()

    async def stop(self) -> None:
        await getattr(self.peer, "shutdown", self.peer.close)()
        await self.core.stop()


@define
class EvEmulator:
    core: EmulatorCore
    v2g: EvV2gModule
    link: object
    board: object

    async def start(self) -> None:
        await self.link.open(self.v2g.handler)
        await self.core.start()

    async def stop(self) -> None:
        await self.link.close()
        await self.core.stop()


def _core(transport, clock, mac, cat) -> EmulatorCore:
    state = ModuleState()
    if mac is not None:
        state.mac = mac
    return EmulatorCore(transport, clock=clock, cat=cat, state=state)


def evse_emulator(transport, *, clock, peer=None, config: EvseEmulatorConfig | None = None,
                  ev: ScriptedEvConfig | None = None, mac: bytes | None = None, cat: Catalogue | None = None,
                  medium_path: str | None = None, link_options: dict | None = None) -> EvseEmulator:
    """EVSE-role module. PLC side: `medium_path` -> virtual SECC link; else `peer`; else the scripted EV."""
    core = _core(transport, clock, mac, cat)
    if peer is None and medium_path is not None:
        from .virtual_peer import VirtualEvsePeer

        peer = VirtualEvsePeer(core, clock, medium_path, link_options)
    peer = peer if peer is not None else ScriptedEvPeer(core, clock, ev)
    v2g = EvseV2gModule(core, peer, config)
    peer.bind(v2g.handler)
    if hasattr(peer, "cable_end"):
        peer.cable_end.v2g = v2g
    return EvseEmulator(core, v2g, peer)


def ev_emulator(transport, *, clock, medium_path: str, config: EvEmulatorConfig | None = None,
                mac: bytes | None = None, cat: Catalogue | None = None, link_options: dict | None = None) -> EvEmulator:
    """EV-role module (8.4); its EVCC is a virtual_plc "ev" link on the socket medium at `medium_path`."""
    from .virtual_peer import virtual_ev_link

    core = _core(transport, clock, mac, cat)
    holder: list[EvV2gModule] = []
    link, board = virtual_ev_link(clock, medium_path, lambda: bool(holder) and holder[0].matching_armed, link_options)
    v2g = EvV2gModule(core, link, board, config)
    holder.append(v2g)
    return EvEmulator(core, v2g, link, board)
