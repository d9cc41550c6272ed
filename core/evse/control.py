"""The EvseManager's remote-control API used by the Station (StationApi): snapshot, remote
start/stop, EVSE-side pause/resume, availability, connector unlock. Mixed into EvseManager.
"""
from __future__ import annotations

import logging

from ..boards import BoardError
from ..model import events as ev
from ..model.enums import CPState, EVSENotification, StopCause
from ..registry import AuthorizationDecision
from ..station import SessionSnapshot
from .states import ENERGY_STATES, EvseState, SessionContext

log = logging.getLogger(__name__)


class RemoteControl:
    # ------------------------------------------------------------------ public API (StationApi)

    def snapshot(self) -> SessionSnapshot | None:
        s = self.session
        if s is None:
            return None
        e_imp, e_exp, p, _, _ = self.meter_reading()
        return SessionSnapshot(
            session_id=s.session_id,
            evse_index=self.evse_index,
            state=self.state.value,
            started_at=s.started_at,
            iso_session_id=s.iso_session_id,
            id_token=s.id_token,
            energy_import_Wh=e_imp - s.start_import_Wh,
            energy_export_Wh=e_exp - s.start_export_Wh,
            power_W=p,
            soc_pct=s.soc_pct,
        )

    async def remote_start(self, id_token: str) -> bool:
        s = self.session
        decision = AuthorizationDecision(accepted=True, id_token=id_token, reason="remote start")
        if s is None:
            self.auth.remote_start(id_token)
            return True
        if s.finished or s.authorized is True:
            return False
        s.authorized = None
        await self.apply_authorization(decision, s.auth_method)
        return True

    async def remote_stop(self, cause: StopCause = StopCause.REMOTE_STOP) -> bool:
        s = self.session
        if s is None or s.finished:
            return False
        s.requested_stop = cause
        if s.hlc and self.state in (*ENERGY_STATES, EvseState.PAUSED_EVSE, EvseState.PREPARING):
            self.notification = EVSENotification.STOP_CHARGING
            if self.link is not None:
                self.link.notify(EVSENotification.STOP_CHARGING, 0)
            self.dc.zero_current()
            self.spawn(self._force_stop_later(s, cause))
        else:
            await self.stop(cause, "stop requested")
        return True

    async def _force_stop_later(self, s: SessionContext, cause: StopCause) -> None:
        await self.clock.sleep(self.tunables.evse_stop_grace_s)
        if self.session is s and not s.finished and self.energy_on:
            await self.stop(cause, "EV did not stop in time")

    async def pause_charging(self) -> bool:
        """EVSE-side pause: basic AC -> X1 (C1); HLC -> 0 A live limit (5.9 pattern)."""
        s = self.session
        if s is None or s.finished or self.evse_paused:
            return False
        self.evse_paused = True
        if not s.hlc and not self.is_dc:
            await self.ac.pause()
        else:
            self.dc.zero_current()
        self.set_state(EvseState.PAUSED_EVSE, "paused by EVSE")
        self.emit(ev.ChargingPaused, by="evse")
        return True

    async def resume_charging(self) -> bool:
        s = self.session
        if s is None or s.finished or not self.evse_paused:
            return False
        self.evse_paused = False
        self.emit(ev.ChargingResumed, by="evse")
        if not s.hlc and not self.is_dc:
            self.set_state(EvseState.PREPARING, "resumed by EVSE")
            await self.ac.apply_pwm()
            if self.cp in (CPState.C, CPState.D):
                await self.ac.ev_ready()
        else:
            self.set_state(EvseState.CHARGING if self.energy_on else EvseState.PREPARING, "resumed by EVSE")
        return True

    async def set_available(self, available: bool) -> bool:
        self.available = available
        if self.session is None:
            self.state = EvseState.IDLE if available else EvseState.UNAVAILABLE
        return True

    async def unlock_connector(self) -> bool:
        if self.energy_on or self.lock is None:
            return False
        try:
            await self.lock.unlock()
        except BoardError as exc:
            log.error("evse %s: unlock failed: %s", self.evse_index, exc)
            return False
        return True
