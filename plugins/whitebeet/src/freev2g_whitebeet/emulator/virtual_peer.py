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


class _GatedDataLink:
    """The SECC's data-link pipe as the module runs it: SLAC always, SDP only while listening
    (5.9.9: the SDP server starts at Start listen). Unanswered SDP requests are what an EV
    sees from a real module before 0x6A; it retries them (SDP timing, charging-domain.md 2.4)."""

    def __init__(self, pipe, listening: asyncio.Event):
        self.pipe, self._listening = pipe, listening

    async def recv(self) -> Any:
        from freev2g_virtual_plc.messages.common import SdpReq

        while True:
            msg = await self.pipe.recv()
            if isinstance(msg, SdpReq) and not self._listening.is_set():
                log.debug("emulator: SDP request before Start listen, not answered")
                continue
            return msg

    def __getattr__(self, name: str):
        return getattr(self.pipe, name)


class ListenGate:
    """The SECC link's cable, gated by Start listen / Stop listen: SDP is not answered and no
    V2G connection is accepted while the host has not sent 0x6A, so the session always runs on
    the host's 0x60 configuration (whitebeet-hci.md 5.9.9)."""

    def __init__(self, cable, listening: asyncio.Event):
        self.cable, self._listening = cable, listening
        self._pipes: dict[int, _GatedDataLink] = {}

    def data_link(self, role: str):
        pipe = self.cable.data_link(role)
        gated = self._pipes.get(id(pipe))
        if gated is None or gated.pipe is not pipe:  # one wrapper per pipe: the link compares them
            gated = self._pipes[id(pipe)] = _GatedDataLink(pipe, self._listening)
        return gated

    async def accept(self):
        while True:
            pipe = await self.cable.accept()
            if self._listening.is_set():
                return pipe
            log.info("emulator: V2G connection before Start listen, refused")
            await pipe.close()

    def __getattr__(self, name: str):
        return getattr(self.cable, name)


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
        self._cp_started = False

    def bind(self, handler) -> None:
        self.handler = handler

    async def start(self) -> None:
        # The offer is replaced at Start listen (5.9.9); until then the gate keeps the EV out.
        placeholder = EVSEOffer(evse_id="", energy_transfer_modes=tuple(EnergyTransferMode))
        await self.link.open(self._handle, placeholder)
        # open() only queued its data-link and accept tasks: they see the gated cable.
        self.link.cable = ListenGate(self.link.cable, self.listening)

    async def _handle(self, event: L.LinkEvent) -> Any:
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
