"""The emulated module's PLC side as a virtual_plc link (whitebeet-hci.md 8: "backed by virtual_plc").

EVSE role: the SECC is a virtual "evse" link; EV role: the EVCC is a virtual "ev" link. Two
emulators joined by virtual_plc's socket medium (link options medium="socket", path=...) let an
EVSE host and an EV host charge against each other. The cable travels on the medium's board
channel: the EVSE emulator serves a `ModuleCableEnd` (duty of its CP generator, EVSE present
voltage; the EV's CP state and contactor come back) that the EV emulator reads through
virtual_plc's RemoteEvBoard.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from freev2g import link as L
from freev2g.model.enums import CPState, EnergyTransferMode
from freev2g.model.params import EVSEOffer
from freev2g.registry import LinkContext

log = logging.getLogger(__name__)
_CP_INDEX = {CPState.A: 0, CPState.B: 1, CPState.C: 2, CPState.D: 3, CPState.E: 4, CPState.F: 5}


def link_options(path: str, extra: dict[str, Any] | None = None):
    from freev2g_virtual_plc.options import LinkOptions

    opts: dict[str, Any] = {"medium": "socket", "path": path, "protocols": ["iso2", "din"],
                            # the module answers on its own timing; the host's answers come via HCI
                            "timeouts": {"secc_app_deadline": False}}
    opts.update(extra or {})
    return LinkOptions.from_config(opts, where="emulator link options")


class ModuleCableEnd:
    """The EV side of the emulated EVSE module's cable, served to the EV process (BoardServer)."""

    def __init__(self, core, v2g=None):
        self.core, self.v2g = core, v2g
        self._listeners = []
        self.contactor = False
        self.ac_current_A = 0.0

    def subscribe(self, listener) -> None:
        self._listeners.append(listener)

    def pwm_duty_pct(self) -> float:
        cp = self.core.state.cp
        return cp.duty_permille / 10.0 if cp.started else 100.0

    def set_cp_state(self, state: CPState) -> None:
        index = _CP_INDEX[CPState(state)]
        cp = self.core.state.cp
        if cp.state == index:
            return
        cp.state = index
        asyncio.ensure_future(self.core.notify("cp.state_changed", state=index))

    def set_contactor(self, closed: bool) -> None:
        self.contactor = bool(closed)

    def contactor_closed(self) -> bool:
        return self.contactor

    def inlet_voltage_V(self) -> float:
        u = getattr(self.v2g, "last_dc_update", None)
        return u.present_voltage_V.value if u is not None else 0.0

    def battery_soc_pct(self) -> float:
        return 0.0

    def battery_voltage_V(self) -> float:
        return 0.0

    def set_ac_current_draw(self, current_A: float, phases: int) -> None:
        self.ac_current_A = current_A


class _SimModel:
    def __init__(self, ev: ModuleCableEnd):
        self.ev = ev


class VirtualEvsePeer:
    """Peer of EvseV2gModule: the virtual SECC, opened at emulator start (the cable listens)."""

    def __init__(self, core, clock, path: str, options: dict[str, Any] | None = None):
        from freev2g_virtual_plc.secc.link import VirtualEvseLink

        self.core, self.clock = core, clock
        self.cable_end = ModuleCableEnd(core)
        ctx = LinkContext(clock=clock, boards={}, shared={"sim_model": _SimModel(self.cable_end)})
        self.link = VirtualEvseLink(link_options(path, options), ctx)
        self.handler = None
        self.listening = asyncio.Event()
        self.listen_wait_s = 10.0
        self._cp_started = False

    def bind(self, handler) -> None:
        self.handler = handler

    async def start(self) -> None:
        placeholder = EVSEOffer(evse_id="", energy_transfer_modes=tuple(EnergyTransferMode))
        await self.link.open(self._handle, placeholder)

    async def _handle(self, event: L.LinkEvent) -> Any:
        if isinstance(event, L.SessionSetup) and not self.listening.is_set():
            try:  # the host sends Start listen right after SLAC (7.2 step 5)
                await self.clock.wait_for(self.listening.wait(), self.listen_wait_s)
            except TimeoutError:
                log.warning("emulator: V2G session before Start listen")
        return await self.handler(event)

    def cp_changed(self, cp) -> None:
        """CP started: report the state the EV presents (the EV end reads the duty itself)."""
        if cp.started and not self._cp_started:
            asyncio.ensure_future(self.core.notify("cp.state_changed", state=cp.state))
        self._cp_started = cp.started

    async def start_matching(self) -> None:
        await self.link.start_matching()

    async def open(self, handler, offer: EVSEOffer) -> None:
        """Start listen: the offer from 0x60 becomes the SECC's service list."""
        self.handler = handler
        self.link.offer = offer
        self.listening.set()

    async def abort(self, cause, detail: str = "") -> None:
        await self.link.abort(cause, detail)

    async def close(self) -> None:
        """Stop listen: no new sessions (the cable stays up)."""
        self.listening.clear()

    async def shutdown(self) -> None:
        await self.link.close()


class GatedEvBoard:
    """The EV link sees the EVSE's duty only once the host armed matching (EV modules start SLAC
    on the host's Start matching, 7.5 step 3). Everything else is the remote cable end."""

    def __init__(self, remote, gate):
        self.remote = remote
        self.cable = remote.cable  # SocketCable.for_role reuses this connection
        self._gate = gate

    def pwm_duty_pct(self) -> float:
        return self.remote.pwm_duty_pct() if self._gate() else 100.0

    def __getattr__(self, name: str):
        return getattr(self.remote, name)


def virtual_ev_link(clock, path: str, gate, options: dict[str, Any] | None = None):
    """(EVCC link, cable board) for the EV-role emulator on the socket medium at `path`."""
    from freev2g_virtual_plc.evcc.link import VirtualEvLink
    from freev2g_virtual_plc.remote_board import RemoteEvBoard
    from freev2g_virtual_plc.socket_medium import SocketCable

    remote = RemoteEvBoard(SocketCable("ev", path, clock))
    board = GatedEvBoard(remote, gate)
    link = VirtualEvLink(link_options(path, options), LinkContext(clock=clock, boards={"ev_board": board}))
    return link, remote
