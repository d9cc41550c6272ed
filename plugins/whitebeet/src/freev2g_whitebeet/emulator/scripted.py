"""Scripted peer: a simulated EV at link-event level behind the EVSE-role emulator
(whitebeet-hci.md 8.3 "emulated EVSE module + simulated EV"). It produces the sequence of SECC
link events an ISO 15118-2 EV causes; the alternative peer is a virtual_plc "evse" link."""
from __future__ import annotations

import asyncio
import logging

from attrs import define

from freev2g import link as L
from freev2g.model.enums import (
    ChargeProgress, ChargingSession, EnergyTransferMode, EVSENotification, EVSEProcessing, PaymentOption, Protocol,
    StopCause,
)
from freev2g.model.params import ACEVChargeParameter, DCEVChargeParameter, DCEVStatus
from freev2g.model.schedule import ChargingProfileEntry

log = logging.getLogger(__name__)


@define(kw_only=True)
class ScriptedEvConfig:
    mode: EnergyTransferMode | None = None  # None: first mode the EVSE offers
    ev_mac: str = "00:01:01:63:77:31"
    plug_in_delay_s: float = 0.5
    matching_delay_s: float = 1.0
    step_s: float = 0.1
    start_soc_pct: float = 40.0
    target_soc_pct: float = 60.0
    soc_per_step_pct: float = 1.0
    target_voltage_V: float = 400.0
    target_current_A: float = 50.0
    max_steps: int = 500


class ScriptedEvPeer:
    def __init__(self, core, clock, config: ScriptedEvConfig | None = None):
        self.core = core
        self.clock = clock
        self.config = config or ScriptedEvConfig()
        self.handler = None
        self._task: asyncio.Task | None = None
        self._plug: asyncio.Task | None = None
        self.finished = asyncio.Event()
        self.result_cause: StopCause | None = None

    def bind(self, handler) -> None:
        self.handler = handler

    def cp_changed(self, cp) -> None:
        if cp.started and cp.mode == 1 and cp.state == 0 and self._plug is None:
            self._plug = asyncio.get_running_loop().create_task(self._plug_in())

    async def _plug_in(self) -> None:
        await self.clock.sleep(self.config.plug_in_delay_s)
        await self._set_cp(1)

    async def _set_cp(self, state: int) -> None:
        self.core.state.cp.state = state
        await self.core.notify("cp.state_changed", state=state)

    async def start_matching(self) -> None:
        async def match():
            await self.clock.sleep(self.config.matching_delay_s)
            await self.handler(L.LinkUp(ev_mac=self.config.ev_mac))

        asyncio.get_running_loop().create_task(match())

    async def open(self, handler, offer) -> None:
        self.handler = handler
        self._task = asyncio.get_running_loop().create_task(self._run(offer))

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        if self._task is not None and not self._task.done() and self._task is not asyncio.current_task():
            self._task.cancel()
        await self._end(cause, detail)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _end(self, cause: StopCause, detail: str = "", paused: bool = False) -> None:
        if self.finished.is_set():
            return
        self.finished.set()
        self.result_cause = cause
        await self.handler(L.SessionEnded(cause=cause, detail=detail, paused=paused))

    async def _ask(self, event, done):
        for _ in range(self.config.max_steps):
            answer = await self.handler(event)
            if done(answer):
                return answer
            await self.clock.sleep(self.config.step_s)
        raise TimeoutError(f"{type(event).__name__}: EVSE kept answering Ongoing")

    async def _run(self, offer) -> None:
        c, h = self.config, self.handler
        self.finished.clear()
        try:
            mode = c.mode or offer.energy_transfer_modes[0]
            soc = c.start_soc_pct
            await h(L.SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0102030405060708", evcc_id=c.ev_mac))
            await h(L.PaymentSelected(option=PaymentOption.EXTERNAL_PAYMENT))
            auth = await self._ask(L.AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT),
                                   lambda a: a.processing is EVSEProcessing.FINISHED)
            if not auth.accepted:
                return await self._end(StopCause.AUTHORIZATION_REJECTED)
            status = lambda: DCEVStatus(ev_ready=True, soc_pct=soc)  # noqa: E731
            dc = DCEVChargeParameter(status=status(), ev_max_current_A=125.0, ev_max_voltage_V=450.0,
                                     ev_max_power_W=50000.0, ev_energy_capacity_Wh=50000.0,
                                     ev_energy_request_Wh=10000.0, full_soc_pct=100, bulk_soc_pct=80)
            ac = ACEVChargeParameter(e_amount_Wh=10000.0, ev_max_voltage_V=400.0, ev_max_current_A=16.0, ev_min_current_A=1.0)
            cpd = await self._ask(
                L.ChargeParameterRequest(mode=mode, dc=dc if mode.is_dc else None, ac=None if mode.is_dc else ac, max_entries=24),
                lambda a: a.processing is EVSEProcessing.FINISHED)
            if cpd.response_code.is_failure or cpd.schedules is None:
                return await self._end(StopCause.EVSE_STOP, "charge parameter discovery failed")
            chosen = cpd.schedules.tuples[0]
            tuple_id = chosen.tuple_id
            ev_max_W = 50000.0 if mode.is_dc else 3 * 230.0 * ac.ev_max_current_A
            # the EV's ChargingProfile follows the chosen schedule, capped at its own maximum
            profile = tuple(ChargingProfileEntry(start_s=en.start_s, max_power_W=min(en.pmax_W, ev_max_W))
                            for en in chosen.entries)
            if mode.is_dc:
                await self._set_cp(2)
                cc = await self._ask(L.CableCheckRequest(ev_status=status()),
                                     lambda a: a.processing is EVSEProcessing.FINISHED)
                if cc.response_code.is_failure or cc.isolation.value in ("Fault", "Invalid"):
                    return await self._end(StopCause.CABLE_CHECK_FAILED)
                await self._ask(L.PreChargeRequest(ev_status=status(), target_voltage_V=c.target_voltage_V, target_current_A=2.0),
                                lambda a: abs(a.present_voltage_V - c.target_voltage_V) <= 10.0)
            else:
                await self._set_cp(2)
            pd = await h(L.PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=tuple_id, profile=profile,
                                                ev_status=status()))
            if pd.response_code.is_failure:
                return await self._end(StopCause.EVSE_STOP, "power delivery refused")
            for _ in range(c.max_steps):
                if mode.is_dc:
                    ans = await h(L.DCChargeLoopRequest(ev_status=status(), target_voltage_V=c.target_voltage_V,
                                                        target_current_A=c.target_current_A, ev_max_voltage_V=450.0,
                                                        ev_max_current_A=125.0, ev_max_power_W=50000.0,
                                                        charging_complete=soc >= c.target_soc_pct))
                    # scripted time-based SoC: the EVSE side may run without a power stage model
                    soc = min(100.0, soc + c.soc_per_step_pct)
                else:
                    ans = await h(L.ACChargeLoopRequest(soc_pct=soc))
                    soc = min(100.0, soc + c.soc_per_step_pct)
                if soc >= c.target_soc_pct or ans.notification is not EVSENotification.NONE:
                    break
                await self.clock.sleep(c.step_s)
            reneg = False
            await h(L.PowerDeliveryRequest(progress=ChargeProgress.STOP, ev_status=status()))
            await self._set_cp(1)
            if mode.is_dc and not reneg:
                await self._ask(L.WeldingDetectionRequest(ev_status=status()), lambda a: a.present_voltage_V < 60.0)
            await h(L.SessionStopRequest(kind=ChargingSession.TERMINATE))
            await self._end(StopCause.EV_STOP)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the simulated EV stops like a real one: session over
            log.warning("scripted EV: %s", exc)
            await self._end(StopCause.SEQUENCE_ERROR, str(exc))
