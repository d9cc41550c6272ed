"""Simulated SLAC matching (ISO 15118-3, charging-domain.md 2.3) and SDP (2.4) on the data link.

The EV initiates: CM_SLAC_PARM.REQ -> .CNF, START_ATTEN_CHAR + sounds (summarised, lasting
`sounding_s`), ATTEN_CHAR.IND -> .RSP, SLAC_MATCH.REQ -> .CNF (NID/NMK), then the modem joins
the network (`join_s`). The EVSE answers only after `start_matching()` and gives up after
TT_EVSE_SLAC_init without a CM_SLAC_PARM.REQ. SDP: the EV asks every 250 ms (at most 50
times); the SECC answers with the port of the V2G connection.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any, Awaitable, Callable

from .medium import Medium
from .messages.common import (
    AttenCharInd,
    AttenCharRsp,
    SdpReq,
    SdpRes,
    SlacMatchCnf,
    SlacMatchReq,
    SlacParmCnf,
    SlacParmReq,
    StartAttenCharInd,
)
from .options import SlacTimings, Timeouts

log = logging.getLogger(__name__)


class SlacFailed(Exception):
    pass


async def _expect(clock: Any, dl: Medium, kind: type, run_id: str | None, timeout_s: float) -> Any:
    """Next message of `kind` (same RunID) within `timeout_s`; others are dropped."""
    async with clock.timeout(timeout_s):
        while True:
            msg = await dl.recv()
            if isinstance(msg, kind) and (run_id is None or getattr(msg, "run_id", None) == run_id):
                return msg
            log.debug("data link: dropped %r while waiting for %s", msg, kind.__name__)


async def ev_match(clock: Any, dl: Medium, timings: SlacTimings, ev_mac: str) -> SlacMatchCnf:
    """EV side of one matching process with C_EV_match_retry retries; raises SlacFailed."""
    last = "no attempt"
    for attempt in range(1 + timings.ev_match_retry):
        run_id = secrets.token_hex(8)
        try:
            await dl.send(SlacParmReq(run_id=run_id, ev_mac=ev_mac))
            cnf = await _expect(clock, dl, SlacParmCnf, run_id, timings.match_response_s)
            await dl.send(StartAttenCharInd(run_id=run_id, num_sounds=cnf.num_sounds))
            await clock.sleep(timings.sounding_s)
            await _expect(clock, dl, AttenCharInd, run_id, 1.2)  # TT_EV_atten_results
            await dl.send(AttenCharRsp(run_id=run_id))
            await dl.send(SlacMatchReq(run_id=run_id, ev_mac=ev_mac))
            match = await _expect(clock, dl, SlacMatchCnf, run_id, timings.match_response_s)
            await clock.sleep(timings.join_s)
            return match
        except TimeoutError:
            last = f"attempt {attempt + 1}: no answer from the EVSE"
            await clock.sleep(timings.matching_rate_s)
    raise SlacFailed(f"SLAC matching failed after {1 + timings.ev_match_retry} attempts ({last})")


async def ev_discover(clock: Any, dl: Medium, timeouts: Timeouts) -> SdpRes:
    """SDP: re-send every sdp_retry_s, at most sdp_max_requests times; raises SlacFailed."""
    for _ in range(timeouts.sdp_max_requests):
        await dl.send(SdpReq())
        try:
            return await _expect(clock, dl, SdpRes, None, timeouts.sdp_retry_s)
        except TimeoutError:
            continue
    raise SlacFailed(f"SDP: no SECC answered {timeouts.sdp_max_requests} requests")


class EvseDataLink:
    """EVSE side: answers SLAC once allowed, then SDP. Run `serve()` as a task."""

    def __init__(
        self,
        clock: Any,
        dl: Medium,
        timings: SlacTimings,
        port: Callable[[], int],
        on_event: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.clock = clock
        self.dl = dl
        self.timings = timings
        self.port = port
        self.on_event = on_event  # ("matching_started" | "link_up" | "matching_failed", detail)
        self.allowed = False
        self.matched = False
        self.started = False
        self._init_timer = None
        self._nmk = secrets.token_hex(16)
        self._nid = secrets.token_hex(7)

    def allow(self) -> None:
        """start_matching(): answer SLAC from now on; TT_EVSE_SLAC_init starts."""
        if self.allowed or self.matched:
            return
        self.allowed = True
        self.started = False
        self._init_timer = self.clock.call_later(self.timings.evse_slac_init_s, self._init_expired)

    def _init_expired(self) -> None:
        if self.allowed and not self.started and not self.matched:
            self.allowed = False
            import asyncio

            asyncio.ensure_future(
                self.on_event("matching_failed", f"no CM_SLAC_PARM.REQ within TT_EVSE_SLAC_init "
                              f"({self.timings.evse_slac_init_s:g} s)")
            )

    async def serve(self) -> None:
        while True:
            msg = await self.dl.recv()
            if isinstance(msg, SdpReq):
                if self.matched:
                    await self.dl.send(SdpRes(address="fe80::virtual", port=self.port()))
                continue
            if not self.allowed:
                continue  # modem not listening for SLAC yet
            if isinstance(msg, SlacParmReq):
                if not self.started:
                    self.started = True
                    await self.on_event("matching_started", msg.run_id)
                await self.dl.send(SlacParmCnf(run_id=msg.run_id))
            elif isinstance(msg, StartAttenCharInd):
                await self.clock.sleep(self.timings.sounding_s)
                await self.dl.send(
                    AttenCharInd(run_id=msg.run_id, attenuation_dB=self.timings.attenuation_dB)
                )
            elif isinstance(msg, SlacMatchReq):
                await self.dl.send(SlacMatchCnf(run_id=msg.run_id, nid=self._nid, nmk=self._nmk))
                if self._init_timer is not None:
                    self._init_timer.cancel()
                await self.clock.sleep(self.timings.join_s)
                self.matched = True
                self.allowed = False
                await self.on_event("link_up", msg.ev_mac)
