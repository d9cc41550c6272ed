"""EVSE-role emulator, timing toward the host: notifications that wait for the host's answering
command, Ongoing answers to the EV meanwhile (5.10), the host-timeout path (7.4: the module closes
the session, error 23), and the 500 ms parameter-refresh watchdog (5.9.3; 8.3: DC only by
default, never against FreeV2G in AC). Mixed into emulator/evse.py."""
from __future__ import annotations

import asyncio
import logging

from freev2g.model.enums import StopCause

log = logging.getLogger(__name__)


class _Ongoing:
    pass


_ONGOING = _Ongoing()


class HostTiming:
    """Uses EvseV2gModule's config, core, session, peer, _waits, _ongoing and _watchdog."""

    async def _ask(self, note: str, fields: dict, answer: str, timeout_ms: int):
        """Send a notification and wait for the host's answering command (None on timeout)."""
        fut = asyncio.get_running_loop().create_future()
        self._waits[answer] = fut
        await self.core.notify(note, **fields)
        try:
            return await self.core.clock.wait_for(fut, timeout_ms / 1000.0)
        except TimeoutError:
            return None
        finally:
            self._waits.pop(answer, None)

    async def _host_timeout(self, what: str):
        log.warning("emulator: host did not answer %s in time; closing the session", what)
        if self.session is not None:
            self.session.error_code = 23
        await self.peer.abort(StopCause.LINK_TIMEOUT, f"host did not answer {what}")

    async def _wait_or_ongoing(self, key: str, note: str, fields: dict, answer: str, timeout_ms: int):
        """Ongoing handling (5.10): the first call notifies; each call waits one slice."""
        task = self._ongoing.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._ask(note, fields, answer, timeout_ms))
            self._ongoing[key] = task
        try:
            result = await asyncio.wait_for(asyncio.shield(task), self.config.ongoing_slice_s / self.core.clock.speed)
        except TimeoutError:
            return _ONGOING
        self._ongoing.pop(key, None)
        return result


    def _start_watchdog(self) -> None:
        if self.config.refresh_limit_s is None or self._watchdog is not None:
            return
        self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None and self._watchdog is not asyncio.current_task():
            self._watchdog.cancel()
        self._watchdog = None

    async def _watch(self) -> None:
        limit = self.config.refresh_limit_s
        while self.session is not None:
            await self.core.clock.sleep(limit / 5)
            s = self.session
            if s is None or not s.refresh_armed or (not s.dc and not self.config.enforce_ac_refresh):
                continue
            if self.core.clock.monotonic() - s.last_refresh > limit:
                log.warning("emulator: no parameter update for %.3f s; closing the session", limit)
                s.error_code = 23
                self._watchdog = None
                await self.peer.abort(StopCause.LINK_TIMEOUT, "parameter refresh missed")
                return
