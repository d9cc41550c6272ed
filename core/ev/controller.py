"""EvController: the EV-role application of an ISO 15118 link, with EVerest's ISO15118_ev
command set (seed 000: start_charging, stop_charging, pause_charging, set_fault, set_dc_params,
set_bpt_dc_params, enable_sae_j2847_v2g_v2h, update_soc) and its variables (core/ev/variables.py).

It drives the EvBoard as charging-domain.md 3.6 / 4.3 / 5.4 / 5.5 require: CP C (or D) before
CableCheck (DC) or with PowerDelivery(Start) (AC), its DC contactor closed only once the inlet
voltage is within the PreCharge tolerance of the battery, CP back to B and contactor open after
PowerDelivery(Stop), WeldingDetection done below 60 V, stop at the target SoC. On every end of
a session (any cause) the contactor is opened and the AC draw set to 0.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from ..boards import EvBoard
from ..link import (
    CableCheckReady,
    CableCheckStatus,
    EvChargeLoopStatus,
    EvChargeParametersNeeded,
    EvLink,
    EvseParametersReceived,
    EvSessionFinished,
    EvSessionStarted,
    LinkEvent,
    PowerDeliveryStarted,
    PowerDeliveryStopped,
    PreChargeStatus,
    WeldingDetectionStatus,
)
from ..model.enums import CPState, EnergyTransferMode, EVErrorCode, PaymentOption, Protocol, StopCause
from ..model.units import kwh_to_wh
from .config import EvConfig
from .needs import SessionIntent, default_dc_params, session_request
from .reactions import ACTIVE_PHASES, LinkReactions
from .variables import DcEvBPTParameters, DcEvParameters, EvVarListener, VarBus

log = logging.getLogger(__name__)

TraceListener = Callable[[LinkEvent, Any], None]


class EvCommandError(RuntimeError):
    """An ISO15118_ev command that cannot run in the EV's present state."""


class EvController(LinkReactions):
    """One simulated car: `await open()`, then the ISO15118_ev commands."""

    def __init__(
        self,
        config: EvConfig,
        *,
        board: EvBoard,
        link: EvLink,
        clock,
        plug: Callable[[bool, float], None] | None = None,
    ) -> None:
        self.config = config
        self._plug = plug  # e.g. the sim model's plug_in/unplug; default: CP B / A on the board
        self.plugged = False
        self.cable_rating_A = 32.0
        self.cp_state = CPState.A
        self._silent = asyncio.Event()  # set: answers resume (go_silent() clears _speaking)
        self._speaking = True
        self.board = board
        self.link = link
        self.clock = clock
        self.vars = VarBus(clock)
        self.phase = "idle"
        self.protocol: Protocol | None = None
        self.iso_session_id: str | None = None
        self.evse_id: str | None = None
        self.last_finished: EvSessionFinished | None = None
        self.sessions_finished = 0
        self.samples: list[tuple[float, float, float, float, float]] = []  # t_s, V, A, W, SoC
        self._intent: SessionIntent | None = None
        self._dc_params: DcEvParameters | None = None
        self._bpt_params: DcEvBPTParameters | None = None
        self._j2847: str | None = None
        self._error = EVErrorCode.NO_ERROR
        self._stop = self._pause = self._renegotiate = False
        self._stop_cause: StopCause | None = None
        self._soc_override: float | None = None
        self._trace: list[TraceListener] = []
        self._session_task: asyncio.Task | None = None
        self._started: asyncio.Future | None = None
        self._ac_evse_max_A: float | None = None
        self._evse_dc_max: dict[str, float] = {}  # the EVSE's announced DC maxima (V, A, W)
        self._present_V: float | None = None  # last EVSE present voltage in the charge loop
        self._loops_since_start = 0
        self._handlers = {
            EvSessionStarted: self._on_started,
            EvChargeParametersNeeded: self._on_params_needed,
            EvseParametersReceived: self._on_evse_params,
            CableCheckReady: self._on_cable_check_ready,
            CableCheckStatus: self._on_cable_check_status,
            PreChargeStatus: self._on_precharge,
            PowerDeliveryStarted: self._on_power_started,
            EvChargeLoopStatus: self._on_loop,
            PowerDeliveryStopped: self._on_power_stopped,
            WeldingDetectionStatus: self._on_welding,
            EvSessionFinished: self._on_finished,
        }

    # ------------------------------------------------------------------ observers

    def subscribe(self, listener: EvVarListener) -> None:
        """Every ISO15118_ev variable update (EvVarEvent)."""
        self.vars.subscribe(listener)

    def subscribe_trace(self, listener: TraceListener) -> None:
        """Every link event with the EV's answer (for session logs)."""
        self._trace.append(listener)

    def soc_pct(self) -> float:
        if self._soc_override is not None:
            return self._soc_override
        return self.board.battery_soc_pct()

    @property
    def stop_cause(self) -> StopCause | None:
        """Why the EV ended its last session, when the EV decided it."""
        return self._stop_cause

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        await self.link.open(self.handle)

    async def close(self) -> None:
        self._wake()
        if self.session_running():
            await self.link.abort(StopCause.PROCESS_SHUTDOWN, "EV controller closing")
            try:
                await self.clock.wait_for(asyncio.shield(self._session_task), 5.0)
            except (TimeoutError, Exception):  # noqa: BLE001 - closing anyway
                self._session_task.cancel()
        self._safe_state()
        await self.link.close()

    # ------------------------------------------------------------------ cable

    def plug_in(self) -> None:
        """Connect the cable: CP B (IEC 61851-1 state B, 1.2)."""
        if self.plugged:
            return
        if self._plug is not None:
            self._plug(True, self.cable_rating_A)
        else:
            self.board.set_cp_state(CPState.B)
        self.plugged = True
        self.cp_state = CPState.B
        self.phase = "plugged"

    async def unplug(self) -> None:
        """Pull the cable in any state: contactor open, CP A, then drop the session."""
        self.board.set_ac_current_draw(0.0, self.config.ac.phases)
        self.board.set_contactor(False)
        if self.plugged:
            if self._plug is not None:
                self._plug(False, self.cable_rating_A)
            else:
                self.board.set_cp_state(CPState.A)
        self.plugged = False
        self.cp_state = CPState.A
        self._stop_cause = self._stop_cause or StopCause.EV_UNPLUGGED
        self._wake()
        if self.session_running():
            await self.link.abort(StopCause.EV_UNPLUGGED, "cable pulled")
        self.phase = "unplugged"

    # ------------------------------------------------------------------ ISO15118_ev commands

    async def start_charging(
        self,
        EnergyTransferMode: EnergyTransferMode | str,  # noqa: N803 - seed 000 argument names
        SelectedPaymentOption: PaymentOption | str = PaymentOption.EXTERNAL_PAYMENT,  # noqa: N803
        DepartureTime: float | None = None,  # noqa: N803
        EAmount: float | None = None,  # noqa: N803 - kWh
    ) -> bool:
        """Start (or resume) a V2G session. True once the session is set up."""
        from ..model.enums import EnergyTransferMode as Etm

        mode = Etm(EnergyTransferMode)
        if self.session_running():
            raise EvCommandError("start_charging: a session is already running")
        if not self.plugged:
            raise EvCommandError("start_charging: the EV is not plugged in")
        self._intent = SessionIntent(
            mode=mode,
            payment=PaymentOption(SelectedPaymentOption),
            departure_time_s=int(DepartureTime) if DepartureTime is not None else self.config.departure_time_s,
            e_amount_Wh=kwh_to_wh(EAmount) if EAmount is not None else None,
            dc=self._dc_params,
            bpt=self._bpt_params,
            j2847_mode=self._j2847,
        )
        self._stop = self._pause = self._renegotiate = False
        self._stop_cause = None
        self._evse_dc_max, self._present_V = {}, None  # this session's EVSE announces them anew
        self.phase = "session_setup"
        request = session_request(self.config, self._intent, self.soc_pct(), self._error)
        self._started = asyncio.get_running_loop().create_future()
        self._session_task = asyncio.create_task(self._run_session(request), name="ev-session")
        return await self._started

    async def _run_session(self, request) -> None:
        try:
            ok = await self.link.start_session(request)
        except Exception as exc:  # noqa: BLE001 - the link reports its own cause
            log.warning("EV link start_session failed: %s", exc)
            ok = False
        if self._started is not None and not self._started.done():
            self._started.set_result(bool(ok))

    async def stop_charging(self) -> None:
        """Stop charging: PowerDelivery(Stop), welding detection, SessionStop(Terminate)."""
        self._stop = True
        self._stop_cause = self._stop_cause or StopCause.EV_STOP
        if self._outside_loop():
            await self.link.stop_charging()

    async def pause_charging(self) -> None:
        """PowerDelivery(Stop) then SessionStop(Pause); resume with start_charging."""
        self._pause = True
        if self._outside_loop():
            await self.link.stop_charging(pause=True)

    async def renegotiate(self) -> None:
        """EV-initiated renegotiation (charging-domain.md 6.2)."""
        self._renegotiate = True
        if self._outside_loop():
            await self.link.stop_charging(renegotiate=True)

    async def set_fault(self, error: EVErrorCode = EVErrorCode.RESS_MALFUNCTION) -> None:
        """The EV reports an error (DC_EVStatus.EVErrorCode, EVReady false) and stops."""
        self._error = EVErrorCode(error)
        self._stop_cause = StopCause.EV_FAULT
        self._stop = True
        if self._outside_loop():
            await self.link.stop_charging()

    def clear_fault(self) -> None:
        self._error = EVErrorCode.NO_ERROR

    def set_dc_params(self, EvParameters: DcEvParameters) -> None:  # noqa: N803
        self._dc_params = EvParameters
        if self._intent is not None:
            self._intent = _evolve(self._intent, dc=EvParameters)

    def set_bpt_dc_params(self, EvBPTParameters: DcEvBPTParameters) -> None:  # noqa: N803
        self._bpt_params = EvBPTParameters
        if self._intent is not None:
            self._intent = _evolve(self._intent, bpt=EvBPTParameters)

    def enable_sae_j2847_v2g_v2h(self, mode: str = "V2G") -> None:
        """Select the SAE J2847/2 service (charging-domain.md 8) in the next session."""
        if mode not in ("V2G", "V2H"):
            raise EvCommandError(f"enable_sae_j2847_v2g_v2h: mode must be V2G or V2H, got {mode!r}")
        self._j2847 = mode

    def update_soc(self, SoC: float) -> None:  # noqa: N803
        """Set the battery's SoC (the sim board's battery when it allows it)."""
        if not 0 <= SoC <= 100:
            raise EvCommandError(f"update_soc: SoC must be within 0..100 %, got {SoC!r}")
        setter = getattr(self.board, "set_battery_soc_pct", None)
        model = getattr(self.board, "model", None)  # the sim board's SimModel
        if setter is not None:
            setter(float(SoC))
            self._soc_override = None
        elif model is not None and hasattr(model, "set_battery"):
            model.set_battery(soc_pct=float(SoC))
            self._soc_override = None
        else:
            self._soc_override = float(SoC)

    def _outside_loop(self) -> bool:
        """In the charge loop the next loop answer carries stop/pause/renegotiate; elsewhere
        in a session the link is asked directly."""
        return self._session_active() and self.phase != "charging"

    def go_silent(self) -> None:
        """Stop answering the link (a hung EV): the EVSE's timeouts must end the session."""
        self._speaking = False

    def _wake(self) -> None:
        self._speaking = True
        self._silent.set()

    def session_running(self) -> bool:
        return self.phase in ACTIVE_PHASES

    # ------------------------------------------------------------------ link handler

    async def handle(self, event: LinkEvent) -> Any:
        if not self._speaking and not isinstance(event, EvSessionFinished):
            self._silent.clear()
            await self._silent.wait()
        method = self._handlers.get(type(event))
        answer = None
        if method is not None:
            answer = method(event)
        for listener in list(self._trace):
            try:
                listener(event, answer)
            except Exception:  # noqa: BLE001
                log.exception("EV trace listener failed")
        return answer

    # ------------------------------------------------------------------ DC targets (CC/CV)

    def _on_evse_params(self, ev: EvseParametersReceived):
        if ev.dc is not None:
            self._note_evse_dc(ev.dc.max_voltage_V, ev.dc.max_current_A, ev.dc.max_power_W)
        return super()._on_evse_params(ev)

    def _on_loop(self, ev: EvChargeLoopStatus):
        if ev.dc is not None:
            self._note_evse_dc(ev.dc.evse_max_voltage_V, ev.dc.evse_max_current_A, ev.dc.evse_max_power_W)
            self._present_V = ev.dc.present_voltage_V
        return super()._on_loop(ev)

    def _note_evse_dc(self, voltage_V, current_A, power_W) -> None:
        """Keep the EVSE's latest announced maxima; 0 or None means "not announced" (a module
        reports 0 before the first ChargeParameterDiscoveryRes)."""
        for key, value in (("V", voltage_V), ("A", current_A), ("W", power_W)):
            if value is not None and value > 0:
                self._evse_dc_max[key] = float(value)

    def _dc_targets(self, soc: float, discharging: bool) -> dict:
        """A real car asks for what its battery takes, not for its maxima: by default the
        target voltage is the battery's CV voltage and the target current the CC current the
        BMS allows, both within the EVSE's announced maximum voltage, current and power (a
        charger that ignores targets above its own limits would otherwise hold the car at the
        precharge current, issue #12 item 9). Explicit targets (EV config dc.target_*,
        set_dc_params) are sent as given."""
        targets = super()._dc_targets(soc, discharging)
        if discharging:
            return targets
        p = self._intent.dc or default_dc_params(self.config)
        if p.target_voltage_V is None:
            targets["target_voltage_V"] = self._cv_target_V(p.max_voltage_limit_V)
        if p.target_current_A is None and targets["target_current_A"] > 0:
            targets["target_current_A"] = self._cc_target_A(targets["target_current_A"])
        return targets

    def _cv_target_V(self, ev_max_V: float) -> float:
        """The battery's CV voltage (the board's, when it models one; else the EV maximum),
        never above the EVSE's maximum, and at least 5 V above the battery so current flows."""
        board_cv = getattr(self.board, "charge_voltage_limit_V", None)
        cv_V = board_cv() if board_cv is not None else None
        target = min(ev_max_V, cv_V) if cv_V is not None else ev_max_V
        evse_V = self._evse_dc_max.get("V")
        ceiling = min(ev_max_V, evse_V) if evse_V is not None else ev_max_V
        target = min(target, ceiling)
        return max(target, min(ceiling, self.board.battery_voltage_V() + 5.0))

    def _cc_target_A(self, current_A: float) -> float:
        """The CC current within the EVSE's maximum current and power (at the higher of the
        battery and the EVSE's present voltage, so the power stays within the limit)."""
        evse_A, evse_W = self._evse_dc_max.get("A"), self._evse_dc_max.get("W")
        if evse_A is not None:
            current_A = min(current_A, evse_A)
        if evse_W is not None:
            volts = max(self.board.battery_voltage_V(), self._present_V or 0.0, 1.0)
            current_A = min(current_A, evse_W / volts)
        return max(0.0, current_A)


def _evolve(intent: SessionIntent, **changes) -> SessionIntent:
    import attrs

    return attrs.evolve(intent, **changes)
