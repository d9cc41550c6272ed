"""Small scripted applications for both link roles: a test EVSE that answers every LinkEvent
with sensible values and a test EV that follows the CP rules of charging-domain.md 3.6.

They are what this plugin's tests and the cross-process demo drive; they are not the
EvseManager or the EvController (core/evse, core/ev), which do the real work.
"""
from __future__ import annotations

import asyncio
from typing import Any

from attrs import define, field

from freev2g import link as L
from freev2g.model.enums import (
    CPState,
    EnergyTransferMode,
    EVSEProcessing,
    IsolationLevel,
    Protocol,
)
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter, DCEVStatus


@define(slots=False)
class ScriptedEvse:
    """EVSE-role application. `stall_on` lists event types it never answers (timeout tests)."""

    bsp: Any = None  # a freev2g.boards.ControlPilot (checks CP C before CableCheck)
    accept: bool = True
    auth_ongoing_rounds: int = 0
    stall_on: tuple[type, ...] = ()
    max_power_W: float = 150_000.0
    evse_present_active_power_W: float | None = 7_000.0
    nominal_voltage_V: float = 230.0
    events: list[Any] = field(factory=list)
    ended: asyncio.Event = field(factory=asyncio.Event)
    _auth_rounds: int = 0
    loops: int = 0

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def handle(self, event: L.LinkEvent) -> Any:
        self.events.append(event)
        if isinstance(event, self.stall_on):
            await asyncio.Event().wait()
        if isinstance(event, L.SessionEnded):
            self.ended.set()
        elif isinstance(event, L.AuthorizationRequest):
            self._auth_rounds += 1
            if self._auth_rounds <= self.auth_ongoing_rounds:
                return L.AuthorizationAnswer(processing=EVSEProcessing.ONGOING)
            return L.AuthorizationAnswer(accepted=self.accept)
        elif isinstance(event, L.ChargeParameterRequest):
            if event.mode.is_dc:
                dc = DCEVSEChargeParameter(max_current_A=200.0, max_voltage_V=920.0, max_power_W=self.max_power_W,
                                           min_voltage_V=150.0, max_discharge_power_W=50_000.0,
                                           max_discharge_current_A=100.0)
                return L.ChargeParameterAnswer(dc=dc)
            ac = ACEVSEChargeParameter(nominal_voltage_V=self.nominal_voltage_V, max_current_A=32.0, max_power_W=22_000.0,
                                       present_active_power_W=self.evse_present_active_power_W)
            return L.ChargeParameterAnswer(ac=ac)
        elif isinstance(event, L.CableCheckRequest):
            if self.bsp is not None and not self.bsp.cp_state().vehicle_ready:
                return L.CableCheckAnswer(processing=EVSEProcessing.ONGOING)
            return L.CableCheckAnswer(processing=EVSEProcessing.FINISHED, isolation=IsolationLevel.VALID,
                                      status_code=L.EVSEStatusCode.READY)
        elif isinstance(event, L.PreChargeRequest):
            return L.PreChargeAnswer(present_voltage_V=event.target_voltage_V)
        elif isinstance(event, L.PowerDeliveryRequest):
            return L.PowerDeliveryAnswer()
        elif isinstance(event, L.DCChargeLoopRequest):
            self.loops += 1
            return L.DCChargeLoopAnswer(present_voltage_V=event.target_voltage_V,
                                        present_current_A=event.target_current_A, evse_max_current_A=200.0,
                                        evse_max_voltage_V=920.0, evse_max_power_W=self.max_power_W,
                                        meter_Wh=float(self.loops))
        elif isinstance(event, L.ACChargeLoopRequest):
            self.loops += 1
            return L.ACChargeLoopAnswer(evse_max_current_A=32.0, evse_target_active_power_W=11_000.0,
                                        evse_present_active_power_W=self.evse_present_active_power_W,
                                        meter_Wh=float(self.loops))
        elif isinstance(event, L.WeldingDetectionRequest):
            return L.WeldingDetectionAnswer(present_voltage_V=10.0)
        return None


@define(slots=False)
class ScriptedEv:
    """EV-role application: CP to C before CableCheck (DC) or at the schedule choice (AC), back
    to B after PowerDelivery(Stop); stops (or pauses / renegotiates) after `loops` loop steps."""

    board: Any = None  # a freev2g.boards.EvBoard
    loops: int = 3
    pause: bool = False
    renegotiate_at: int | None = None
    stall_on: tuple[type, ...] = ()
    target_current_A: float = 50.0
    battery_V: float = 400.0
    needs: L.EvSessionRequest | None = None
    events: list[Any] = field(factory=list)
    finished: asyncio.Event = field(factory=asyncio.Event)
    _loop: int = 0

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def handle(self, event: L.LinkEvent) -> Any:
        self.events.append(event)
        if isinstance(event, self.stall_on):
            await asyncio.Event().wait()
        board = self.board
        if isinstance(event, L.EvSessionFinished):
            self.finished.set()
        elif isinstance(event, L.EvChargeParametersNeeded):
            return self.needs
        elif isinstance(event, L.EvseParametersReceived):
            if board is not None and event.ac is not None:
                board.set_cp_state(CPState.C)
            tuples = event.schedules.tuples if event.schedules else ()
            return L.ScheduleSelection(tuple_id=tuples[0].tuple_id if tuples else 1)
        elif isinstance(event, L.CableCheckReady) and board is not None:
            board.set_cp_state(CPState.C)
        elif isinstance(event, L.PreChargeStatus):
            done = event.present_voltage_V is not None and abs(event.present_voltage_V - self.battery_V) < 20.0
            if done and board is not None:
                board.set_contactor(True)
            return L.PreChargeTargets(target_voltage_V=self.battery_V, done=done)
        elif isinstance(event, L.EvChargeLoopStatus):
            self._loop += 1
            reneg = self.renegotiate_at is not None and self._loop == self.renegotiate_at
            end = self._loop > self.loops
            return L.EvLoopTargets(ev_status=DCEVStatus(soc_pct=50.0), target_voltage_V=self.battery_V,
                                   target_current_A=self.target_current_A, ev_max_current_A=200.0,
                                   ev_max_voltage_V=450.0, ev_present_active_power_W=7_000.0,
                                   stop=end and not self.pause, pause=end and self.pause, renegotiate=reneg)
        elif isinstance(event, L.PowerDeliveryStopped) and board is not None:
            board.set_contactor(False)
            board.set_cp_state(CPState.B)
        elif isinstance(event, L.WeldingDetectionStatus):
            return True
        return None


def dc_request(protocols=(Protocol.ISO15118_2,), mode=EnergyTransferMode.DC_EXTENDED, **kw) -> L.EvSessionRequest:
    from freev2g.model.params import DCEVChargeParameter

    dc = kw.pop("dc", None) or DCEVChargeParameter(status=DCEVStatus(soc_pct=40.0), ev_max_current_A=200.0,
                                                    ev_max_voltage_V=450.0, ev_max_power_W=100_000.0,
                                                    ev_energy_request_Wh=30_000.0)
    return L.EvSessionRequest(protocols=protocols, mode=mode, dc=dc, **kw)


def ac_request(protocols=(Protocol.ISO15118_2,), mode=EnergyTransferMode.AC_THREE_PHASE_CORE, **kw) -> L.EvSessionRequest:
    from freev2g.model.params import ACEVChargeParameter

    ac = kw.pop("ac", None) or ACEVChargeParameter(e_amount_Wh=20_000.0, ev_max_voltage_V=400.0,
                                                    ev_max_current_A=32.0, ev_min_current_A=6.0)
    return L.EvSessionRequest(protocols=protocols, mode=mode, ac=ac, **kw)
