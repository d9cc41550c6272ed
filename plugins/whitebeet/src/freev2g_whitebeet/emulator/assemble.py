"""Build an emulated module for a role on a transport (whitebeet-hci.md 8)."""
from __future__ import annotations

from attrs import define

from ..messages import Catalogue
from .core import EmulatorCore, ModuleState
from .evse import EvseEmulatorConfig, EvseV2gModule
from .scripted import ScriptedEvConfig, ScriptedEvPeer


@define
class EvseEmulator:
    core: EmulatorCore
    v2g: EvseV2gModule
    peer: object

    async def start(self) -> None:
        await self.core.start()

    async def stop(self) -> None:
        await self.peer.close()
        await self.core.stop()


def evse_emulator(transport, *, clock, peer=None, config: EvseEmulatorConfig | None = None,
                  ev: ScriptedEvConfig | None = None, mac: bytes | None = None, cat: Catalogue | None = None) -> EvseEmulator:
    """EVSE-role module. `peer` defaults to the scripted EV (8.3); pass a virtual-link peer instead."""
    state = ModuleState()
    if mac is not None:
        state.mac = mac
    core = EmulatorCore(transport, clock=clock, cat=cat, state=state)
    peer = peer if peer is not None else ScriptedEvPeer(core, clock, ev)
    v2g = EvseV2gModule(core, peer, config)
    peer.bind(v2g.handler)
    return EvseEmulator(core, v2g, peer)
