"""Rig: both link roles of the "virtual" link in one process over the real sim board model
(freev2g-evse-board) with the scripted applications of freev2g_virtual_plc.scripted."""
from __future__ import annotations

import pytest
from attrs import define

from freev2g.clock import Clock
from freev2g.model.enums import CPState, EnergyTransferMode as ETM
from freev2g.model.params import EVSEOffer
from freev2g.registry import LinkContext
from freev2g.testing import virtual_loop  # noqa: F401  (the pytest11 entry point may not be installed)
from freev2g_evse_board.sim import SimControlPilot, SimEvBoard, SimModel
from freev2g_virtual_plc.evcc.link import VirtualEvLink
from freev2g_virtual_plc.options import LinkOptions
from freev2g_virtual_plc.scripted import ScriptedEv, ScriptedEvse
from freev2g_virtual_plc.secc.link import VirtualEvseLink

ALL_MODES = (ETM.DC_EXTENDED, ETM.DC_BPT, ETM.AC_THREE_PHASE_CORE, ETM.AC_BPT)


@define
class Rig:
    clock: Clock
    model: SimModel
    bsp: SimControlPilot
    ev_board: SimEvBoard
    evse_link: VirtualEvseLink
    ev_link: VirtualEvLink
    evse: ScriptedEvse
    ev: ScriptedEv
    shared: dict

    async def start(self, offer: EVSEOffer | None = None) -> None:
        offer = offer or EVSEOffer(evse_id="DE*PNX*E1234567*1", energy_transfer_modes=ALL_MODES)
        await self.evse_link.open(self.evse.handle, offer)
        await self.ev_link.open(self.ev.handle)
        self.model.plug_in(32.0)
        self.ev_board.set_cp_state(CPState.B)
        await self.bsp.set_pwm_duty(5.0)
        await self.evse_link.start_matching()

    async def run(self, request, *, offer: EVSEOffer | None = None) -> bool:
        await self.start(offer)
        ok = await self.ev_link.start_session(request)
        await self.ev.finished.wait()
        if ok:
            await self.evse.ended.wait()
        return ok

    async def close(self) -> None:
        await self.ev_link.close()
        await self.evse_link.close()


@pytest.fixture
def make_rig():
    def build(evse_opts=None, ev_opts=None, evse_app=None, ev_app=None) -> Rig:
        clock = Clock()
        model = SimModel(clock)
        bsp, ev_board = SimControlPilot(model), SimEvBoard(model)
        shared: dict = {"sim_model": model}
        evse_link = VirtualEvseLink(LinkOptions.from_config(evse_opts), LinkContext(clock, {"bsp": bsp}, shared))
        ev_link = VirtualEvLink(LinkOptions.from_config(ev_opts), LinkContext(clock, {"ev_board": ev_board}, shared))
        evse = evse_app or ScriptedEvse(bsp=bsp)
        ev = ev_app or ScriptedEv(board=ev_board)
        if evse.bsp is None:
            evse.bsp = bsp
        if ev.board is None:
            ev.board = ev_board
        return Rig(clock, model, bsp, ev_board, evse_link, ev_link, evse, ev, shared)

    return build
