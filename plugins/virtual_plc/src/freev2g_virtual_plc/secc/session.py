"""SECC side of one V2G connection: dispatch, error rules and timeouts common to all protocols.

Error rules (charging-domain.md 3.1): a request that is not allowed next -> FAILED_SequenceError;
a wrong SessionID -> FAILED_UnknownSession; any FAILED response ends the session (send, then
close). V2G_SECC_Sequence_Timeout (4.2) bounds the wait for the next request. The application
gets the performance time of the message (4.1) to answer; where ISO allows an Ongoing answer the
SECC keeps the EV waiting with Ongoing (up to the Ongoing/CableCheck performance time), else it
answers FAILED. If the connection closes while the SECC still owes an answer, the EV gave up
waiting: LINK_TIMEOUT; if it closes while the SECC waits for a request: LINK_LOST.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from freev2g.link import LinkEvent, SessionEnded
from freev2g.model.enums import EVSENotification, Protocol, ResponseCode, StopCause
from freev2g.model.params import EVSEOffer

from ..medium import Medium, MediumClosed
from ..messages.common import V2GRequest, V2GResponse

if TYPE_CHECKING:
    from .link import VirtualEvseLink

log = logging.getLogger(__name__)

TIMED_OUT = object()


class PeerGone(Exception):
    """The EV closed the connection while the SECC owed it an answer."""


class SeccSession:
    """Base of the per-protocol servers (iso2.py, din.py, iso20.py)."""

    protocol: Protocol
    FIRST: tuple[type, ...] = ()  # requests allowed right after SAP

    def __init__(self, link: VirtualEvseLink, pipe: Medium) -> None:
        self.link = link
        self.pipe = pipe
        self.clock = link.clock
        self.t = link.options.timeouts
        self.offer: EVSEOffer = link.offer  # type: ignore[assignment]
        self.session_id: str | None = None
        self.setup_done = False
        self.ended = False
        self.allowed: set[type] = set(self.FIRST)
        self.fail_cause = StopCause.OTHER
        self.fail_detail = ""
        self.stop_kind_pause = False
        self.handlers: dict[type, Callable[[Any], Awaitable[V2GResponse]]] = {}
        self._pending: asyncio.Future | None = None
        self._pending_key: str | None = None
        self._pending_since = 0.0
        self._last_loop_answer: Any = None
        self._last_loop_at = 0.0
        self._closed_watch: asyncio.Future | None = None  # one pipe.wait_closed() per connection

    # --- application calls -------------------------------------------------------------------

    async def app(self, event: LinkEvent) -> Any:
        return await self.link.handler(event)  # type: ignore[misc]

    async def ask(self, key: str, event: LinkEvent, deadline_s: float | None) -> Any:
        """Ask the application; TIMED_OUT when it misses `deadline_s` (the call keeps running
        and is picked up by the next `ask` with the same key). Raises PeerGone if the EV
        closes the connection meanwhile."""
        if self._pending is not None and self._pending_key == key and not self._pending.done():
            task = self._pending
        else:
            task = asyncio.ensure_future(self.app(event))
            self._pending, self._pending_key = task, key
            self._pending_since = self.clock.monotonic()
        # One watcher for the whole connection: a watcher task per message cost three extra
        # event-loop callbacks (start, cancel, cancelled step) on every charge-loop round trip.
        if self._closed_watch is None:
            self._closed_watch = asyncio.ensure_future(self.pipe.wait_closed())
        closed = self._closed_watch
        try:
            async with self.clock.timeout(deadline_s if self.t.secc_app_deadline else None):
                await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            # The deadline timer and the answer can land in the same event-loop turn (the loop
            # was busy: the timer handle runs before the waiter's wake-up). An answer that is
            # already there was given in time; only a missing one is late.
            if not task.done():
                return TIMED_OUT
        if not task.done():
            task.cancel()
            raise PeerGone()
        self._pending = None
        return task.result()

    async def ask_loop(self, event: LinkEvent, deadline_s: float) -> Any:
        """A charge-loop question: like `ask`, but a late answer is replaced by the previous one
        while that is at most `secc_stale_loop_answer_s` old (its present values are what the
        EVSE measured then); the late call keeps running and answers the next request."""
        ans = await self.ask("loop", event, deadline_s)
        now = self.clock.monotonic()
        if ans is not TIMED_OUT:
            self._last_loop_answer, self._last_loop_at = ans, now
            return ans
        if self._last_loop_answer is not None and now - self._last_loop_at <= self.t.secc_stale_loop_answer_s:
            log.warning("SECC: application late for %s (> %g s): answering from its previous answer",
                        type(event).__name__, deadline_s)
            return self._last_loop_answer
        return TIMED_OUT

    def pending_for_s(self) -> float:
        return self.clock.monotonic() - self._pending_since if self._pending is not None else 0.0

    def fail(self, req: V2GRequest, code: ResponseCode, cause: StopCause, detail: str) -> V2GResponse:
        self.fail_cause, self.fail_detail = cause, detail
        return req.RES(session_id=self.session_id or req.session_id, response_code=code)

    def notification(self) -> tuple[EVSENotification, int]:
        return self.link.pending_notification

    # --- the request loop --------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._loop()
        finally:
            if self._pending is not None and not self._pending.done():
                self._pending.cancel()
            if self._closed_watch is not None:
                self._closed_watch.cancel()
            await self.pipe.close()

    async def _loop(self) -> None:
        while True:
            try:
                req = await self.clock.wait_for(self.pipe.recv(), self.t.secc_sequence_s)
            except TimeoutError:
                await self.end(
                    StopCause.LINK_TIMEOUT,
                    f"no request within V2G_SECC_Sequence_Timeout ({self.t.secc_sequence_s:g} s)",
                )
                return
            except MediumClosed as exc:
                cause, detail = self.link.abort_reason or (StopCause.LINK_LOST, f"connection closed: {exc}")
                await self.end(cause, detail)
                return
            try:
                res = await self.dispatch(req)
            except PeerGone:
                await self.end(*(self.link.abort_reason or (
                    StopCause.LINK_TIMEOUT, f"EV closed the connection while waiting for {type(req).__name__[:-3]}Res")))
                return
            except Exception as exc:  # noqa: BLE001 - application error: answer FAILED, end safely
                log.exception("SECC: handling %s failed", type(req).__name__)
                res = self.fail(req, ResponseCode.FAILED, StopCause.OTHER, f"{type(req).__name__}: {exc}")
            try:
                await self.pipe.send(res)
            except MediumClosed as exc:
                cause, detail = self.link.abort_reason or (StopCause.LINK_LOST, f"connection closed: {exc}")
                await self.end(cause, detail)
                return
            if res.response_code.is_failure:
                await self.end(self.fail_cause, self.fail_detail or f"{type(res).__name__}: {res.response_code.value}")
                return
            if self.is_session_stop(req):
                cause = self.link.stop_cause or StopCause.EV_STOP
                await self.end(cause, "SessionStop", paused=self.stop_kind_pause)
                return

    async def dispatch(self, req: Any) -> V2GResponse:
        if not isinstance(req, V2GRequest) or type(req) not in self.handlers:
            name = type(req).__name__
            if isinstance(req, V2GRequest):
                return self.fail(req, ResponseCode.FAILED_SEQUENCE_ERROR, StopCause.SEQUENCE_ERROR,
                                 f"{name} is not a {self.protocol.value} request")
            raise TypeError(f"SECC: unexpected object on the V2G connection: {name}")
        if type(req) not in self.allowed:
            allowed = ", ".join(sorted(t.__name__ for t in self.allowed))
            return self.fail(req, ResponseCode.FAILED_SEQUENCE_ERROR, StopCause.SEQUENCE_ERROR,
                             f"{type(req).__name__} not allowed now (expected {allowed})")
        if self.setup_done and req.session_id != self.session_id:
            return self.fail(req, ResponseCode.FAILED_UNKNOWN_SESSION, StopCause.SEQUENCE_ERROR,
                             f"SessionID {req.session_id} is not the session {self.session_id}")
        return await self.handlers[type(req)](req)

    def is_session_stop(self, req: Any) -> bool:
        return type(req).__name__ == "SessionStopReq"

    async def end(self, cause: StopCause, detail: str = "", *, paused: bool = False) -> None:
        """SessionEnded exactly once per SessionSetup (link.py)."""
        if self.ended:
            return
        self.ended = True
        if paused and self.session_id:
            self.link.paused_sessions[self.session_id] = self.protocol
        self.link.session_over()
        if not self.setup_done:
            return
        log.info("SECC session %s ended: %s %s", self.session_id, cause.value, detail)
        try:
            await self.app(SessionEnded(cause=cause, detail=detail, paused=paused))
        except Exception:  # noqa: BLE001
            log.exception("SECC: application failed on SessionEnded")
