"""The OCPI bridge inside a simulated charging session (freev2g.simulate, real loop, speed 20, DC: the AC sim's SLAC start is flaky at the time of writing).

A real eMSP peer registers with the station's OCPI uplink, then acts during the session:
ChargingPreferences change the SAScheduleList the EV receives (via renegotiation), a charging
profile is set with its asynchronous result, and the Session updates and the final CDR arrive
with the journal's energy.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

from freev2g.ev.scenario import PlugIn, Scenario, Sleep, StartCharging, Stop, Unplug, WaitFor
from freev2g.ev.variables import EvVar
from freev2g.journal import Journal
from freev2g.model.enums import Protocol
from freev2g.model.enums import ChargeProgress
from freev2g.model.events import PowerDelivery, ScheduleOffered, SessionFinished
from freev2g.simulate import Simulation, SimulationOptions, default_station_config
from ocpi_helpers import EmspPeer, cpo_call, free_port, ocpi_config, register_emsp_with_cpo, run

from freev2g_ocpi_bridge.convert import format_datetime
from freev2g_ocpi_bridge.uplink import OcpiBridge

SPEED = 10.0  # real loop (uplinks use real sockets): 25 ms SECC budget = 2.5 ms real


def scenario(charge_s: float) -> Scenario:
    return Scenario(
        name="ocpi",
        steps=(PlugIn(), StartCharging(), Sleep(duration_s=charge_s), Stop(), WaitFor(variable=EvVar.V2G_SESSION_FINISHED), Unplug()),
    )


async def start_sim(tmp_path, peer: EmspPeer, charge_s: float):
    """Register the eMSP first (as `freev2g ocpi register` / an eMSP would before charging),
    then start the simulation and its scenario at once; returns the token C of the eMSP."""
    ocfg = ocpi_config(tmp_path, listen_port=free_port(), session_update_interval_s=20.0)
    pre = OcpiBridge(ocfg)
    await pre.serve()
    try:
        token = await register_emsp_with_cpo(pre, peer)
    finally:
        await pre.stop()
    opts = SimulationOptions(protocol=Protocol.ISO15118_2, mode="dc", speed=SPEED, journal_path=str(tmp_path / "journal.sqlite"))
    station_cfg = default_station_config(opts)
    station_cfg.uplinks = {"ocpi": ocfg}
    opts = SimulationOptions(
        protocol=Protocol.ISO15118_2,
        mode="dc",
        speed=SPEED,
        station_config=station_cfg,
        journal_path=str(tmp_path / "journal.sqlite"),
        scenario=scenario(charge_s),
    )
    sim = Simulation(opts)
    offers: list[ScheduleOffered] = []
    changed = asyncio.Condition()

    def on_event(event):
        if isinstance(event, (ScheduleOffered, SessionFinished, PowerDelivery)):
            offers.append(event)

            async def wake():
                async with changed:
                    changed.notify_all()

            asyncio.get_running_loop().create_task(wake())

    sim.subscribe(on_event)
    await sim.start()
    running = asyncio.get_running_loop().create_task(sim.run())
    bridges = [u for u in sim.station.uplinks if isinstance(u, OcpiBridge)]
    assert len(bridges) == 1, f"the station did not start the ocpi uplink: {sim.station.uplinks}"

    async def wait(predicate, timeout_s=30.0):
        async with changed:
            await asyncio.wait_for(changed.wait_for(lambda: predicate(offers)), timeout_s)

    return sim, bridges[0], offers, wait, running, token


def _charging(offers):
    """Renegotiation is asked for in the charge loop, so limits are changed once power flows."""
    return any(isinstance(o, PowerDelivery) and o.progress is ChargeProgress.START for o in offers)


def _offered(offers, reason):
    return [o for o in offers if isinstance(o, ScheduleOffered) and o.reason == reason]


def test_preferences_during_a_session_reshape_the_schedule_and_cdr_matches_journal(tmp_path):
    async def main():
        peer = EmspPeer()
        await peer.start()
        sim, bridge, offers, wait, running, token = await start_sim(tmp_path, peer, charge_s=120.0)
        try:
            await wait(_charging)
            initial = _offered(offers, "initial")[0]
            sid = initial.session_id
            first_pmax = initial.schedules.tuples[0].entries[0].pmax_W
            departure = format_datetime(sim.station.clock.now() + timedelta(hours=2))
            status, doc, _ = await cpo_call(
                bridge, "PUT", f"2.2.1/sessions/{sid}/charging_preferences", token,
                {"profile_type": "REGULAR", "departure_time": departure, "energy_need": 4.0},
            )
            assert (status, doc["data"]) == (200, "ACCEPTED"), doc
            await wait(lambda o: _offered(o, "renegotiation"))
            renegotiated = _offered(offers, "renegotiation")[0]
            assert renegotiated.session_id == sid
            new_first = renegotiated.schedules.tuples[0].entries[0].pmax_W
            # 4 kWh over 2 h: about 2 kW instead of the EVSE maximum
            assert new_first < first_pmax and new_first <= 2_500.0, (first_pmax, new_first)

            result = await running
            assert result.ok, result.scenario_error
            got = await peer.wait_for(lambda r: any(x["method"] == "POST" and x["path"].endswith("/cdrs") for x in r))
            mine = [r for r in got if sid in r["path"] or r["path"].endswith("/cdrs")]
            assert mine[0]["method"] == "PUT" and mine[0]["body"]["status"] == "PENDING"
            statuses = [r["body"].get("status") for r in mine if r["method"] == "PATCH"]
            assert "ACTIVE" in statuses and statuses[-1] == "COMPLETED"
            cdr = mine[-1]["body"]
            journal = Journal(tmp_path / "journal.sqlite")
            try:
                energy_Wh = journal.session(sid).energy_import_Wh
            finally:
                journal.close()
            assert energy_Wh > 0
            assert abs(cdr["total_energy"] * 1000.0 - energy_Wh) < 0.1
            assert cdr["session_id"] == sid
        finally:
            await sim.stop()
            await peer.stop()

    run(main(), timeout_s=80)


def test_charging_profile_during_a_session_with_async_result(tmp_path):
    async def main():
        peer = EmspPeer()
        await peer.start()
        sim, bridge, offers, wait, running, token = await start_sim(tmp_path, peer, charge_s=90.0)
        try:
            await wait(_charging)
            sid = _offered(offers, "initial")[0].session_id
            body = {
                "charging_profile": {"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 3000}]},
                "response_url": f"{peer.base}/results/sim-1",
            }
            status, doc, _ = await cpo_call(bridge, "PUT", f"2.2.1/chargingprofiles/{sid}", token, body)
            assert doc["data"]["result"] == "ACCEPTED"
            got = await peer.wait_for(lambda r: any("/results/sim-1" in x["path"] for x in r))
            assert [x["body"] for x in got if "/results/sim-1" in x["path"]] == [{"result": "ACCEPTED"}]
            await wait(lambda o: _offered(o, "renegotiation"))
            renegotiated = _offered(offers, "renegotiation")[0]
            assert max(e.pmax_W for e in renegotiated.schedules.tuples[0].entries) <= 3000.0
            result = await running
            assert result.ok, result.scenario_error
        finally:
            await sim.stop()
            await peer.stop()

    run(main(), timeout_s=80)
