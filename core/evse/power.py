"""The EvseManager's power path (charging-domain.md 1.4, 1.5, 5.6, 5.7): power_off (supply off,
then the contactor opens regardless), the energising tickets and `close_contactor`, the CP safe
states (X1, state F while a contactor is stuck), `stop` and `shutdown`. Every stop goes through
`stop()`: power off first, then the CP, then the link, then the journal. Mixed into EvseManager.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..model import events as ev
from ..model.enums import CPState, StopCause
from .pilot import LockNotConfirmed
from .states import SessionContext

log = logging.getLogger(__name__)


class PowerPath:
    # ------------------------------------------------------------------ lifecycle (stop side)

    async def shutdown(self, cause: StopCause = StopCause.PROCESS_SHUTDOWN) -> None:
        """Process told to stop: power off, close the session (a stop already running is
        awaited, so its cause is journalled), CP X1 (state F while a contactor is stuck),
        IMD off, close the link. Every step runs even when an earlier one fails."""
        self._shutting_down = True
        try:
            await self.power_off()
            s = self.session
            done = self._stop_done
            if s is not None and not s.finished and s.stopping and done is not None and not done.is_set() \
                    and self._stop_task is not asyncio.current_task():
                try:
                    await self.clock.wait_for(done.wait(), 3.0)
                except TimeoutError:
                    log.error("evse %s: the running stop did not complete in 3 s; finishing the session", self.evse_index)
            if s is not None and not s.finished:
                if s.stopping:
                    await self.power_off()
                    self.finish(s.requested_stop or cause, s.requested_detail or "station stopping",
                                error=s.stop_fault is not None)
                else:
                    await self.stop(cause, "station stopping")
            await self._cp_idle()
            if self.imd is not None:
                try:
                    await self.clock.wait_for(self.imd.stop(), 1.0)
                except Exception:  # noqa: BLE001
                    log.exception("evse %s: IMD stop at shutdown failed", self.evse_index)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.link is not None:
                try:
                    await self.link.close()
                except Exception:  # noqa: BLE001
                    log.exception("evse %s: link close failed", self.evse_index)
            self.started = False

    # ------------------------------------------------------------------ power

    async def power_off(self) -> None:
        """Supply off and contactors open (1.4, 5.7). Never raises. The supply gets
        `power_off_supply_timeout_s` to turn off, then the contactor opens regardless (in a
        finally: also when the caller is cancelled), so it opens within 100 ms of the CP leaving
        C even with a hung supply driver. A contactor that does not open keeps the CP in state F
        and raises a fault event. The over-voltage watch (software and hardware) stays armed
        until supply OFF and contactor open are both confirmed (5.6)."""
        self._power_epoch += 1
        self.energy_on = False
        self._output_may_be_live = True
        supply_off = opened = False
        try:
            try:
                self.dc.cancel()
            except Exception:  # noqa: BLE001 - the contactor must open regardless
                log.exception("evse %s: cancelling DC tasks failed", self.evse_index)
            supply_off = await self._supply_off()
        finally:
            opened = await self._open_contactor()
        if supply_off and opened:
            self._output_may_be_live = False
            self.ov.disarm()
            self.dc.disarm_hardware_ov()

    async def _supply_off(self) -> bool:
        """Supply OFF, time-limited; on failure at least 0 V / 0 A. True when confirmed."""
        if self.psu is None:
            return True
        task = self.spawn(self._supply_command("off", self.psu.set_mode, "off"))
        try:
            if await self.clock.wait_for(asyncio.shield(task), self.tunables.power_off_supply_timeout_s):
                return True
        except TimeoutError:
            log.warning("evse %s: power supply did not confirm OFF in time; opening the contactor anyway", self.evse_index)
            task.add_done_callback(lambda t, epoch=self._power_epoch: self._late_supply_off(t, epoch))
            return False
        setpoint = self.spawn(self._supply_command("0 V / 0 A", self.psu.set_voltage_current, 0.0, 0.0))
        try:
            await self.clock.wait_for(asyncio.shield(setpoint), self.tunables.power_off_supply_timeout_s)
        except TimeoutError:
            pass
        return False

    def _late_supply_off(self, task: asyncio.Task, epoch: int) -> None:
        """A slow supply confirmed OFF after power_off went on: stop watching if nothing else
        happened since and the contactor is confirmed open."""
        if task.cancelled() or task.exception() is not None or not task.result():
            return
        if epoch == self._power_epoch and not self.energy_on and not self._contactor_stuck:
            self._output_may_be_live = False
            self.ov.disarm()
            self.dc.disarm_hardware_ov()

    async def _supply_command(self, what: str, fn, *args) -> bool:
        try:
            await fn(*args)
            return True
        except Exception as exc:  # noqa: BLE001 - any driver error: the contactor opens next
            log.error("evse %s: power supply %s failed: %r", self.evse_index, what, exc)
            return False

    async def _open_contactor(self) -> bool:
        try:
            await self.bsp.allow_power_on(False)
        except Exception as exc:  # noqa: BLE001 - any error counts as "did not open"
            log.critical("evse %s: CONTACTOR DID NOT OPEN: %r", self.evse_index, exc)
            first = not self._contactor_stuck
            self._contactor_stuck = True
            await self._cp_state_f()
            if first:
                self._emit_safely(ev.FaultRaised, cause=StopCause.CP_FAULT, detail=f"contactor did not open: {exc}")
            return False
        self._contactor_stuck = self._weld_reported
        return True

    def power_ticket(self) -> tuple[int, SessionContext | None]:
        """Taken when an energising request is accepted; `close_contactor` honours it only if
        no power_off, stop or new session happened since."""
        return self._power_epoch, self.session

    def may_energise(self, ticket: tuple[int, SessionContext | None]) -> bool:
        epoch, session = ticket
        s = self.session
        return (epoch == self._power_epoch and s is not None and s is session and not s.finished
                and not s.stopping and not self._contactor_stuck and not self._shutting_down)

    async def close_contactor(self, phases: int | None = None, *, ticket: tuple[int, SessionContext | None] | None = None) -> bool:
        """The only way to close the output contactor: refused (bsp untouched) when the session
        is stopping/finished/replaced or a power_off happened since `ticket`; checked again
        after the close (then opened again)."""
        ticket = ticket if ticket is not None else self.power_ticket()
        if not self.may_energise(ticket):
            return False
        if self.lock is not None and not self.lock.is_locked():  # issue #10 item 6: locked first
            try:
                await self.ensure_locked()  # pilot.py: bounded by lock_confirm_timeout_s
            except LockNotConfirmed as exc:
                self.spawn(self.stop(StopCause.CONNECTOR_LOCK_FAULT, str(exc), fault=True))
                return False
            if not self.may_energise(ticket):
                return False
        try:
            await self.bsp.allow_power_on(True, phases=phases or self.phases)
        except BaseException:
            await self.power_off()  # a relay may have closed before the error
            raise
        if not self.may_energise(ticket):
            await self.power_off()
            return False
        self.energy_on = True
        return True

    def _emit_safely(self, cls: type, **fields: Any) -> None:
        try:
            self.emit(cls, **fields)
        except Exception:  # noqa: BLE001 - recording must not stop a power path
            log.exception("evse %s: recording %s failed", self.evse_index, cls.__name__)

    async def _cp_state_f(self) -> None:
        self._cp_out_f = True
        try:
            await self.bsp.set_state_f()
        except Exception as exc:  # noqa: BLE001
            log.critical("evse %s: cannot set state F: %r", self.evse_index, exc)

    async def pwm_off(self) -> None:
        """X1; state F instead while a contactor is stuck closed (never X1 on a live output)."""
        if self._contactor_stuck:
            await self._cp_state_f()
            return
        self._cp_out_f = False
        await self.bsp.set_pwm_off()

    async def _cp_idle(self) -> None:
        """pwm_off() that never raises (stop, unplug and shutdown paths)."""
        try:
            await self.pwm_off()
        except Exception as exc:  # noqa: BLE001
            log.critical("evse %s: cannot switch the CP to X1: %r", self.evse_index, exc)

    def _fault_while_stopping(self, s: SessionContext | None, cause: StopCause, detail: str) -> None:
        """A fault during a running stop or after the session: recorded, never dropped (the
        same cause as the stop itself is a repeat report and only logged)."""
        if s is not None and s.requested_stop is cause and (s.stop_fault in (None, cause)):
            log.warning("evse %s: repeated %s during/after its stop: %s", self.evse_index, cause.value, detail)
            return
        if s is not None and not s.finished and s.stop_fault is None:
            s.stop_fault = cause
        self._emit_safely(ev.FaultRaised, cause=cause, detail=detail)

    async def stop(self, cause: StopCause, detail: str = "", *, fault: bool = False, abort_link: bool = True) -> None:
        """Stop now: power off, CP safe, link aborted, session finished with `cause`. The
        session is finished even when a step fails or this task is cancelled."""
        s = self.session
        in_basic_charging = not self.is_dc and (s is None or not s.hlc) and self.energy_on
        if s is None or s.finished or s.stopping:
            if fault:
                self._fault_while_stopping(s, cause, detail)
            await self.power_off()  # already stopping or stopped: only make sure power is off
            return
        s.stopping = True
        self._stop_task = asyncio.current_task()
        self._stop_done = done = asyncio.Event()
        if s.requested_stop is None:
            s.requested_stop, s.requested_detail = cause, detail
        try:
            if fault:
                self._emit_safely(ev.FaultRaised, cause=cause, detail=detail)
            await self.power_off()
            try:
                if fault and in_basic_charging and self.config.state_F_after_fault_ms > 0:
                    # 1.5: CX -> F (>= 300 ms) -> X1, basic charging only.
                    await self._cp_state_f()
                    await self.clock.sleep(self.config.state_F_after_fault_ms / 1000.0)
            finally:
                if self.cp is not CPState.A or self._contactor_stuck:
                    await self._cp_idle()
            if s.hlc and self.link is not None and abort_link:
                try:
                    await self.clock.wait_for(self.link.abort(cause, detail), 2.0)
                except Exception:  # noqa: BLE001 - the session ends here regardless
                    log.exception("evse %s: link abort failed", self.evse_index)
        finally:
            try:
                if not s.finished:
                    if self.energy_on:
                        await self.power_off()  # backstop: nothing may stay energised
                    self.finish(cause, detail, error=fault or s.stop_fault is not None)
            finally:
                done.set()

