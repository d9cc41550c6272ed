"""The EVSE-role link "virtual" (freev2g.link.EvseLink): data link, SAP, one session at a time.

Flow (charging-domain.md 2.2): the EvseManager shows 5 % and calls `start_matching()`; SLAC
matches (MatchingStarted, LinkUp) or fails (MatchingFailed after TT_EVSE_SLAC_init); SDP;
the EV opens a V2G connection; supportedAppProtocol picks the protocol by the EV's priority
among `options.protocols`; the protocol server runs the session. Paused sessions are kept
for OK_OldSessionJoined. On a medium whose peer can go away and come back (the socket medium:
one EV process after another) the link keeps serving: each new peer gets a new data link
(SLAC state starts over) and its V2G connections are accepted as before.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from freev2g.link import EvseLinkHandler, LinkUp, MatchingFailed, MatchingStarted
from freev2g.model.enums import EVSENotification, Protocol, StopCause
from freev2g.model.params import EVSEOffer
from freev2g.registry import LinkContext

from ..exi_codec import warm_up
from ..medium import Cable, InProcessCable, Medium, MediumClosed
from ..messages.common import SupportedAppProtocolReq
from ..options import LinkOptions
from ..sap import negotiate
from ..slac import EvseDataLink
from .din import DinServer
from .iso2 import Iso2Server
from .iso20 import Iso20Server
from .session import SeccSession

log = logging.getLogger(__name__)

SERVERS = {Protocol.DIN70121: DinServer, Protocol.ISO15118_2: Iso2Server, Protocol.ISO15118_20: Iso20Server}


def make_cable(options: LinkOptions, ctx: LinkContext, role: str) -> Cable:
    if options.medium == "inprocess":
        return ctx.shared.setdefault("virtual_medium", InProcessCable(exi=options.exi))
    from ..socket_medium import SocketCable

    return SocketCable.for_role(role, options.path, ctx)


class VirtualEvseLink:
    """`cable`: a Cable to run on instead of the one `options.medium` names (public seam for
    other media, e.g. freev2g-v2g-wire's TCP/TLS cable)."""

    def __init__(self, options: LinkOptions, ctx: LinkContext, *, cable: Cable | None = None) -> None:
        self._given_cable = cable
        self.options = options
        self.ctx = ctx
        self.clock = ctx.clock
        self.handler: EvseLinkHandler | None = None
        self.offer: EVSEOffer | None = None
        self.cable: Cable | None = None
        self.paused_sessions: dict[str, Protocol] = {}
        self.pending_notification: tuple[EVSENotification, int] = (EVSENotification.NONE, 0)
        self.stop_cause: StopCause | None = None
        self.abort_reason: tuple[StopCause, str] | None = None
        self.session: SeccSession | None = None
        self._datalink: EvseDataLink | None = None
        self._tasks: list[asyncio.Task] = []

    async def open(self, handler: EvseLinkHandler, offer: EVSEOffer) -> None:
        self.handler, self.offer = handler, offer
        self.cable = self._given_cable or make_cable(self.options, self.ctx, "evse")
        warm_up(self.options.protocols)  # before any protocol timer runs
        if hasattr(self.cable, "start"):
            await self.cable.start()  # type: ignore[union-attr]
        self._fresh_datalink()
        self._tasks = [asyncio.ensure_future(self._serve_datalink()), asyncio.ensure_future(self._accept_loop())]

    async def start_matching(self) -> None:
        if self._datalink is None:
            raise RuntimeError("virtual link: start_matching() before open()")
        self._fresh_datalink()  # a new EV process may have connected since
        self._datalink.allow()

    def _fresh_datalink(self) -> EvseDataLink:
        """The data link on the cable's current data-link pipe (a new one per EV process on
        the socket medium; always the same one in-process)."""
        dl = self.cable.data_link("evse")  # type: ignore[union-attr]
        if self._datalink is None or self._datalink.dl is not dl:
            old = self._datalink
            if old is not None and old._init_timer is not None:
                old._init_timer.cancel()  # the previous EV's TT_EVSE_SLAC_init no longer applies
            self._datalink = EvseDataLink(self.clock, dl, self.options.slac, self.cable.port, self._on_datalink)
        return self._datalink

    def notify(self, notification: EVSENotification, max_delay_s: int = 0) -> None:
        self.pending_notification = (notification, max_delay_s)
        if notification is EVSENotification.STOP_CHARGING:
            self.stop_cause = StopCause.EVSE_STOP

    def clear_notification(self, kind: EVSENotification | None) -> None:
        if kind is None or self.pending_notification[0] is kind:
            self.pending_notification = (EVSENotification.NONE, 0)

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        session = self.session
        if session is None or session.ended:
            return
        self.abort_reason = (cause, detail or f"aborted by the EVSE ({cause.value})")
        await session.pipe.close()

    async def close(self) -> None:
        session = self.session
        await self.abort(StopCause.PROCESS_SHUTDOWN, "link closed")
        if session is not None and not session.ended:
            accept = self._tasks[1]
            try:  # let the aborted session deliver SessionEnded before we cancel
                async with self.clock.timeout(1.0):
                    while not session.ended and not accept.done():
                        await asyncio.sleep(0)
            except TimeoutError:
                log.warning("virtual link (EVSE): session did not end within 1 s of close()")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.cable is not None:
            await self.cable.close()

    # --- session bookkeeping (called by SeccSession) ------------------------------------------

    def session_started(self) -> None:
        self.stop_cause = None
        self.abort_reason = None

    def session_over(self) -> None:
        self.pending_notification = (EVSENotification.NONE, 0)

    # --- tasks -----------------------------------------------------------------------------------

    async def _on_datalink(self, what: str, detail: str) -> None:
        event: Any = {
            "matching_started": lambda: MatchingStarted(),
            "link_up": lambda: LinkUp(ev_mac=detail),
            "matching_failed": lambda: MatchingFailed(reason=detail),
        }[what]()
        try:
            await self.handler(event)  # type: ignore[misc]
        except Exception:  # noqa: BLE001
            log.exception("EVSE application failed on %s", type(event).__name__)

    async def _serve_datalink(self) -> None:
        wait_connected = getattr(self.cable, "wait_connected", None)
        while True:
            try:
                await self._fresh_datalink().serve()
            except MediumClosed:
                log.info("virtual link (EVSE): data link closed")
            if wait_connected is None:
                return
            try:
                await wait_connected()  # the next EV process
            except MediumClosed:
                return

    async def _accept_loop(self) -> None:
        while True:
            try:
                pipe = await self.cable.accept()  # type: ignore[union-attr]
            except MediumClosed:
                return
            await self._serve(pipe)

    async def _serve(self, pipe: Medium) -> None:
        tap = self._open_tap(pipe)
        try:
            await self._serve_pipe(pipe)
        finally:
            if tap is not None:
                tap.close()

    def _open_tap(self, pipe: Medium) -> Any:
        """The EVSE's session log (LinkContext.traffic) on this connection, where it has bytes."""
        traffic = getattr(self.ctx, "traffic", None)
        open_tap = getattr(pipe, "open_tap", None)
        if traffic is None or open_tap is None:
            return None
        try:
            return open_tap(traffic, role="evse")
        except Exception:  # noqa: BLE001 - logging must never refuse a session
            log.exception("virtual link (EVSE): session log could not start on this connection")
            return None

    async def _serve_pipe(self, pipe: Medium) -> None:
        try:
            req = await self.clock.wait_for(pipe.recv(), self.options.timeouts.secc_sequence_s)
        except (TimeoutError, MediumClosed):
            await pipe.close()
            return
        if not isinstance(req, SupportedAppProtocolReq):
            log.warning("virtual link (EVSE): first message %s is not supportedAppProtocolReq", type(req).__name__)
            await pipe.close()
            return
        res, protocol = negotiate(req.app_protocols, self.options.protocols)
        try:
            await pipe.send(res)
        except MediumClosed:
            return
        if protocol is None:
            await pipe.close()
            return
        try:
            self.session = SERVERS[protocol](self, pipe)
            await self.session.run()
        except Exception:  # noqa: BLE001 - keep serving the next connection
            log.exception("virtual link (EVSE): %s session crashed", protocol.value)
            await pipe.close()
        finally:
            self.session = None
