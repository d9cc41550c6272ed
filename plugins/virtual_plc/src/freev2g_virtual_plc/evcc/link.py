"""The EV-role link "virtual" (freev2g.link.EvLink).

`open()` starts watching the control pilot on `ctx.boards["ev_board"]`: when the EV sees ~5 %
duty (3..7 %, charging-domain.md 1.6) it runs SLAC (2.3) until matched. `start_session()` waits
for the data link, then SDP, opens the V2G connection, offers the EV's protocols by priority in
supportedAppProtocol and sets the session up within V2G_EVCC_CommunicationSetup_Timeout (4.2).
It returns True once SessionSetupRes is in (the session continues in a task) and False when
refused; EvSessionFinished is sent exactly once per start_session call, on every path.
"""
from __future__ import annotations

import asyncio
import logging
from freev2g.link import EvLinkHandler, EvSessionFinished, EvSessionRequest, LinkError
from freev2g.model.enums import Protocol, StopCause
from freev2g.registry import LinkContext

from ..exi_codec import warm_up
from ..medium import Cable, Medium, MediumClosed
from ..messages.common import SapResponseCode, SupportedAppProtocolReq, SupportedAppProtocolRes
from ..options import LinkOptions
from ..sap import ev_offer, protocol_of
from ..secc.link import make_cable
from ..slac import SlacFailed, ev_discover, ev_match
from .client import EvccSession, EvseFailed, StopSession
from .din import DinClient
from .iso20 import Iso20Client

log = logging.getLogger(__name__)

CLIENTS = {Protocol.DIN70121: DinClient, Protocol.ISO15118_2: EvccSession, Protocol.ISO15118_20: Iso20Client}


class VirtualEvLink:
    def __init__(self, options: LinkOptions, ctx: LinkContext, *, emaid: str = "DEXYZC123456789",
                 contract_cert_chain: tuple[bytes, ...] = (b"contract-leaf-der", b"sub-ca-der"),
                 cable: Cable | None = None) -> None:
        self._given_cable = cable  # public seam: another medium's Cable instead of options.medium
        self.options = options
        self.ctx = ctx
        self.clock = ctx.clock
        self.board = ctx.boards.get("ev_board")
        self.emaid = emaid
        self.contract_cert_chain = contract_cert_chain
        self.handler: EvLinkHandler | None = None
        self.cable: Cable | None = None
        self.matched = asyncio.Event()
        self.paused_session: tuple[str, Protocol] | None = None
        self.session: EvccSession | None = None
        self._pipe: Medium | None = None
        self._abort: tuple[StopCause, str] | None = None
        self._requests = {"stop": False, "pause": False, "renegotiate": False}
        self._tasks: list[asyncio.Task] = []
        self._ev_mac = "00:01:01:63:77:31"

    async def open(self, handler: EvLinkHandler) -> None:
        self.handler = handler
        self.cable = self._given_cable or make_cable(self.options, self.ctx, "ev")
        warm_up(self.options.protocols)  # before any protocol timer runs
        if hasattr(self.cable, "start"):
            await self.cable.start()  # type: ignore[union-attr]
        if self.board is not None:
            self._tasks.append(asyncio.ensure_future(self._watch_cp()))

    def _sees_hlc_duty(self) -> bool:
        duty = self.board.pwm_duty_pct()  # type: ignore[union-attr]
        return 3.0 <= duty <= 7.0

    async def _watch_cp(self) -> None:
        """Start SLAC whenever ~5 % is shown and the data link is not up (ISO 15118-3)."""
        dl = self.cable.data_link("ev")  # type: ignore[union-attr]
        while not self.matched.is_set():
            if self._sees_hlc_duty():
                try:
                    await ev_match(self.clock, dl, self.options.slac, self._ev_mac)
                    self.matched.set()
                    return
                except SlacFailed as exc:
                    log.info("virtual link (EV): %s", exc)
                except MediumClosed:
                    return
            await self.clock.sleep(self.options.slac.cp_poll_s)

    def take_requests(self) -> dict[str, bool]:
        out, self._requests = self._requests, {"stop": False, "pause": False, "renegotiate": False}
        return out

    # --- EvLink API ----------------------------------------------------------------------------

    async def start_session(self, request: EvSessionRequest) -> bool:
        if self.handler is None or self.cable is None:
            raise RuntimeError("virtual link: start_session() before open()")
        self._ev_mac = request.ev_mac
        self._abort = None
        self.take_requests()
        if self.board is None and not self.matched.is_set():
            # No EV board to watch: match right away (tests and tools without a cable model).
            try:
                await ev_match(self.clock, self.cable.data_link("ev"), self.options.slac, request.ev_mac)
                self.matched.set()
            except (SlacFailed, MediumClosed) as exc:
                return await self._refused(StopCause.LINK_TIMEOUT, f"SLAC: {exc}")
        try:
            await self.clock.wait_for(self.matched.wait(), self.options.slac.evse_slac_init_s)
        except TimeoutError:
            return await self._refused(StopCause.LINK_TIMEOUT, "no SLAC match (no 5 % duty or no EVSE answer)")
        try:
            async with self.clock.timeout(self.options.timeouts.ev_communication_setup_s):
                return await self._setup(request)
        except TimeoutError:
            await self._close_pipe()
            return await self._refused(StopCause.LINK_TIMEOUT, "V2G_EVCC_CommunicationSetup_Timeout "
                                       f"({self.options.timeouts.ev_communication_setup_s:g} s)")
        except (LinkError, MediumClosed, SlacFailed) as exc:
            await self._close_pipe()
            cause = getattr(exc, "cause", StopCause.LINK_LOST)
            return await self._refused(cause, str(exc))

    async def _setup(self, request: EvSessionRequest) -> bool:
        sdp = await ev_discover(self.clock, self.cable.data_link("ev"), self.options.timeouts)  # type: ignore[union-attr]
        protocols = tuple(p for p in request.protocols if p in self.options.protocols)
        if not protocols:
            return await self._refused(StopCause.OTHER, "no protocol both in the request and the link options")
        pipe = await self.cable.connect(sdp.port)  # type: ignore[union-attr]
        self._pipe = pipe
        offer = ev_offer(protocols, request.mode)
        await pipe.send(SupportedAppProtocolReq(app_protocols=offer))
        res = await self.clock.wait_for(pipe.recv(), self.options.timeouts.ev_msg_s)
        if not isinstance(res, SupportedAppProtocolRes) or res.response_code is SapResponseCode.FAILED:
            await self._close_pipe()
            return await self._refused(StopCause.OTHER, "supportedAppProtocol: no common protocol")
        chosen = next(e for e in offer if e.schema_id == res.schema_id)
        protocol = protocol_of(chosen.protocol_namespace)
        session = CLIENTS[protocol](self, pipe, request)  # type: ignore[index]
        resume = self.paused_session[0] if self.paused_session and self.paused_session[1] is protocol else None
        await session.setup(resume)
        self.paused_session = None
        self.session = session
        self._tasks.append(asyncio.ensure_future(self._run(session)))
        return True

    async def _run(self, session: EvccSession) -> None:
        cause, detail, paused = StopCause.OTHER, "", False
        try:
            cause, detail, paused = await session.run()
        except EvseFailed as exc:
            cause, detail = exc.cause, str(exc)
        except LinkError as exc:
            cause, detail = exc.cause, str(exc)
        except StopSession as exc:
            cause, detail = StopCause.EV_STOP, str(exc)
        except Exception as exc:  # noqa: BLE001 - end safely, report
            log.exception("virtual link (EV): session failed")
            cause, detail = StopCause.OTHER, f"{type(exc).__name__}: {exc}"
        if self._abort is not None:
            cause, detail = self._abort
        if paused:
            self.paused_session = (session.session_id, session.protocol)
        self.session = None
        await self._close_pipe()
        await self._finish(cause, detail, paused)

    async def _refused(self, cause: StopCause, detail: str) -> bool:
        await self._finish(cause, detail, False)
        return False

    async def _finish(self, cause: StopCause, detail: str, paused: bool) -> None:
        log.info("EV session finished: %s %s", cause.value, detail)
        try:
            await self.handler(EvSessionFinished(cause=cause, detail=detail, paused=paused))  # type: ignore[misc]
        except Exception:  # noqa: BLE001
            log.exception("EV application failed on EvSessionFinished")

    async def _close_pipe(self) -> None:
        if self._pipe is not None:
            await self._pipe.close()
            self._pipe = None

    async def stop_charging(self, *, renegotiate: bool = False, pause: bool = False) -> None:
        key = "renegotiate" if renegotiate else ("pause" if pause else "stop")
        self._requests[key] = True

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        if self.session is None:
            return
        self._abort = (cause, detail or f"aborted by the EV ({cause.value})")
        await self._close_pipe()

    async def close(self) -> None:
        await self.abort(StopCause.PROCESS_SHUTDOWN, "link closed")
        running = [t for t in self._tasks if not t.done()]
        if running:  # let an aborted session report EvSessionFinished before we cancel
            await asyncio.wait(running, timeout=1.0)
        for task in self._tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.cable is not None:
            await self.cable.close()

