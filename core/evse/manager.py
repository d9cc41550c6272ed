"""EvseManager: the EVSE-side charging state machine and its safety rules.

Owns one EVSE: its boards (ControlPilot, IMD, DC supply, lock, meter), its link (the link
calls `HlcHandler.handle` with typed events) and its session record. CP handling follows
charging-domain.md 1.2-1.5 and 2.1, the HLC interplay 3.6, DC 5.x. Every stop goes through
`stop()`: power off first (supply off, contactors open), then the CP (X1, or state F after a
fault in basic charging), then the link, then the journal (SessionFinished with its cause).
The power path (power_off, close_contactor, stop, shutdown) lives in power.py.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from ..config import DCRatingConfig, EvseManagerConfig
from ..model import events as ev
from ..model.enums import ChargeMode, CPState, EnergyTransferMode, EVSENotification, PaymentOption, StopCause
from ..model.params import EVSEOffer
from ..registry import AuthorizationDecision
from ..station import EvseInfo
from .ac import AcCharging
from .control import RemoteControl
from .pilot import PilotHandling
from .power import PowerPath
from .authorization import Authorizer
from .dc import DcCharging
from .hlc import HlcHandler
from .metering import Metering
from .over_current import SoftOverCurrentWatch, check_ac
from .safety import OverVoltageWatch
from .session_gate import SessionGate
from .states import EvseState, EvseTunables, SessionContext, tunables_from_config

log = logging.getLogger(__name__)


class EvseManager(PowerPath, PilotHandling, RemoteControl):
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
        self.tunables = tunables_from_config(config, tunables)
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
        self.over_current = SoftOverCurrentWatch.from_config(config)
        self.ac = AcCharging(self)
        self.dc = DcCharging(self)
        self.hlc = HlcHandler(self)
        self.metering = Metering(self)  # meter readings and meter failures (issue #10 item 11)
        self.gate = SessionGate(self)  # the link's handler: refuses requests outside a session
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
        s = self.session
        if (s is None and state not in (EvseState.IDLE, EvseState.UNAVAILABLE)) or (
                s is not None and s.finished and state not in (EvseState.FINISHED, EvseState.ERROR)):
            # Issue #10 item 8: nothing moves the state machine outside a session (a late request
            # must not leave the EVSE in a state where the next plug-in opens no session).
            log.warning("evse %s: %s -> %s refused: no open session (%s)", self.evse_index, self.state.value,
                        state.value, cause)
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
        self.spawn(self.metering.run())  # polls the meter, times out a read that hangs
        if self.link is not None:
            await self.link.open(self.gate.handle, self.offer())
        self.started = True
        initial = self.bsp.cp_state()
        if initial is not CPState.A:
            self._cp_queue.put_nowait(initial)

    # ------------------------------------------------------------------ session record

    def finish(self, cause: StopCause, detail: str = "", *, error: bool = False) -> None:
        """Close the session record (exactly once): final meter value and SessionFinished."""
        s = self.session
        if s is None or s.finished:
            return
        s.finished = True
        self.meter_sample()
        # Last good register minus the first, never negative; incomplete when the meter failed.
        e_imp, e_exp, incomplete = self.metering.session_energy()
        self.emit(
            ev.SessionFinished,
            cause=cause,
            detail=detail,
            energy_import_Wh=round(e_imp, 3),
            energy_export_Wh=round(e_exp, 3),
            energy_incomplete=bool(incomplete),
            start_soc_pct=s.start_soc_pct,
            end_soc_pct=s.soc_pct,
        )
        self.schedules.end_transaction(self.evse_index)
        self.notification = EVSENotification.NONE
        self.set_state(EvseState.ERROR if error else EvseState.FINISHED, cause.value)

    # ------------------------------------------------------------------ meter

    def meter_reading(self) -> tuple[float | None, float | None, float | None, float | None, float | None]:
        """(import Wh, export Wh, W, V, A); all None while the meter is failed (metering.py:
        nothing reports a value the meter did not give)."""
        if self.meter is None:
            return (0.0, 0.0, 0.0, None, None)
        r = self.metering.current()
        if r is None:
            return (None, None, None, None, None)
        return (r.energy_import_Wh, r.energy_export_Wh, r.power_W, r.voltage_V, r.current_A)

    def meter_sample(self, reading=None) -> None:
        if self.session is None:
            return
        e_imp, e_exp, p, v, i = reading or self.meter_reading()
        if e_imp is None:
            return  # meter failed: no sample rather than an invented one
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
        if not self.is_dc:
            check_ac(self, now_s)  # soft over-current (over_current.py)
        if now_s - self._last_limit_s >= 1.0:
            self._last_limit_s = now_s  # a failing refresh is retried next second, not every tick
            self.refresh_limit()
        s = self.session
        if s is not None and not s.finished:
            if now_s - self._last_meter_s >= t.meter_interval_s:
                self.meter_sample()
