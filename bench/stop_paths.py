"""Every stop path of the EvseManager, timed in the sim: trigger -> contactor open, output
below 1 A, supply off, and the CP generator afterwards (issue #10, README "Stop paths").

Each path runs a DC session (ISO 15118-2 message order) against the real sim board
(freev2g-evse-board: one electrical model of charger, cable and EV), a real Station with its
sqlite journal in a temporary folder, on a virtual-time loop. The EV is this script: an
EvseLink whose peer sends the link events a real link (virtual_plc, whitebeet) delivers, and
the EV side of the same sim model (CP resistor, contactor, battery). While charging, the EV
sends a charge-loop request every 250 ms and reacts to StopCharging like a compliant EV, unless
the path says otherwise. Times are sim time, sampled every 1 ms.

    .venv/bin/python bench/stop_paths.py            (markdown table, as in README.md)

Figures only; the outcomes are asserted in tests/evse/ (test_stop_paths.py, test_safety_*).
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any, Awaitable, Callable

import attrs

from freev2g import hookimpl
from freev2g.clock import Clock, run
from freev2g.config import DCRatingConfig, EvseManagerConfig, LinkConfig, StationConfig
from freev2g.evse.states import EvseTunables
from freev2g.evse.station import Station
from freev2g.journal import Journal
from freev2g.link import (
    AuthorizationRequest, CableCheckRequest, ChargeParameterRequest, DCChargeLoopRequest, LinkUp,
    MatchingStarted, PaymentSelected, PowerDeliveryRequest, PreChargeRequest, SessionEnded,
    SessionSetup, SessionStopRequest, WeldingDetectionRequest,
)
from freev2g.model.enums import (
    ChargeMode, ChargeProgress, ChargingSession, CPState, EnergyTransferMode, EVSENotification,
    EVSEProcessing, PaymentOption, Protocol, StopCause,
)
from freev2g.model.params import DCEVChargeParameter, DCEVStatus
from freev2g.plugins import get_plugin_manager
from freev2g.registry import BoardContext

LOOP_PERIOD_S = 0.25
SAMPLE_S = 0.001
WATCH_LIMIT_S = 70.0


class PeerLink:
    """EvseLink whose peer is this script; records the EvseManager's aborts."""

    def __init__(self, config: dict, ctx: Any):
        self.handler = None
        self.aborts: list[StopCause] = []
        self.active = False

    async def open(self, handler, offer) -> None:
        self.handler = handler

    async def start_matching(self) -> None:
        pass

    def notify(self, notification, max_delay_s: int = 0) -> None:
        pass

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        self.aborts.append(cause)
        if self.active:  # a real link ends its session when asked to abort
            await self.send(SessionEnded(cause=cause, detail=detail))

    async def close(self) -> None:
        self.active = False

    async def send(self, event):
        if isinstance(event, SessionSetup):
            self.active = True
        if isinstance(event, SessionEnded):
            self.active = False
        return await self.handler(event)


class _PeerPlugin:
    @hookimpl
    def freev2g_register_links(self, registry):
        registry.register("bench_peer", "evse", PeerLink, description="bench/stop_paths.py EV peer")


@attrs.define
class Rig:
    """A started Station with the sim board, and the EV side of the same sim model."""

    station: Station
    model: Any
    ev: Any
    sid: str = ""
    ev_talks: bool = True      # sends charge-loop requests while charging
    ev_obeys: bool = True      # stops by itself when the EVSE notifies StopCharging
    stopping: bool = False
    last_request_s: float = 0.0

    @property
    def clock(self):
        return self.station.clock

    @property
    def link(self) -> PeerLink:
        return self.station.link

    @property
    def bsp(self):
        return self.station.boards["bsp"]

    async def settle(self, s: float) -> None:
        await self.clock.sleep(s)

    def status(self) -> DCEVStatus:
        return DCEVStatus(ev_ready=True, soc_pct=round(self.ev.battery_soc_pct(), 1))

    async def until_charge_parameters(self) -> None:
        self.ev.plug_in()
        await self.settle(1.0)
        await self.link.send(MatchingStarted())
        await self.link.send(LinkUp(ev_mac="00:01:01:63:77:31"))
        await self.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0011223344556677",
                                          evcc_id="000101637731"))
        await self.link.send(PaymentSelected(option=PaymentOption.EXTERNAL_PAYMENT, selected_service_ids=(1,)))
        while not (a := await self.link.send(AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT))).accepted:
            if a.processing is EVSEProcessing.FINISHED:
                raise RuntimeError("authorization refused")
            await self.settle(0.5)
        dc = DCEVChargeParameter(status=self.status(), ev_max_current_A=200.0, ev_max_voltage_V=420.0,
                                 ev_max_power_W=100_000.0, ev_energy_capacity_Wh=60_000.0,
                                 ev_energy_request_Wh=30_000.0)
        while (await self.link.send(ChargeParameterRequest(mode=EnergyTransferMode.DC_EXTENDED, dc=dc,
                                                           max_entries=12))).processing is not EVSEProcessing.FINISHED:
            await self.settle(0.5)
        self.sid = self.station.manager(1).session.session_id

    async def start_charging(self) -> None:
        await self.until_charge_parameters()
        self.ev.set_cp_state(CPState.C)
        await self.settle(0.2)
        while (await self.link.send(CableCheckRequest(ev_status=self.status()))).processing is not EVSEProcessing.FINISHED:
            await self.settle(0.25)
        target = self.ev.battery_voltage_V()
        while abs((await self.link.send(PreChargeRequest(ev_status=self.status(), target_voltage_V=target,
                                                         target_current_A=2.0))).present_voltage_V - target) >= 20.0:
            await self.settle(0.25)
        self.ev.set_contactor(True)
        await self.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        asyncio.get_running_loop().create_task(self.ev_loop())
        await self.settle(3.0)  # charging at the requested 150 A
        self.model.update()
        if not (self.model.evse_contactor and self.model.psu_current_A > 100.0):
            raise RuntimeError(f"not charging before the trigger ({self.model.psu_current_A:.1f} A)")

    async def ev_loop(self) -> None:
        while self.link.active and not self.stopping:
            if self.ev_talks:
                self.last_request_s = self.clock.monotonic()
                answer = await self.link.send(DCChargeLoopRequest(
                    ev_status=self.status(), target_voltage_V=410.0, target_current_A=150.0,
                    ev_max_voltage_V=420.0, ev_max_current_A=200.0))
                if self.ev_obeys and answer.notification is EVSENotification.STOP_CHARGING:
                    await self.ev_stop()
                    return
            await self.settle(LOOP_PERIOD_S)

    async def ev_stop(self) -> None:
        """The EV ends the session: PowerDelivery(Stop), opens S2 and its contactor, welding
        detection until below 60 V, SessionStop."""
        self.stopping = True
        await self.link.send(PowerDeliveryRequest(progress=ChargeProgress.STOP))
        self.ev.set_cp_state(CPState.B)
        self.ev.set_contactor(False)
        await self.settle(0.2)
        for _ in range(40):
            if (await self.link.send(WeldingDetectionRequest(ev_status=self.status()))).present_voltage_V < 60.0:
                break
            await self.settle(0.25)
        await self.link.send(SessionStopRequest(kind=ChargingSession.TERMINATE))
        await self.link.send(SessionEnded(cause=StopCause.EV_STOP))


def cp_after(rig: Rig) -> str:
    duty = rig.bsp.pwm_duty_pct()
    return {100.0: "X1 (PWM off)", 0.0: "F"}.get(duty, f"PWM {duty:g} %")


def lock_after(rig: Rig) -> str:
    """Connector lock and the cable-side (EV inlet) voltage."""
    m = rig.model
    return f"{'locked' if m.locked else 'open'}, cable {m.inlet_voltage_V():.0f} V"


async def watch(rig: Rig, start: float) -> dict[str, float | None]:
    """Sim seconds from `start` until contactor open, output < 1 A, supply off (None: not
    within the limit)."""
    m = rig.model
    marks: dict[str, float | None] = dict.fromkeys(("contactor", "current", "supply"))
    while rig.clock.monotonic() - start < WATCH_LIMIT_S and None in marks.values():
        m.update()
        now = rig.clock.monotonic() - start
        for key, done in (("contactor", not m.evse_contactor), ("current", abs(m.psu_current_A) < 1.0),
                          ("supply", m.psu_mode == "off")):
            if done and marks[key] is None:
                marks[key] = now
        await rig.clock.sleep(SAMPLE_S)
    return marks


async def build(tmp: str, evse: dict) -> Rig:
    shared: dict = {}
    cfg = StationConfig(evse=EvseManagerConfig(**{"charge_mode": "DC", "disable_authentication": True, **evse}),
                        dc=DCRatingConfig(), link=LinkConfig(name="bench_peer"))
    cfg.evse.charge_mode = ChargeMode(cfg.evse.charge_mode)
    station = Station(cfg, pm=get_plugin_manager(extra_plugins=[("bench_peer", _PeerPlugin())]), clock=Clock(),
                      board_shared=shared, link_shared={}, journal_path=str(Path(tmp) / "journal.sqlite"),
                      tunables=EvseTunables(meter_interval_s=5.0))
    await station.start()
    ev = station.pm.registries().boards.get("ev_board", "sim").factory({}, BoardContext(clock=station.clock,
                                                                                        shared=shared))
    return Rig(station=station, model=shared["sim_model"], ev=ev)


def _insulation(rig: Rig, ohm: float) -> None:
    """Degraded insulation DC+/DC- to PE: the sim IMD's resistances (no fault event)."""
    imd = attrs.evolve(rig.model.config.imd, resistance_F_Ohm=ohm, resistance_N_Ohm=ohm)
    rig.model.config = attrs.evolve(rig.model.config, imd=imd)


async def _sigterm(rig: Rig) -> None:
    """What `freev2g evse` does on SIGTERM: its signal handler sets an event, then the
    station stops (freev2g.sim_cli)."""
    from freev2g.sim_cli import _stop_on_signals

    done = asyncio.Event()
    _stop_on_signals(done)
    os.kill(os.getpid(), signal.SIGTERM)
    await done.wait()
    await rig.station.stop()


Trigger = Callable[[Rig], Awaitable[None] | None]


def _ev_silent(rig: Rig) -> None:
    rig.ev_talks = False


def _ev_ignores(rig: Rig) -> Awaitable[bool]:
    rig.ev_obeys = False
    return rig.station.remote_stop(1, StopCause.LOCAL_STOP)


def _ev_ignores_remote(rig: Rig) -> Awaitable[bool]:
    rig.ev_obeys = False
    return rig.station.remote_stop(1)


# (path, trigger, EvseManager keys); the trigger runs while charging at 150 A.
PATHS: list[tuple[str, Trigger, dict]] = [
    ("EV stop (PowerDelivery Stop)", lambda r: r.ev_stop(), {}),
    ("CP leaves C/D (EV opens S2)", lambda r: r.ev.set_cp_state(CPState.B), {}),
    ("unplug (CP -> A)", lambda r: r.ev.unplug(), {}),
    ("CP short (state E)", lambda r: r.model.inject("cp_short"), {}),
    ("link lost (TCP gone)", lambda r: r.link.send(SessionEnded(cause=StopCause.LINK_LOST, detail="peer gone")), {}),
    ("link timeout (link-side)", lambda r: r.link.send(SessionEnded(cause=StopCause.LINK_TIMEOUT,
                                                                    detail="sequence timeout")), {}),
    ("silent EV (EVSE charge-loop watch), from its last request", _ev_silent, {}),
    ("IMD fault event", lambda r: r.model.inject("imd_fault"), {}),
    ("isolation reading 80 kOhm < 100 kOhm", lambda r: _insulation(r, 80_000.0), {}),
    ("over-voltage 450 V (> EV max 420 V)", lambda r: r.model.inject("over_voltage", voltage_V=450.0), {}),
    ("emergency over-voltage 600 V (Table 103)", lambda r: r.model.inject("over_voltage", voltage_V=600.0), {}),
    ("power supply fault", lambda r: r.model.inject("psu_fault"), {}),
    ("meter fault (fail_on_powermeter_errors)", lambda r: r.model.emit("power_meter", "fault", "meter_error",
                                                                        "bench"), {}),
    ("remote stop, EV obeys", lambda r: r.station.remote_stop(1), {}),
    ("remote stop, EV ignores it", _ev_ignores_remote, {}),
    ("local stop, EV ignores it", _ev_ignores, {}),
    ("process stop (Station.stop)", lambda r: r.station.stop(), {}),
    ("process stop (SIGTERM, freev2g evse handler)", _sigterm, {}),
]


def journal_cause(tmp: str, sid: str) -> str:
    with Journal(str(Path(tmp) / "journal.sqlite")) as journal:  # the file, after the station stopped
        return journal.session(sid).stop_cause


def _ms(value: float | None) -> str:
    if value is None:
        return f"not within {WATCH_LIMIT_S:g} s"
    return f"≤ {SAMPLE_S * 1000:g}" if 0 < value <= SAMPLE_S else f"{value * 1000:.0f}"


async def _one(name: str, trigger: Trigger, evse: dict) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        rig = await build(tmp, evse)
        await rig.start_charging()
        start = rig.clock.monotonic()
        done = trigger(rig)
        if trigger is _ev_silent:
            start = rig.last_request_s
        task = asyncio.ensure_future(done) if asyncio.iscoroutine(done) or asyncio.isfuture(done) else None
        marks = await watch(rig, start)
        if task is not None:
            await task
        await rig.settle(1.0)
        cp, lock = cp_after(rig), lock_after(rig)
        await rig.station.stop()
        cause = journal_cause(tmp, rig.sid)
        return [name, _ms(marks["contactor"]), _ms(marks["current"]), _ms(marks["supply"]), cp, lock, f"`{cause}`"]


async def _authorization_timeout() -> list[str]:
    """No authorization decision: the EV polls AuthorizationReq every 0.5 s; never energised."""
    with tempfile.TemporaryDirectory() as tmp:
        rig = await build(tmp, {"disable_authentication": False})
        rig.ev.plug_in()
        await rig.settle(1.0)
        await rig.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0011223344556677",
                                         evcc_id="000101637731"))
        await rig.link.send(PaymentSelected(option=PaymentOption.EXTERNAL_PAYMENT, selected_service_ids=(1,)))
        sid = rig.station.manager(1).session.session_id
        start, ever_closed = rig.clock.monotonic(), False
        while (a := await rig.link.send(AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT))).processing \
                is not EVSEProcessing.FINISHED:
            ever_closed |= rig.bsp.contactor_closed()
            await rig.settle(0.5)
        waited = rig.clock.monotonic() - start
        await rig.link.send(SessionStopRequest(kind=ChargingSession.TERMINATE))
        await rig.link.send(SessionEnded(cause=StopCause.EV_STOP))
        await rig.settle(1.0)
        cp, lock = cp_after(rig), lock_after(rig)
        await rig.station.stop()
        cause = journal_cause(tmp, sid)
        never = "closed once!" if ever_closed or a.accepted else "never closed"
        return [f"authorization timeout (refused after {waited:.1f} s)", never, "never energised",
                "never on", cp, lock, f"`{cause}`"]


def main() -> int:
    rows = [run(_one(name, trigger, evse), virtual_time=True) for name, trigger, evse in PATHS]
    rows.append(run(_authorization_timeout(), virtual_time=True))
    header = ["stop path (trigger while charging at 150 A)", "contactor open ms", "output < 1 A ms",
              "supply off ms", "CP after", "lock after", "journal cause"]
    print(f"Stop paths in the sim, DC ISO 15118-2, sim time from trigger (sampled every {SAMPLE_S * 1000:g} ms):\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
