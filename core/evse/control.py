"""The EvseManager's remote-control API used by the Station (StationApi): snapshot, remote
start/stop, tokens presented locally, rejection of a waiting authorization, EVSE-side
pause/resume, availability, connector unlock. Mixed into EvseManager.
"""
from __future__ import annotations

import logging

from ..boards import BoardError
from ..model import events as ev
from ..model.enums import CPState, EVSENotification, PaymentOption, StopCause
from ..registry import AuthorizationDecision
from ..station import SessionSnapshot
from .authorization import PRESENTED_KEY, Authorizer
from .states import ENERGY_STATES, EvseState, SessionContext

log = logging.getLogger(__name__)


class RemoteControl:
    # ------------------------------------------------------------------ the Authorizer

    @property
    def auth(self) -> Authorizer:
        return self.__dict__["_authorizer"]

    @auth.setter
    def auth(self, authorizer: Authorizer) -> None:
        """The EvseManager sets its Authorizer; bind it so that it can read the session and
        emit AuthorizationRequested."""
        authorizer.bind(self)
        self.__dict__["_authorizer"] = authorizer

    # ------------------------------------------------------------------ public API (StationApi)

    def snapshot(self) -> SessionSnapshot | None:
        s = self.session
        if s is None:
            return None
        p = self.meter_reading()[2]
        e_imp, e_exp, _ = self.metering.session_energy()  # last good register - first
        return SessionSnapshot(
            session_id=s.session_id,
            evse_index=self.evse_index,
            state=self.state.value,
            started_at=s.started_at,
            iso_session_id=s.iso_session_id,
            id_token=s.id_token,
            energy_import_Wh=e_imp,
            energy_export_Wh=e_exp,
            power_W=p,  # None while the meter is failed
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

    async def present_id_token(self, id_token: str, token_type: str = "ISO14443") -> None:
        """A token presented locally (RFID reader, app): offered to the policy hook, else
        announced with AuthorizationRequested for the uplinks (StationApi.present_id_token).
        With no session (or a finished one) it identifies the next session."""
        if not id_token:
            raise ValueError(f"evse {self.evse_index}: present_id_token needs a non-empty token")
        s = self.session
        if s is None or s.finished:
            self.auth.present(id_token, token_type)
            return
        if s.authorized is not None:
            log.info("evse %s: token presented while authorization is already %s; ignored",
                     self.evse_index, "accepted" if s.authorized else "refused")
            return
        if not self.auth.method_allowed(PaymentOption.EXTERNAL_PAYMENT):
            log.warning("evse %s: token presented but EIM is disabled (payment_enable_eim); ignored", self.evse_index)
            return
        s.extra[PRESENTED_KEY] = (id_token, token_type)
        decision = self.auth.decide(PaymentOption.EXTERNAL_PAYMENT, id_token=id_token, token_type=token_type,
                                    announce_again=True)
        if decision is not None:
            await self.apply_authorization(decision, PaymentOption.EXTERNAL_PAYMENT)

    async def reject_authorization(self, reason: str = "") -> bool:
        """Refuse the waiting authorization (the backend said no). An HLC session then ends
        with authorization_rejected at the EV's next AuthorizationReq; basic charging keeps
        PWM off and waits for another token. With no session: drops a remote start or
        token waiting for the next one."""
        s = self.session
        if s is None or s.finished:
            return self.auth.forget_pending()
        if s.authorized is not None:
            return False
        token = s.extra.get(PRESENTED_KEY, (None, None))[0]
        decision = AuthorizationDecision(accepted=False, id_token=token, reason=reason or "rejected")
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
        """Unlock, never while power is on or (DC) while the cable side is above the safe voltage
        (charging-domain.md 5.5: a welded EV contactor keeps the cable live after the EVSE opened)."""
        if self.energy_on or self._output_may_be_live or self.lock is None:
            return False
        if self.is_dc:
            cable_V = self.dc.cable_voltage_V()
            if cable_V is None and self.psu is not None:
                log.warning("evse %s: no cable-side voltage reading; unlock judged on the supply side", self.evse_index)
                cable_V = self.psu.read().voltage_V
            if cable_V is not None and cable_V > self.tunables.safe_voltage_V:
                log.error("evse %s: unlock refused, cable at %.0f V (> %.0f V)", self.evse_index, cable_V,
                          self.tunables.safe_voltage_V)
                return False
        try:
            await self.lock.unlock()
        except BoardError as exc:
            log.error("evse %s: unlock failed: %s", self.evse_index, exc)
            return False
        return True
