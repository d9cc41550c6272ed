"""EvseManager: the EVSE-side charging state machine and its safety rules.

Owns one EVSE: its boards (ControlPilot, IMD, DC supply, lock, meter), its link (the link
calls `HlcHandler.handle` with typed events) and its session record. CP handling follows
charging-domain.md 1.2-1.5 and 2.1, the HLC interplay 3.6, DC 5.x. Every stop goes through
`stop()`: power off first (supply off, contactors open), then the CP (X1, or state F after a
fault in basic charging), then the link, then the journal (SessionFinished with its cause).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from ..boards import BoardError
from ..config import DCRatingConfig, EvseManagerConfig
from ..model import events as ev
from ..model.enums import ChargeMode, CPState, EnergyTransferMode, EVSENotification, PaymentOption, StopCause
from ..model.params import EVSEOffer
from ..registry import AuthorizationDecision
from ..station import EvseInfo
from .ac import AcCharging
from .control import RemoteControl
from .pilot import PilotHandling
from .authorization import Authorizer
from .dc import DcCharging
from .hlc import HlcHandler
from .safety import OverVoltageWatch
from .states import EvseState, EvseTunables, SessionContext

log = logging.getLogger(__name__)


class EvseManager(PilotHandling, RemoteControl):
    def __init__(
        self,
        config: EvseManagerConfig,
        *,
        boards: dict[str, Any],
        link: Any,
        clock: Any,
        schedules: Any,
        emit: Callable[[ev.SessionEvent], None],
        pm: Any = None,
        dc_rating: DCRatingConfig | None = None,
        evse_index: int = 1,
        tunables: EvseTunables | None = None,
    ):
        if "bsp" not in boards or boards["bsp"] is None:
            raise ValueError("EvseManager needs a 'bsp' board (control pilot)")
        self.config = config
        self.boards = boards
        self.bsp = boards["bsp"]
        self.imd = boards.get("imd")
        self.psu = boards.get("power_supply")
        self.lock = boards.get("connector_lock")
        self.meter = boards.get("power_meter")
        self.link = link
        self.clock = clock
        self.schedules = schedules
        self.evse_index = evse_index
        self.dc_rating = dc_rating or DCRatingConfig()
        self.tunables = tunables or EvseTunables()
        self._emit_cb = emit
        self.auth = Authorizer(config, pm=pm, evse_index=evse_index)
        self.state = EvseState.IDLE
        self.session: SessionContext | None = None
        self.available = True
        self.energy_on = False
        self.notification = EVSENotification.NONE
        self.evse_paused = False
        self.cp = CPState.A
        self._cp_out_f = False
        self._power_epoch = 0
        self._contactor_stuck = False  # an open command failed: CP stays in state F (5.7)
        self._weld_reported = False  # a board reported a welded contactor: stuck until restart
        self._output_may_be_live = False  # supply OFF or contactor open not confirmed: keep watching
        self._shutting_down = False
        self._stop_task: asyncio.Task | None = None  # the task running stop() (maybe the CP worker)
        self._stop_done: asyncio.Event | None = None  # set when that stop() has finished
        self._monitor_task: asyncio.Task | None = None
        self._cp_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._cp_queue: asyncio.Queue[CPState] | None = None
        self._limit_W = float("inf")
        self._last_meter_s = 0.0
        self._last_limit_s = 0.0
        caps = self.bsp.capabilities()
        self.phases = max(1, min(3, caps.max_phases))
        self.ov = OverVoltageWatch(config.internal_over_voltage_duration_ms / 1000.0)
        self.ac = AcCharging(self)
        self.dc = DcCharging(self)
        self.hlc = HlcHandler(self)
        self.started = False

    # ------------------------------------------------------------------ identity

    @property
    def is_dc(self) -> bool:
        return ChargeMode(self.config.charge_mode) is ChargeMode.DC

    @property
    def uses_hlc(self) -> bool:
        return self.link is not None and (self.is_dc or self.config.ac_hlc_enabled)

    def offer(self) -> EVSEOffer:
        """ServiceDiscovery view: modes, payment options, free service, J2847/2 (3.3, 8)."""
        if self.is_dc:
            modes = [EnergyTransferMode.DC_EXTENDED, EnergyTransferMode.DC_CORE]
            if self.dc.bidirectional:
                modes.append(EnergyTransferMode.DC_BPT)
        else:
            modes = [EnergyTransferMode.AC_THREE_PHASE_CORE, EnergyTransferMode.AC_SINGLE_PHASE_CORE]
            if self.config.supported_iso_ac_bpt:
                modes.append(EnergyTransferMode.AC_BPT)
        payments = []
        if self.config.payment_enable_eim or self.config.disable_authentication:
            payments.append(PaymentOption.EXTERNAL_PAYMENT)
        if self.config.payment_enable_contract:
            payments.append(PaymentOption.CONTRACT)
        return EVSEOffer(
            evse_id=self.config.evse_id,
            energy_transfer_modes=modes,
            payment_options=payments or [PaymentOption.EXTERNAL_PAYMENT],
            free_service=self.config.disable_authentication,
            sae_j2847_2_bpt_mode=self.config.sae_j2847_2_bpt_mode if self.config.sae_j2847_2_bpt_enabled else None,
            evse_id_din=self.config.evse_id_din,
        )

    def info(self) -> EvseInfo:
        if self.is_dc:
            lim = self.dc.limits()
            max_p, max_i, bidi = lim.max_power_W, lim.max_current_A, self.dc.bidirectional
        else:
            max_i = self.config.max_current_import_A
            max_p = max_i * self.config.ac_nominal_voltage * self.phases
            bidi = self.config.supported_iso_ac_bpt
        return EvseInfo(
            index=self.evse_index,
            evse_id=self.config.evse_id,
            connector_id=self.config.connector_id,
            charge_mode=ChargeMode(self.config.charge_mode),
            max_power_W=max_p,
            max_current_A=max_i,
            nominal_voltage_V=self.config.ac_nominal_voltage,
            phases=self.phases,
            bidirectional=bidi,
            connector_type=self.config.connector_type,
        )

    # ------------------------------------------------------------------ events

    def emit(self, cls: type, **fields: Any) -> None:
        s = self.session
        if s is None and "session_id" not in fields:
            log.info("evse %s: %s without a session: %s", self.evse_index, cls.__name__, fields)
            return
        fields.setdefault("session_id", s.session_id if s else "")
        event = cls(timestamp=self.clock.now(), evse_index=self.evse_index, **fields)
        self._emit_cb(event)

    def set_state(self, state: EvseState, cause: str = "") -> None:
        if state is self.state:
            return
        previous, self.state = self.state, state
        log.info("evse %s: %s -> %s (%s)", self.evse_index, previous.value, state.value, cause)
        if self.session is not None:
            self.emit(ev.StateChanged, previous=previous.value, state=state.value, cause=cause)

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("evse %s: task failed", self.evse_index, exc_info=task.exception())
        if task in (self._monitor_task, self._cp_task) and not self._shutting_down and not task.cancelled():
            # The safety monitor and the CP worker must never die while the EVSE runs (a cancel
            # is the event loop or shutdown ending them, not a failure).
            log.critical("evse %s: %s ended; powering off and restarting it", self.evse_index, task.get_coro())
            self.spawn(self.power_off())
            if task is self._monitor_task:
                self._monitor_task = self.spawn(self._monitor())
            else:
                self._cp_task = self.spawn(self._cp_worker())

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        for kind in ("bsp", "imd", "power_supply", "connector_lock", "power_meter"):
            board = self.boards.get(kind)
            if board is not None and hasattr(board, "subscribe"):
                board.subscribe(lambda event, kind=kind: self._on_board(kind, event))
        self.schedules.set_evse_maximum(
            self.evse_index,
            max_power_W=self.dc.limits().max_power_W if self.is_dc else None,
            max_current_A=None if self.is_dc else self.config.max_current_import_A,
            nominal_voltage_V=self.config.ac_nominal_voltage,
            phases=self.phases,
        )
        self.schedules.subscribe(self._on_limits_changed)
        self.refresh_limit()
        self._shutting_down = False
        self._weld_reported = False
        await self.power_off()
        await self.bsp.set_pwm_off()
        self._cp_queue = asyncio.Queue()
        self._cp_task = self.spawn(self._cp_worker())
        self._monitor_task = self.spawn(self._monitor())
        if self.link is not None:
            await self.link.open(self.hlc.handle, self.offer())
        self.started = True
        initial = self.bsp.cp_state()
        if initial is not CPState.A:
            self._cp_queue.put_nowait(initial)

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

    def finish(self, cause: StopCause, detail: str = "", *, error: bool = False) -> None:
        """Close the session record (exactly once): final meter value and SessionFinished."""
        s = self.session
        if s is None or s.finished:
            return
        s.finished = True
        reading = self.meter_reading()
        self.meter_sample(reading)
        self.emit(
            ev.SessionFinished,
            cause=cause,
            detail=detail,
            energy_import_Wh=round(reading[0] - s.start_import_Wh, 3),
            energy_export_Wh=round(reading[1] - s.start_export_Wh, 3),
            start_soc_pct=s.start_soc_pct,
            end_soc_pct=s.soc_pct,
        )
        self.schedules.end_transaction(self.evse_index)
        self.notification = EVSENotification.NONE
        self.set_state(EvseState.ERROR if error else EvseState.FINISHED, cause.value)

    # ------------------------------------------------------------------ meter

    def meter_reading(self) -> tuple[float, float, float, float | None, float | None]:
        if self.meter is None:
            return (0.0, 0.0, 0.0, None, None)
        try:
            r = self.meter.read()
        except BoardError as exc:
            log.error("evse %s: meter read failed: %s", self.evse_index, exc)
            return (0.0, 0.0, 0.0, None, None)
        return (r.energy_import_Wh, r.energy_export_Wh, r.power_W, r.voltage_V, r.current_A)

    def meter_sample(self, reading=None) -> None:
        if self.session is None:
            return
        e_imp, e_exp, p, v, i = reading or self.meter_reading()
        self._last_meter_s = self.clock.monotonic()
        self.emit(
            ev.MeterSample,
            energy_import_Wh=e_imp,
            energy_export_Wh=e_exp,
            power_W=p,
            voltage_V=v,
            current_A=i,
            soc_pct=self.session.soc_pct,
        )

    # ------------------------------------------------------------------ limits

    def refresh_limit(self) -> float:
        """Schedule limit now, then the freev2g_power_limit policy hook; cached for the loop."""
        now = self.clock.now()
        own = self.dc.limits(raw=True).max_power_W if self.is_dc else None
        try:
            watts = self.schedules.limit_now_W(
                self.evse_index, now, nominal_voltage_V=self.config.ac_nominal_voltage, phases=self.phases, evse_max_W=own
            )
        except ValueError:
            watts = own if own is not None else float("inf")
        self._limit_W = self.auth.power_limit_W(now, watts)
        self._last_limit_s = self.clock.monotonic()
        return self._limit_W

    @property
    def limit_W(self) -> float:
        return self._limit_W

    def _on_limits_changed(self, evse_index: int) -> None:
        if evse_index not in (0, self.evse_index) or not self.started:
            return
        self.refresh_limit()
        s = self.session
        if s is None or s.finished:
            return
        renegotiable = s.hlc and s.protocol is not None and s.protocol.value != "din"
        if renegotiable and self.state is EvseState.CHARGING:
            self.request_renegotiation()
        elif renegotiable and s.schedules is not None and self.state in (
            EvseState.PREPARING, EvseState.CABLE_CHECK, EvseState.PRECHARGE, EvseState.RENEGOTIATING
        ):
            # 6.2: ReNegotiation can only travel in loop responses; remember the change and ask
            # as soon as PowerDelivery(Start) puts the session into the charge loop.
            s.renegotiation_pending = True
        elif not s.hlc and not self.is_dc:
            self.spawn(self.ac.apply_pwm())

    def request_renegotiation(self) -> None:
        """6.2: ReNegotiation in the next loop responses (DIN: live limits only)."""
        self.notification = EVSENotification.RENEGOTIATION
        if self.link is not None:
            self.link.notify(EVSENotification.RENEGOTIATION, self.tunables.renegotiation_max_delay_s)

    # ------------------------------------------------------------------ authorization

    async def apply_authorization(self, decision: AuthorizationDecision, method: PaymentOption) -> None:
        s = self.session
        if s is None or s.authorized is not None:
            return
        s.authorized = decision.accepted
        s.id_token = decision.id_token
        s.auth_method = method
        self.emit(ev.Authorized, method=method, id_token=decision.id_token, accepted=decision.accepted, reason=decision.reason)
        if not decision.accepted:
            if not s.hlc and not self.uses_hlc:
                s.authorized = None  # basic charging: wait for another token
            return
        self.set_state(EvseState.PREPARING, "authorized")
        if not self.uses_hlc:
            self.emit(ev.SessionStarted, protocol=None)
        if not self.is_dc:
            await self.ac.authorized()

    # ------------------------------------------------------------------ monitor

    async def _monitor(self) -> None:
        """Safety monitor: over-voltage while the output is or may be live, time-varying limits,
        meter values. An unexpected error never ends it: it stops an energised session instead."""
        t = self.tunables
        while True:
            watching = self.energy_on or self._output_may_be_live
            await self.clock.sleep(t.monitor_period_s if watching else 0.5)
            try:
                self._monitor_tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep monitoring
                log.exception("evse %s: safety monitor error", self.evse_index)
                if self.energy_on:
                    self.spawn(self.stop(StopCause.OTHER, f"safety monitor error: {exc!r}", fault=True))

    def _monitor_tick(self) -> None:
        t = self.tunables
        now_s = self.clock.monotonic()
        if (self.energy_on or self._output_may_be_live) and self.is_dc and self.psu is not None:
            try:
                voltage = self.psu.read().voltage_V
            except Exception as exc:  # noqa: BLE001 - any read error is a supply fault (5.7)
                if self.energy_on:
                    self.spawn(self.stop(StopCause.POWER_SUPPLY_FAULT, f"power supply read: {exc!r}", fault=True))
                else:
                    log.error("evse %s: power supply read failed: %r", self.evse_index, exc)
                voltage = None
            verdict = self.ov.check(voltage, now_s) if voltage is not None else None
            if verdict is not None:
                limit = self.ov.negotiated_max_V
                self.ov.disarm()
                self.spawn(
                    self.stop(StopCause.OVER_VOLTAGE, f"{verdict} shutdown: {voltage:.1f} V above {limit} V", fault=True)
                )
        if now_s - self._last_limit_s >= 1.0:
            self._last_limit_s = now_s  # a failing refresh is retried next second, not every tick
            self.refresh_limit()
        s = self.session
        if s is not None and not s.finished:
            if now_s - self._last_meter_s >= t.meter_interval_s:
                self.meter_sample()
