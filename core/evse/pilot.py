"""CP and board-event handling of the EvseManager (charging-domain.md 1.2-1.5, 2.1, 3.6).

Plug-in opens a session, C/D with authorization energises (basic AC), C/D -> B opens the
contactor within 100 ms, A ends the session, E/F/diode fault and board faults stop with their
cause. Mixed into EvseManager.
"""
from __future__ import annotations

import asyncio
import logging
import math

from ..boards import BoardError, BoardEvent
from ..model import events as ev
from ..model.enums import CPState, EVSENotification, PaymentOption, StopCause
from .safety import BOARD_KIND_CAUSE, FAULT_NAME_CAUSE, stops_charging
from .states import ENERGY_STATES, EvseState, SessionContext, new_session_id

log = logging.getLogger(__name__)


class LockNotConfirmed(Exception):
    """The connector lock failed, timed out or does not report locked (issue #10 item 6)."""


class PilotHandling:
    # ------------------------------------------------------------------ boards and CP

    def _on_board(self, kind: str, event: BoardEvent) -> None:
        if event.kind == "cp_state" and self._cp_queue is not None:
            value = event.value if isinstance(event.value, CPState) else self.bsp.cp_state()
            self._cp_queue.put_nowait(value)
        elif event.kind == "lock" and event.value is False and kind == "connector_lock":
            # the lock opened by itself (or was released by hand) with the output possibly live
            ours = getattr(self, "_unlocking", False)
            if not ours and (self.energy_on or self._output_may_be_live or (self.is_dc and self.state in ENERGY_STATES)):
                self.spawn(self.stop(StopCause.CONNECTOR_LOCK_FAULT, "connector unlocked while energised", fault=True))
        elif event.kind == "fault":
            error = event.value
            if isinstance(error, BaseException) and not stops_charging(error):
                log.warning("evse %s: %s warning: %s %s", self.evse_index, kind, error, event.detail)
                return
            if isinstance(error, str) and error.lower().startswith("warning"):
                log.warning("evse %s: %s warning: %s", self.evse_index, kind, event.detail)
                return
            cause = FAULT_NAME_CAUSE.get(str(error), BOARD_KIND_CAUSE.get(kind, StopCause.OTHER))
            if cause is StopCause.OVER_VOLTAGE:
                self._over_voltage_event()
                return
            if kind == "power_meter":  # stop or go on (fail_on_powermeter_errors): metering.py
                self.metering.failed(f"{error} {event.detail}".strip())
                return
            detail = f"{kind}: {error} {event.detail}".strip()
            if cause is StopCause.WELDING_DETECTED:
                self._weld_reported = True  # stays in state F until restart (5.7)
            if self.energy_on or (self.session is not None and not self.session.finished):
                self.spawn(self.stop(cause, detail, fault=True))
            elif cause is StopCause.WELDING_DETECTED:
                self.spawn(self._late_weld_report(detail))

    async def _late_weld_report(self, detail: str) -> None:
        """A welded contactor reported after the session: supply off, CP state F, recorded."""
        await self.power_off()
        self._contactor_stuck = True
        await self._cp_state_f()
        self._emit_safely(ev.FaultRaised, cause=StopCause.WELDING_DETECTED, detail=detail)

    def _over_voltage_event(self) -> None:
        """A reported over-voltage: emergency stop at once above the Table 103 limit, else the
        software monitor applies internal_over_voltage_duration_ms (5.6). Reported while the
        output is live but no limit is armed: stop at once."""
        if not (self.energy_on or self._output_may_be_live) or self.psu is None:
            return
        try:
            voltage = self.psu.read().voltage_V
        except Exception as exc:  # noqa: BLE001
            log.error("evse %s: power supply read failed: %r", self.evse_index, exc)
            voltage = float("nan")
        if self.ov.negotiated_max_V is None or voltage != voltage:
            self.spawn(self.stop(StopCause.OVER_VOLTAGE, f"over-voltage reported by the board ({voltage:.1f} V)", fault=True))
            return
        verdict = self.ov.check(voltage, self.clock.monotonic())
        if verdict == "emergency":
            limit = self.ov.negotiated_max_V
            self.ov.disarm()
            self.spawn(self.stop(StopCause.OVER_VOLTAGE, f"emergency shutdown: {voltage:.1f} V above {limit} V", fault=True))

    async def _cp_worker(self) -> None:
        assert self._cp_queue is not None
        while True:
            state = await self._cp_queue.get()
            try:
                await self._handle_cp(state)
            except Exception:  # noqa: BLE001 - keep handling CP changes; power off on surprises
                log.exception("evse %s: CP handling failed", self.evse_index)
                try:
                    await self.power_off()
                except Exception:  # noqa: BLE001 - power_off never raises; the worker must not die
                    log.exception("evse %s: power off after a CP handling error failed", self.evse_index)

    async def _handle_cp(self, new: CPState) -> None:
        old, self.cp = self.cp, new
        if new is old:
            return
        if new is CPState.A:
            await self._unplugged()
            return
        if new in (CPState.E, CPState.F, CPState.DF):
            if new is CPState.F and self._cp_out_f:
                return
            await self.stop(StopCause.CP_FAULT, f"CP state {new.value}", fault=True)
            return
        if self.session is None and self.state in (EvseState.IDLE, EvseState.UNAVAILABLE):
            await self._plugged_in()
        if new in (CPState.C, CPState.D):
            if new is CPState.D and not self.config.has_ventilation:
                log.warning("evse %s: state D without ventilation: no energy", self.evse_index)
                if self.energy_on:
                    await self.stop(StopCause.CP_FAULT, "state D, no ventilation", fault=True)
                return
            if self.lock is not None and not self.lock.is_locked():
                if self.is_dc:
                    self.spawn(self._lock())  # cable check waits for it (never holds up the CP worker)
                else:
                    await self._lock()  # AC: locked before the contactor closes (bounded wait)
                    if not self.lock.is_locked():
                        return
            if not self.is_dc:
                await self.ac.ev_ready()
        elif new is CPState.B and old in (CPState.C, CPState.D):
            await self._ev_not_ready()

    async def _ev_not_ready(self) -> None:
        """C/D -> B: open the contactor within 100 ms (1.4). In DC also while a cable check
        or precharge is about to energise (energy_on not yet set)."""
        if not self.energy_on and not (self.is_dc and self.state in ENERGY_STATES):
            return
        s = self.session
        if self.is_dc:
            await self.stop(StopCause.EV_STOP, "CP left C/D with power on", fault=True)
            return
        await self.power_off()
        if s is not None and not s.hlc and self.state is EvseState.CHARGING:
            self.set_state(EvseState.PAUSED_EV, "CP C->B")
            self.emit(ev.ChargingPaused, by="ev")

    async def _plugged_in(self) -> None:
        if not self.available:
            self.set_state(EvseState.UNAVAILABLE, "plugged in while unavailable")
            return
        await self.open_session()
        if self.config.lock_connector_in_state_b and self.lock is not None:
            self.spawn(self._lock())
        self.set_state(EvseState.WAITING_FOR_AUTH, "plugged in")
        if self.uses_hlc:
            if self.is_dc:
                await self._dc_signalling()
            else:
                await self.ac.start_hlc_signalling()
        remote = self.auth.take_remote()
        if remote is not None:
            await self.apply_authorization(remote, PaymentOption.EXTERNAL_PAYMENT)
        elif self.config.disable_authentication or not self.uses_hlc:
            decision = self.auth.decide(PaymentOption.EXTERNAL_PAYMENT)
            if decision is not None:
                await self.apply_authorization(decision, PaymentOption.EXTERNAL_PAYMENT)

    async def open_session(self) -> None:
        """A new session record (PluggedIn); its id is the OCPP transactionId."""
        now = self.clock.now()
        s = SessionContext(session_id=new_session_id(self.config.session_id_type), started_at=now)
        self.session = s
        self.metering.begin_session(s)
        reading = self.meter_reading()
        s.start_import_Wh, s.start_export_Wh = reading[0] or 0.0, reading[1] or 0.0
        self.notification = EVSENotification.NONE
        self.evse_paused = False
        self.emit(ev.PluggedIn)
        self.schedules.begin_transaction(self.evse_index, s.session_id, now)
        self.refresh_limit()
        self.meter_sample(reading)
        self.dc.reset_session()

    async def _dc_signalling(self) -> None:
        await self.bsp.set_pwm_duty(5.0)  # 1.6: DC always 5 %
        await self.link.start_matching()

    async def _lock(self) -> None:
        s = self.session
        try:
            await self.ensure_locked()
        except LockNotConfirmed as exc:
            if s is not None and self.session is s:
                await self.stop(StopCause.CONNECTOR_LOCK_FAULT, str(exc), fault=True)

    async def ensure_locked(self) -> None:
        """Lock the connector and confirm it within `lock_confirm_timeout_s` (issue #10 item 6).
        One lock() at a time: a caller arriving while one is under way waits for that attempt.
        Raises LockNotConfirmed saying what went wrong."""
        lock = self.lock
        if lock is None or lock.is_locked():
            return
        attempt = getattr(self, "_lock_attempt", None)
        if attempt is None or attempt.done():
            attempt = self._lock_attempt = self.spawn(lock.lock())  # cancelled at shutdown, errors logged
        timeout_s = self.tunables.lock_confirm_timeout_s
        try:
            await self.clock.wait_for(asyncio.shield(attempt), timeout_s)
        except TimeoutError:
            raise LockNotConfirmed(f"connector not locked after {timeout_s:g} s") from None
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if attempt.cancelled() and current is not None and not current.cancelling():
                raise LockNotConfirmed("lock attempt abandoned (CP A)") from None
            raise
        except BoardError as exc:
            raise LockNotConfirmed(f"connector lock failed: {exc}") from exc
        if not lock.is_locked():
            raise LockNotConfirmed("connector not locked: lock() returned but the lock does not report locked")

    def cable_side_V(self) -> tuple[float, str]:
        """DC voltage on the cable side of the EVSE contactor for the below-60 V decisions
        (issue #10 items 5 and 7): the optional `cable_voltage_V()` of the IMD or bsp, else the
        supply-side reading (core/boards.py). A failed reading counts as live. AC: 0 V."""
        if not self.is_dc:
            return 0.0, "AC"
        voltage = self.dc.cable_voltage_V()
        if voltage is not None:
            return voltage, "cable side"
        if self.psu is None:
            return 0.0, "no voltage reading"
        try:
            return float(self.psu.read().voltage_V), "supply side"
        except Exception as exc:  # noqa: BLE001 - a reading that fails is never "safe"
            log.error("evse %s: power supply read failed: %r", self.evse_index, exc)
            return math.inf, "supply reading failed"

    async def _unlock_now(self) -> bool:
        self._unlocking = True  # our own unlock, decided on the cable voltage: not a lock fault
        try:
            await self.lock.unlock()
        except Exception as exc:  # noqa: BLE001
            log.error("evse %s: unlock failed: %r", self.evse_index, exc)
            return False
        finally:
            self._unlocking = False
        return True

    async def _unlock_after_unplug(self, s: SessionContext | None) -> None:
        """CP A: unlock only with the cable below the safe voltage (issue #10 item 5). A live
        cable (CP wire broken, EV contactor closed or welded) keeps the lock closed; a watcher
        unlocks once it has discharged, or records `cable_live` after unlock_discharge_timeout_s."""
        attempt = getattr(self, "_lock_attempt", None)
        if attempt is not None and not attempt.done():
            attempt.cancel()  # a lock still under way must not close after the unplug
        voltage, where = self.cable_side_V()
        safe = self.tunables.safe_voltage_V
        if voltage < safe:
            await self._unlock_now()
            return
        detail = f"CP A with the cable at {voltage:.0f} V ({where}): connector stays locked until below {safe:.0f} V"
        log.error("evse %s: %s", self.evse_index, detail)
        sid = s.session_id if s is not None else ""
        if sid:
            self._emit_safely(ev.FaultRaised, cause=StopCause.CABLE_LIVE, detail=detail, session_id=sid)
        self.spawn(self._unlock_when_discharged(sid))

    async def _unlock_when_discharged(self, sid: str) -> None:
        t = self.tunables
        waited, step = 0.0, 0.1
        voltage, where = math.inf, "no reading yet"
        while waited < t.unlock_discharge_timeout_s:
            await self.clock.sleep(step)
            waited += step
            if self.session is not None or self.lock is None or not self.lock.is_locked():
                return  # a new plug-in owns the lock now, or it was opened another way
            voltage, where = self.cable_side_V()
            if voltage < t.safe_voltage_V:
                log.info("evse %s: cable at %.0f V after %.1f s: unlocking", self.evse_index, voltage, waited)
                await self._unlock_now()
                return
        detail = (f"cable still at {voltage:.0f} V ({where}) after {waited:.0f} s: connector stays locked "
                  f"(unlock_connector once it is below {t.safe_voltage_V:.0f} V)")
        log.error("evse %s: %s", self.evse_index, detail)
        if sid:
            self._emit_safely(ev.FaultRaised, cause=StopCause.CABLE_LIVE, detail=detail, session_id=sid)

    async def _unplugged(self) -> None:
        """CP -> A: contactors open within 100 ms, session ends, PWM off, unlock (2.1 step 8)
        once the cable side is below 60 V (issue #10 item 5).
        The session is finished and reset even when a step fails."""
        s = self.session
        if s is not None:
            s.stopping = True  # nothing may energise it while the link is aborted
        try:
            await self.power_off()
            if s is not None and not s.finished and s.hlc and self.link is not None:
                try:
                    await self.clock.wait_for(self.link.abort(StopCause.EV_UNPLUGGED, "unplugged"), 2.0)
                except Exception:  # noqa: BLE001
                    log.exception("evse %s: link abort failed", self.evse_index)
        finally:
            if s is not None and not s.finished:
                self.finish(StopCause.EV_UNPLUGGED, "CP state A", error=s.stop_fault is not None)
            await self._cp_idle()
            if self.lock is not None:
                try:
                    await self._unlock_after_unplug(s)
                except Exception:  # noqa: BLE001 - the session reset below must still run
                    log.exception("evse %s: unlock after unplug failed", self.evse_index)
            if s is not None:
                self._emit_safely(ev.Unplugged)
            if self.session is s:
                self.session = None
            self.evse_paused = False
            self.notification = EVSENotification.NONE
            self.state = EvseState.IDLE if self.available else EvseState.UNAVAILABLE
