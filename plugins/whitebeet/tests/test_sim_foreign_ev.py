"""Issue #12 item 10: with an EV host that is not freev2g's EV controller (and no
`--cable-socket`), the station's sim power stage follows the module's reports of the car, so a
foreign car gains energy. Our station (EvseManager, bsp + link "whitebeet" on one module
connection, sim power supply / IMD / meter) -> HCI -> EVSE emulator <-> virtual_plc socket
medium <-> EV emulator -> HCI -> a scripted EV host written here: it drives the module's EV-mode
commands through WhitebeetEvLink with its own few answers, and never touches the sim model.
HCI legs in memory, virtual time."""
from __future__ import annotations

from freev2g import link as L
from freev2g.clock import Clock
from freev2g.config import parse_station_config
from freev2g.evse.station import Station
from freev2g.model.enums import EnergyTransferMode, Protocol
from freev2g.model.params import ACEVChargeParameter, DCEVChargeParameter, DCEVStatus
from freev2g.plugins import get_plugin_manager
from freev2g_whitebeet.client import HciClient
from freev2g_whitebeet.emulator.assemble import ev_emulator, evse_emulator
from freev2g_whitebeet.host.cable import SIM_KEY
from freev2g_whitebeet.host.ev import WhitebeetEvLink
from freev2g_whitebeet.transport.memory import memory_pair

LOOPS = 40  # charge-loop steps the scripted car runs (0.25 s apart) before it stops


class ScriptedCar:
    """A car's EV host as another vendor might write it: fixed targets, CP C for the cable
    check, contactor 'closed' when the inlet is precharged, stop after LOOPS loop steps."""

    def __init__(self, link: WhitebeetEvLink, mode: EnergyTransferMode = EnergyTransferMode.DC_EXTENDED):
        self.link = link
        self.mode = mode
        self.loops = 0
        self.finished: list[L.EvSessionFinished] = []

    def request(self) -> L.EvSessionRequest:
        if self.mode.is_ac:
            return L.EvSessionRequest(
                protocols=(Protocol.ISO15118_2,), mode=self.mode, ev_mac="02:00:00:00:00:0f",
                ac=ACEVChargeParameter(e_amount_Wh=20_000.0, ev_max_voltage_V=230.0, ev_max_current_A=16.0,
                                       ev_min_current_A=6.0))
        return L.EvSessionRequest(
            protocols=(Protocol.ISO15118_2,), mode=self.mode, ev_mac="02:00:00:00:00:0f",
            dc=DCEVChargeParameter(status=DCEVStatus(soc_pct=40.0), ev_max_current_A=120.0, ev_max_voltage_V=420.0,
                                   ev_max_power_W=50_000.0, ev_energy_capacity_Wh=40_000.0,
                                   ev_energy_request_Wh=20_000.0, full_soc_pct=100, bulk_soc_pct=80))

    async def __call__(self, event):
        if isinstance(event, L.EvChargeParametersNeeded):
            return self.request()
        if isinstance(event, L.EvseParametersReceived):
            if self.mode.is_ac:  # AC: state C with PowerDelivery(Start) ([V2G2-847])
                await self.link.client.request("cp.set_resistor_level", level=1)
            return L.ScheduleSelection(tuple_id=event.schedules.tuples[0].tuple_id)
        if isinstance(event, L.CableCheckReady):
            await self.link.client.request("cp.set_resistor_level", level=1)  # state C
        if isinstance(event, L.PreChargeStatus):
            done = event.present_voltage_V is not None and abs(event.present_voltage_V - 370.0) < 10.0
            return L.PreChargeTargets(target_voltage_V=370.0, target_current_A=2.0,
                                      ev_status=DCEVStatus(soc_pct=40.0), done=done)
        if isinstance(event, L.EvChargeLoopStatus):
            self.loops += 1
            return L.EvLoopTargets(target_voltage_V=400.0, target_current_A=60.0, ev_status=DCEVStatus(soc_pct=40.0),
                                   stop=self.loops > LOOPS)
        if isinstance(event, L.PowerDeliveryStopped):
            await self.link.client.request("cp.set_resistor_level", level=0)  # back to B
        if isinstance(event, L.WeldingDetectionStatus):
            return True
        if isinstance(event, L.EvSessionFinished):
            self.finished.append(event)
        return None


def station_config(charge_mode: str = "DC"):
    hlc = {"ac_hlc_enabled": True, "ac_hlc_use_5percent": True, "ac_enforce_hlc": True} if charge_mode == "AC" else {}
    return parse_station_config({
        "evse": {"charge_mode": charge_mode, "disable_authentication": True, **hlc},
        "link": {"name": "whitebeet", "options": {"transport": "memory"}},
        "board": {"bsp": "whitebeet", "options": {"whitebeet": {"transport": "memory"}}},
    })


def run_foreign_car(tmp_path, virtual_loop, mode: EnergyTransferMode) -> dict:
    async def main():
        clock = Clock()
        path = str(tmp_path / "cable.sock")
        h1, m1 = memory_pair()
        h2, m2 = memory_pair()
        evse_emu = evse_emulator(m1, clock=clock, medium_path=path)
        ev_emu = ev_emulator(m2, clock=clock, medium_path=path)
        await evse_emu.start()
        await ev_emu.start()
        station = Station(station_config("AC" if mode.is_ac else "DC"), pm=get_plugin_manager(), clock=clock,
                          board_shared={"whitebeet_memory_transport": h1})
        ended = []
        station.subscribe(lambda e: ended.append(e) if e.kind == "SessionFinished" else None)
        await station.start()
        link = WhitebeetEvLink(HciClient(h2, clock=clock), clock=clock)
        car = ScriptedCar(link, mode)
        await link.open(car)
        started = await link.start_session(car.request())
        for _ in range(3000):
            if car.finished and ended:
                break
            await clock.sleep(0.1)
        model = station.board_shared[SIM_KEY]
        model.update()
        result = dict(started=started, loops=car.loops, finished=[f.cause for f in car.finished], ended=len(ended),
                      stored_Wh=model.battery.stored_gain_Wh, imported_Wh=model.energy_import_Wh,
                      capacity_Wh=model.battery.config.capacity_Wh, ev_contactor=model.ev_contactor,
                      evse_contactor=model.evse_contactor, current_A=model.psu_current_A + model.ac_current_A)
        await link.close()
        await station.stop()
        await ev_emu.stop()
        await evse_emu.stop()
        return result

    return virtual_loop(main())


def test_foreign_dc_car_gains_energy_in_the_sim_power_stage(tmp_path, virtual_loop):
    r = run_foreign_car(tmp_path, virtual_loop, EnergyTransferMode.DC_EXTENDED)
    assert r["started"] and r["loops"] > LOOPS and r["ended"] == 1, r
    # ~10 s at up to 60 A and ~370 V: tens of Wh into the battery (0 before: the EV contactor
    # of the model never closed without a freev2g EV on --cable-socket)
    assert r["stored_Wh"] > 20.0, r
    assert r["imported_Wh"] >= r["stored_Wh"], r
    assert r["capacity_Wh"] == 40_000.0, r  # the model's battery is the car the module reported
    assert not r["ev_contactor"] and not r["evse_contactor"] and r["current_A"] == 0.0, r  # safe after the stop


def test_foreign_ac_car_gains_energy_in_the_sim_power_stage(tmp_path, virtual_loop):
    r = run_foreign_car(tmp_path, virtual_loop, EnergyTransferMode.AC_THREE_PHASE_CORE)
    assert r["started"] and r["loops"] > LOOPS and r["ended"] == 1, r
    # ~10 s at 16 A on three phases: ~30 Wh (0 before: no AC draw without a freev2g EV board)
    assert r["stored_Wh"] > 10.0, r
    assert r["imported_Wh"] > r["stored_Wh"], r  # the onboard charger's loss
    assert not r["ev_contactor"] and not r["evse_contactor"] and r["current_A"] == 0.0, r
