"""The EVSE's own watches while energy flows (safety issue #10, items 1 and 4).

Charge loop: from PowerDelivery(Start) until power is off, a charge-loop request (CurrentDemandReq,
DC_ChargeLoopReq, ChargingStatusReq, AC_ChargeLoopReq) must arrive at least every
`charge_loop_timeout_ms` (DC, default 1 s, [verify] against IEC 61851-23) or
`ac_charge_loop_timeout_ms` (AC with HLC, default 3 s [verify]: IEC 61851-23 is DC only and no
normative AC value is known; the AC EV's on-board charger limits its own current). A silent EV
whose link stays open (TCP connected, process frozen) otherwise keeps the last setpoint until
the link's own 60 s V2G_SECC_Sequence_Timeout. While renegotiating (ChargeParameterDiscovery
between PowerDelivery(Renegotiate) and PowerDelivery(Start)) any request from the EV counts.
The stop has cause link_timeout, unless the EVSE had already asked the EV to stop (remote or
local stop): then that cause stays and the detail says the EV fell silent.

Isolation: while the DC output is energised after PowerDelivery(Start), the IMD is read every
ISOLATION_POLL_S; a resistance (the lower of DC+/PE, DC-/PE) below the isolation fault threshold
(EvseTunables.isolation_fault_Ohm, 100 kOhm, IEC 61851-23:2023, charging-domain.md 5.3) for
longer than `isolation_fault_duration_ms` stops the session with isolation_fault. A reading
that fails stops it with imd_fault (nothing watches the insulation any more).

Both run as tasks of the EvseManager, independent of the link: every link (virtual_plc, WHITE
beet, a wire link) reaches the EvseManager through HlcHandler.handle, which feeds `seen()`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..boards import BoardError
from ..model.enums import StopCause
from .states import EvseState, SessionContext

if TYPE_CHECKING:  # pragma: no cover
    from .manager import EvseManager

log = logging.getLogger(__name__)

ISOLATION_POLL_S = 0.5  # IMD read period while charging (fault detection < 5 s, 5.3)
ISOLATION_READ_TIMEOUT_S = 5.0  # an IMD that does not answer in this time counts as failed


class EnergyWatch:
    def __init__(self, manager: "EvseManager"):
        self.m = manager
        self._session: SessionContext | None = None
        self._last_loop_s = 0.0
        self._last_request_s = 0.0
        self._loop_task: asyncio.Task | None = None
        self._iso_task: asyncio.Task | None = None

    # ------------------------------------------------------------------ fed by the handler

    def seen(self, loop: bool) -> None:
        """A request from the EV arrived (`loop`: a charge-loop request)."""
        now = self.m.clock.monotonic()
        self._last_request_s = now
        if loop:
            self._last_loop_s = now

    def start(self) -> None:
        """PowerDelivery(Start) accepted: (re)arm both watches for the running session."""
        m = self.m
        s = m.session
        if s is None:
            return
        now = m.clock.monotonic()
        self._last_loop_s = self._last_request_s = now
        if self._session is not s:
            self._cancel()
            self._session = s
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = m.spawn(self._guard(s, self._watch_loop(s), "charge-loop watch"))
        if m.is_dc and m.imd is not None and (self._iso_task is None or self._iso_task.done()):
            self._iso_task = m.spawn(self._guard(s, self._watch_isolation(s), "isolation watch"))

    def _cancel(self) -> None:
        for task in (self._loop_task, self._iso_task):
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
        self._loop_task = self._iso_task = None

    # ------------------------------------------------------------------ the watches

    def _active(self, s: SessionContext) -> bool:
        m = self.m
        return (m.session is s and not s.finished and not s.stopping and s.power_delivery_started
                and m.energy_on)

    async def _guard(self, s: SessionContext, coro, what: str) -> None:
        """A watch that fails must not leave the output live unwatched: stop the session."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.exception("evse %s: %s failed", self.m.evse_index, what)
            if self.m.session is s and not s.finished:
                await self.m.stop(StopCause.OTHER, f"{what} error: {exc!r}", fault=True)

    async def _watch_loop(self, s: SessionContext) -> None:
        m = self.m
        timeout_ms = m.config.charge_loop_timeout_ms if m.is_dc else m.config.ac_charge_loop_timeout_ms
        timeout_s = timeout_ms / 1000.0
        period_s = max(0.001, min(m.tunables.monitor_period_s, timeout_s / 4.0))
        while True:
            await m.clock.sleep(period_s)
            if not self._active(s):
                return
            last = self._last_loop_s
            if m.state is EvseState.RENEGOTIATING:
                last = max(last, self._last_request_s)
            if m.clock.monotonic() - last > timeout_s:
                detail = f"no charge-loop request for {timeout_ms} ms"
                log.error("evse %s: %s; stopping", m.evse_index, detail)
                if s.requested_stop is not None:  # already stopping on the EVSE's request
                    await m.stop(s.requested_stop, f"{s.requested_detail or 'stop requested'}; {detail}")
                else:
                    await m.stop(StopCause.LINK_TIMEOUT, detail, fault=True)
                return

    async def _watch_isolation(self, s: SessionContext) -> None:
        m = self.m
        threshold = m.tunables.isolation_fault_Ohm
        duration_ms = m.config.isolation_fault_duration_ms
        below_since: float | None = None
        while True:
            if not self._active(s):
                return
            if not m.dc.imd_running:
                await m.clock.sleep(ISOLATION_POLL_S)  # IMD not started (no supply): nothing to read
                continue
            try:
                reading = await m.clock.wait_for(m.imd.read(), ISOLATION_READ_TIMEOUT_S)
            except (BoardError, TimeoutError) as exc:
                if self._active(s):
                    what = "no answer" if isinstance(exc, TimeoutError) else str(exc)
                    await m.stop(StopCause.IMD_FAULT, f"isolation monitor reading during charging failed: {what}",
                                 fault=True)
                return
            if not self._active(s):
                return
            now = m.clock.monotonic()
            ohm = min(reading.resistance_F_Ohm, reading.resistance_N_Ohm)
            if ohm >= threshold:
                below_since = None
            else:
                below_since = now if below_since is None else below_since
                if (now - below_since) * 1000.0 >= duration_ms:
                    detail = (f"isolation {ohm:.0f} Ohm < {threshold:.0f} Ohm for {(now - below_since) * 1000.0:.0f} ms "
                              f"(isolation_fault_duration_ms = {duration_ms})")
                    log.error("evse %s: %s; stopping", m.evse_index, detail)
                    await m.stop(StopCause.ISOLATION_FAULT, detail, fault=True)
                    return
            await m.clock.sleep(ISOLATION_POLL_S)
