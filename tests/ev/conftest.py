"""Controller-level test parts: a scripted EVSE peer behind the EvLink contract and a recording
EvBoard. They exercise the EvController against core/link.py's event sequence without the
virtual_plc plugin (end-to-end runs with the real link, board and station live in tests/e2e/).
"""
from __future__ import annotations

import asyncio

import pytest
from attrs import define, field

from freev2g.clock import Clock
from freev2g.testing import virtual_loop  # noqa: F401 - fixture (pytest11 entry point when installed)
from freev2g.link import (
    ACChargeLoopAnswer,
    CableCheckReady,
    CableCheckStatus,
    DCChargeLoopAnswer,
    EvChargeLoopStatus,
    EvChargeParametersNeeded,
    EvseParametersReceived,
    EvSessionFinished,
    EvSessionStarted,
    PowerDeliveryStarted,
    PowerDeliveryStopped,
    PreChargeStatus,
    WeldingDetectionStatus,
)
from freev2g.model import (
    ACEVSEChargeParameter,
    CPState,
    DCEVSEChargeParameter,
    EVSENotification,
    EVSEOffer,
    EVSEProcessing,
    EnergyTransferMode,
    IsolationLevel,
    PMaxScheduleEntry,
    Protocol,
    SAScheduleList,
    SAScheduleTuple,
    StopCause,
)


@define
class RecordingBoard:
    """EvBoard with a trivial battery (V = 350 + SoC/2); records every CP/contactor change."""

    soc: float = 50.0
    capacity_Wh: float = 50_000.0
    inlet_V: float = 0.0
    cp: CPState = CPState.A
    contactor: bool = False
    ac_draw: tuple[float, int] = (0.0, 3)
    duty: float = 100.0
    inlet_sensor_ok: bool = True
    log: list = field(factory=list)

    def subscribe(self, listener):
        pass

    def set_cp_state(self, state):
        self.cp = CPState(state)
        self.log.append(("cp", self.cp))

    def pwm_duty_pct(self):
        return self.duty

    def set_contactor(self, closed):
        if closed != self.contactor:
            self.log.append(("contactor", closed, self.inlet_V))
        self.contactor = closed

    def contactor_closed(self):
        return self.contactor

    def inlet_voltage_V(self):
        return self.inlet_V if self.inlet_sensor_ok else 0.0

    def battery_soc_pct(self):
        return self.soc

    def battery_voltage_V(self):
        return 350.0 + self.soc / 2

    def set_ac_current_draw(self, current_A, phases):
        self.ac_draw = (current_A, phases)
        self.log.append(("ac_draw", current_A, phases))

    def set_battery_soc_pct(self, soc):
        self.soc = soc


@define
class ScriptedEvseLink:
    """Plays the EVSE side of one DC or AC session through the EV link events.

    `notify` maps a loop index to an EVSENotification carried in that loop answer.
    `evse_max_current_A` limits the delivered current. Loops stop when the EV asks to stop,
    pause or renegotiate (a renegotiation runs parameter discovery again and continues).
    """

    board: RecordingBoard
    clock: Clock
    protocol: Protocol = Protocol.ISO15118_2
    evse_max_current_A: float = 200.0
    ac_target_power_W: float | None = None  # -20 AC_ChargeLoopRes EVSETargetActivePower
    notify: dict = field(factory=dict)
    max_loops: int = 10_000
    handler: object = None
    requests: list = field(factory=list)
    loop_targets: list = field(factory=list)
    aborted: list = field(factory=list)
    stops: list = field(factory=list)
    task: object = None

    async def open(self, handler):
        self.handler = handler

    async def start_session(self, request):
        self.requests.append(request)
        await self.handler(EvSessionStarted(protocol=self.protocol, iso_session_id="0011223344556677", evse_id="DE*PNX*E1*1",
                                            offer=EVSEOffer(evse_id="DE*PNX*E1*1", energy_transfer_modes=(request.mode,))))
        self.task = asyncio.create_task(self._session(request.mode))
        return True

    async def _session(self, mode: EnergyTransferMode):
        cause, paused = StopCause.EV_STOP, False
        try:
            cause, paused = await self._run(mode)
        except asyncio.CancelledError:
            cause = self.aborted[-1] if self.aborted else StopCause.OTHER
        self.board.inlet_V = 0.0
        await self.handler(EvSessionFinished(cause=cause, paused=paused))

    async def _params(self, mode, renegotiation=False):
        self.requests.append(await self.handler(EvChargeParametersNeeded()))
        schedules = SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 150_000.0, 86_400)])])
        if mode.is_dc:
            ev = EvseParametersReceived(dc=DCEVSEChargeParameter(max_current_A=self.evse_max_current_A, max_voltage_V=1000, max_power_W=150_000),
                                        schedules=schedules, renegotiation=renegotiation)
        else:
            ev = EvseParametersReceived(ac=ACEVSEChargeParameter(nominal_voltage_V=230, max_current_A=self.evse_max_current_A),
                                        schedules=schedules, renegotiation=renegotiation)
        return await self.handler(ev)

    async def _run(self, mode):
        await self._params(mode)
        if mode.is_dc:
            await self.handler(CableCheckReady())
            assert self.board.cp in (CPState.C, CPState.D), "EV not in C/D at CableCheck"
            await self.handler(CableCheckStatus(processing=EVSEProcessing.FINISHED, isolation=IsolationLevel.VALID))
            present = None
            for _ in range(100):
                t = await self.handler(PreChargeStatus(present_voltage_V=present))
                if t.done:
                    break
                present = min(t.target_voltage_V, (present or 0.0) + 100.0)
                self.board.inlet_V = present
                await self.clock.sleep(0.25)
            else:
                return StopCause.PRECHARGE_FAILED, False
        await self.handler(PowerDeliveryStarted())
        answer, loops = None, 0
        while loops < self.max_loops:
            note = self.notify.get(loops, EVSENotification.NONE)
            status = EvChargeLoopStatus(dc=answer, ac=None) if mode.is_dc else EvChargeLoopStatus(ac=answer)
            t = await self.handler(status)
            self.loop_targets.append(t)
            loops += 1
            if t.stop or t.pause:
                break
            if t.renegotiate:
                await self._params(mode, renegotiation=True)
                await self.handler(PowerDeliveryStarted())
                answer = None
                continue
            await self.clock.sleep(0.25)
            if mode.is_dc:
                current = max(-self.evse_max_current_A, min(t.target_current_A, self.evse_max_current_A))
                voltage = self.board.battery_voltage_V() if self.board.contactor else 0.0
                self.board.soc += voltage * current * 0.25 / 3600 / self.board.capacity_Wh * 100
                answer = DCChargeLoopAnswer(present_voltage_V=voltage, present_current_A=current, notification=note)
            else:
                self.board.soc += (t.ev_present_active_power_W or 0.0) * 0.25 / 3600 / self.board.capacity_Wh * 100
                answer = ACChargeLoopAnswer(evse_max_current_A=self.evse_max_current_A, notification=note,
                                            evse_target_active_power_W=self.ac_target_power_W)
        await self.handler(PowerDeliveryStopped())
        assert self.board.cp is CPState.B, "EV not back in B after PowerDelivery(Stop)"
        if mode.is_dc:
            v = self.board.inlet_V = 300.0
            while not await self.handler(WeldingDetectionStatus(present_voltage_V=v)):
                v = self.board.inlet_V = v * 0.5
                await self.clock.sleep(0.5)
        if t.pause:
            return StopCause.EV_STOP, True
        return StopCause.EV_STOP, False

    async def stop_charging(self, *, renegotiate=False, pause=False):
        self.stops.append((renegotiate, pause))

    async def abort(self, cause, detail=""):
        self.aborted.append(cause)
        if self.task is not None:
            self.task.cancel()

    async def close(self):
        pass


@pytest.fixture
def ev_parts():
    """Factory: (controller, board, link) built inside the running loop."""
    from freev2g.ev.config import EvConfig
    from freev2g.ev.controller import EvController

    def make(config: EvConfig | None = None, *, soc: float = 50.0, **link_kwargs):
        clock = Clock(1.0)
        board = RecordingBoard(soc=soc)
        link = ScriptedEvseLink(board=board, clock=clock, **link_kwargs)
        ev = EvController(config or EvConfig(), board=board, link=link, clock=clock)
        return ev, board, link

    return make
