"""Both roles end to end in one process: our EVSE host -> HCI -> EVSE emulator <-> virtual_plc
socket medium <-> EV emulator -> HCI -> our EV host (EvController on WhitebeetEvLink).
The HCI legs are in-memory pairs (or faulty wrappers of them); the medium is a real unix socket."""
from __future__ import annotations

import attrs

from freev2g.clock import Clock
from freev2g.ev.config import BatteryConfig, EvConfig
from freev2g.ev.controller import EvController
from freev2g.model.enums import EnergyTransferMode
from freev2g.model.params import EVSEOffer
from freev2g_whitebeet.client import ClientConfig, HciClient
from freev2g_whitebeet.emulator.assemble import ev_emulator, evse_emulator
from freev2g_whitebeet.host.ev import WhitebeetEvLink
from freev2g_whitebeet.host.ev_board import WhitebeetEvBoard
from freev2g_whitebeet.host.evse import WhitebeetEvseLink
from freev2g_whitebeet.transport.memory import memory_pair

OFFER = EVSEOffer(evse_id="DE*PNX*E1234567*1", energy_transfer_modes=(EnergyTransferMode.DC_EXTENDED,
                                                                        EnergyTransferMode.AC_THREE_PHASE_CORE))


def car(start_soc_pct: float = 77.0) -> EvConfig:
    cfg = EvConfig(battery=BatteryConfig(capacity_Wh=20_000.0, start_soc_pct=start_soc_pct, target_soc_pct=80.0))
    return attrs.evolve(cfg, ev=attrs.evolve(cfg.ev, evcc_id="02:00:00:00:00:0e"))


class Pair:
    """Everything of one run; `build()` wires it, `stop()` tears it down."""

    def __init__(self, path: str, app, *, cfg: EvConfig | None = None, ev_wrap=None, client_config=None,
                 via_registry: bool = False):
        self.clock = Clock()
        self.app = app
        self.cfg = cfg or car()
        h1, m1 = memory_pair()
        h2, m2 = memory_pair()
        self.evse_emu = evse_emulator(m1, clock=self.clock, medium_path=path)
        self.ev_emu = ev_emulator(ev_wrap(m2) if ev_wrap else m2, clock=self.clock, medium_path=path)
        self.evse_link = WhitebeetEvseLink(HciClient(h1, clock=self.clock), clock=self.clock)
        self.ev_client = HciClient(ev_wrap(h2) if ev_wrap else h2, clock=self.clock,
                                   config=client_config or ClientConfig())
        self.ev_link = WhitebeetEvLink(self.ev_client, clock=self.clock)
        link = self.ev_link
        if via_registry:  # link "whitebeet" role "ev" as the plugin registers it (memory transport)
            from freev2g.registry import LinkContext
            from freev2g_whitebeet.host.factories import make_ev_link

            link = make_ev_link({"transport": "memory"}, LinkContext(
                clock=self.clock, shared={"whitebeet_memory_transport": ev_wrap(h2) if ev_wrap else h2}))
        self.board = WhitebeetEvBoard(_LinkOf(link, self.ev_link), clock=self.clock,
                                      capacity_Wh=self.cfg.battery.capacity_Wh, start_soc_pct=self.cfg.battery.start_soc_pct)
        self.ev = EvController(self.cfg, board=self.board, link=link, clock=self.clock)

    async def start(self, mode: EnergyTransferMode) -> bool:
        await self.evse_emu.start()
        await self.ev_emu.start()
        await self.evse_link.open(self.app, OFFER)
        # what the EvseManager does once the EV is in state B: 5 % duty and matching
        await self.evse_link.client.request("cp.set_duty_cycle", duty_permille=50)
        await self.evse_link.start_matching()
        await self.ev.open()
        self.ev.plug_in()
        return await self.ev.start_charging(mode)

    async def wait_finished(self, limit_s: float = 300.0) -> None:
        for _ in range(int(limit_s * 10)):
            if self.ev.last_finished is not None and self.app.ended:
                return
            await self.clock.sleep(0.1)

    async def stop(self) -> None:
        await self.ev.close()
        await self.evse_link.close()
        await self.ev_emu.stop()
        await self.evse_emu.stop()


class _LinkOf:
    """The board reads the open WhitebeetEvLink (behind the registry's deferred link once open)."""

    def __init__(self, link, direct):
        self._link, self._direct = link, direct

    def __getattr__(self, name):
        inner = getattr(self._link, "_link", None) or self._direct
        return getattr(inner, name)
