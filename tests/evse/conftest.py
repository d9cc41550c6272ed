"""Harness for EvseManager tests: the real sim board (freev2g-evse-board), a real Station built
from the plugin registries, and a scripted EV peer.

The link is scripted: `ScriptedLink` implements the EvseLink protocol and the test drives the
EvseManager's handler with the link events in protocol order (charging-domain.md 3.1), which is
exactly the interface a real link (virtual_plc, whitebeet) uses. The EV's physical side (CP
resistor, contactor, battery) is the sim board's EV view of the same electrical model.
"""
from __future__ import annotations

from typing import Any

import pytest

from freev2g import hookimpl
from freev2g.clock import Clock
from freev2g.config import DCRatingConfig, EvseManagerConfig, LinkConfig, StationConfig
from freev2g.evse.station import Station
from freev2g.evse.states import EvseTunables
from freev2g.link import (
    AuthorizationRequest,
    CableCheckRequest,
    ChargeParameterRequest,
    DCChargeLoopRequest,
    LinkUp,
    MatchingStarted,
    PaymentSelected,
    PowerDeliveryRequest,
    PreChargeRequest,
    SessionEnded,
    SessionSetup,
    SessionStopRequest,
    WeldingDetectionRequest,
)
from freev2g.model.enums import (
    ChargeMode,
    ChargeProgress,
    ChargingSession,
    CPState,
    EnergyTransferMode,
    EVSEProcessing,
    PaymentOption,
    Protocol,
    StopCause,
)
from freev2g.model.params import DCEVChargeParameter, DCEVStatus
from freev2g.plugins import get_plugin_manager
from freev2g.testing import virtual_loop  # noqa: F401 - fixture (pytest11 entry point when installed)


class ScriptedLink:
    """EvseLink whose peer is the test. Records what the EvseManager asks of the link."""

    def __init__(self, config: dict, ctx: Any):
        self.config = config
        self.ctx = ctx
        self.handler = None
        self.offer = None
        self.matching_allowed = 0
        self.notifications: list[tuple[Any, int]] = []
        self.aborts: list[tuple[StopCause, str]] = []
        self.session_active = False
        self.closed = False

    async def open(self, handler, offer) -> None:
        self.handler, self.offer = handler, offer

    async def start_matching(self) -> None:
        self.matching_allowed += 1

    def notify(self, notification, max_delay_s: int = 0) -> None:
        self.notifications.append((notification, max_delay_s))

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        self.aborts.append((cause, detail))
        if self.session_active:
            self.session_active = False
            await self.handler(SessionEnded(cause=cause, detail=detail))

    async def close(self) -> None:
        self.closed = True

    async def send(self, event):
        """The EV side: deliver one event to the EvseManager and return its answer."""
        if isinstance(event, SessionSetup):
            self.session_active = True
        if isinstance(event, SessionEnded):
            self.session_active = False
        return await self.handler(event)


class _ScriptedLinkPlugin:
    @hookimpl
    def freev2g_register_links(self, registry):
        registry.register("scripted", "evse", ScriptedLink, description="test peer")


def make_pm(*extra):
    return get_plugin_manager(extra_plugins=[("scripted_link", _ScriptedLinkPlugin()), *extra])


class Harness:
    """A started Station with the sim board; `ev` is the EV side of the same sim model."""

    def __init__(self, station: Station, shared: dict):
        self.station = station
        self.manager = station.manager(1)
        self.link: ScriptedLink = station.link
        self.shared = shared
        self.model = shared["sim_model"]
        regs = station.pm.registries()
        from freev2g.registry import BoardContext

        self.ev = regs.boards.get("ev_board", "sim").factory({}, BoardContext(clock=station.clock, shared=shared))
        self.bsp = station.boards["bsp"]
        self.events: list = []
        station.subscribe(self.events.append)

    @property
    def clock(self):
        return self.station.clock

    @property
    def journal(self):
        return self.station.journal

    @property
    def session_id(self) -> str:
        return self.manager.session.session_id

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def finished(self):
        return [e for e in self.events if e.kind == "SessionFinished"]

    async def settle(self, seconds: float = 0.5) -> None:
        await self.clock.sleep(seconds)

    def power_is_off(self) -> bool:
        """Contactors open and PWM off (X1) or state F."""
        return not self.bsp.contactor_closed() and self.bsp.pwm_duty_pct() in (100.0, 0.0)

    # ------------------------------------------------------------------ scripted DC EV

    def ev_status(self) -> DCEVStatus:
        return DCEVStatus(ev_ready=True, soc_pct=round(self.ev.battery_soc_pct(), 1))

    def dc_param(self, **kw) -> DCEVChargeParameter:
        values = dict(status=self.ev_status(), ev_max_current_A=200.0, ev_max_voltage_V=420.0, ev_max_power_W=100_000.0,
                      ev_energy_capacity_Wh=60_000.0, ev_energy_request_Wh=30_000.0)
        values.update(kw)
        return DCEVChargeParameter(**values)

    async def dc_until_charge_parameters(self, *, protocol=Protocol.ISO15118_2, option=PaymentOption.EXTERNAL_PAYMENT,
                                         services=(1,), max_entries=12, dc=None, bpt=None, mode=EnergyTransferMode.DC_EXTENDED):
        self.ev.plug_in()
        await self.settle(1.0)
        await self.link.send(MatchingStarted())
        await self.link.send(LinkUp(ev_mac="00:01:01:63:77:31"))
        await self.link.send(SessionSetup(protocol=protocol, iso_session_id="0011223344556677", evcc_id="000101637731"))
        await self.link.send(PaymentSelected(option=option, selected_service_ids=services))
        while True:
            auth = await self.link.send(AuthorizationRequest(option=option))
            if auth.processing is EVSEProcessing.FINISHED:
                break
            await self.settle(0.5)
        assert auth.accepted, "authorization refused"
        cpd = await self.link.send(ChargeParameterRequest(mode=mode, dc=dc or self.dc_param(), bpt=bpt, max_entries=max_entries))
        while cpd.processing is not EVSEProcessing.FINISHED:
            await self.settle(0.5)
            cpd = await self.link.send(ChargeParameterRequest(mode=mode, dc=dc or self.dc_param(), bpt=bpt, max_entries=max_entries))
        return cpd

    async def cable_check(self):
        self.ev.set_cp_state(CPState.C)
        await self.settle(0.2)
        while True:
            cc = await self.link.send(CableCheckRequest(ev_status=self.ev_status()))
            if cc.processing is EVSEProcessing.FINISHED:
                return cc
            await self.settle(0.25)

    async def precharge(self):
        target = self.ev.battery_voltage_V()
        for _ in range(40):
            pc = await self.link.send(PreChargeRequest(ev_status=self.ev_status(), target_voltage_V=target, target_current_A=2.0))
            if abs(pc.present_voltage_V - target) < 20.0:
                self.ev.set_contactor(True)
                return pc
            await self.settle(0.25)
        raise AssertionError(f"precharge did not reach {target} V (last {pc.present_voltage_V} V)")

    async def start_dc(self, **kw):
        cpd = await self.dc_until_charge_parameters(**kw)
        cc = await self.cable_check()
        await self.precharge()
        pd = await self.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=cpd.schedules.tuples[0].tuple_id))
        return cpd, cc, pd

    async def loop(self, n: int = 8, current_A: float = 100.0, voltage_V: float = 410.0, **kw):
        answers = []
        for _ in range(n):
            answers.append(await self.link.send(DCChargeLoopRequest(
                ev_status=self.ev_status(), target_voltage_V=voltage_V, target_current_A=current_A,
                ev_max_voltage_V=420.0, ev_max_current_A=200.0, **kw)))
            await self.settle(0.25)
        return answers

    async def stop_dc(self, *, pause: bool = False):
        await self.link.send(PowerDeliveryRequest(progress=ChargeProgress.STOP))
        self.ev.set_cp_state(CPState.B)
        self.ev.set_contactor(False)
        await self.settle(0.2)
        welding = []
        for _ in range(40):
            w = await self.link.send(WeldingDetectionRequest(ev_status=self.ev_status()))
            welding.append(w.present_voltage_V)
            if w.present_voltage_V < 60.0:
                break
            await self.settle(0.25)
        kind = ChargingSession.PAUSE if pause else ChargingSession.TERMINATE
        await self.link.send(SessionStopRequest(kind=kind))
        await self.link.send(SessionEnded(cause=StopCause.EV_STOP, paused=pause))
        return welding


def station_config(*, evse: dict | None = None, dc: dict | None = None, board_options: dict | None = None) -> StationConfig:
    cfg = StationConfig(
        evse=EvseManagerConfig(**{"charge_mode": "DC", "disable_authentication": True, **(evse or {})}),
        dc=DCRatingConfig(**(dc or {})),
        link=LinkConfig(name="scripted"),
    )
    cfg.evse.charge_mode = ChargeMode(cfg.evse.charge_mode)
    if board_options:
        cfg.board.options["sim"] = board_options
    return cfg


@pytest.fixture
def make_harness(tmp_path):
    """`await make_harness(evse={...}, ...)` inside a virtual_loop coroutine."""

    async def build(*, evse=None, dc=None, board_options=None, pm=None, tunables=None, journal=True, clock=None):
        shared: dict = {}
        cfg = station_config(evse=evse, dc=dc, board_options=board_options)
        station = Station(
            cfg,
            pm=pm or make_pm(),
            clock=clock or Clock(),
            board_shared=shared,
            link_shared={},
            journal_path=str(tmp_path / "journal.sqlite") if journal else None,
            tunables=tunables or EvseTunables(meter_interval_s=5.0),
        )
        await station.start()
        return Harness(station, shared)

    return build


@pytest.fixture
def pm_with():
    """`pm_with(("name", plugin_object), ...)`: a plugin manager with extra test plugins."""
    return make_pm
