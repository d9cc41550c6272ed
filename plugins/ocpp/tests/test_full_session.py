"""Full simulated sessions (freev2g.simulate: sim board + virtual link + EvseManager + the
Station starting this uplink from config) against a real CSMS, at speed 20 on the real loop."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import attrs
from freev2g.config import StationConfig
from freev2g.ev.scenario import PlugIn, Scenario, Sleep, StartCharging, Stop, Unplug, WaitFor
from freev2g.ev.variables import EvVar
from freev2g.model.events import MeterSample, ScheduleOffered
from freev2g.simulate import Simulation, SimulationOptions, default_station_config

SCENARIO = Scenario(name="short", steps=(PlugIn(), StartCharging(), Sleep(duration_s=240), Stop(),
                                         WaitFor(variable=EvVar.V2G_SESSION_FINISHED, timeout_s=120), Unplug()))


def _station_config(uplink_config, url, mode="dc") -> StationConfig:
    cfg = default_station_config(SimulationOptions(mode=mode))
    cfg.station.id = "SIM-CS-1"
    cfg.uplinks = {"ocpp": uplink_config(url, meter_interval_s=30)}
    return cfg


def test_simulated_session_reports_scale_data_to_csms(make_csms, uplink_config):
    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        sim = Simulation(SimulationOptions(mode="dc", scale=True, speed=10, scenario=SCENARIO,
                                           station_config=_station_config(uplink_config, csms.url)))
        await sim.start()
        try:
            result = await sim.run()
            await csms.wait_for(lambda c: any(p["eventType"] == "Ended" for p in c.calls("TransactionEvent")),
                                "TransactionEvent Ended")
        finally:
            await sim.stop()
            await csms.stop()
        return csms, result, sim

    csms, result, sim = asyncio.run(main())
    assert csms.identities == ["SIM-CS-1"]
    tx = csms.calls("TransactionEvent")
    assert [p["seqNo"] for p in tx] == list(range(len(tx)))
    assert {p["transactionInfo"]["transactionId"] for p in tx} == set(result.session_ids)
    with_session = [p for p in tx if "customData" in p]
    assert with_session and all(len(p["customData"]["sessionId"]) == 16 for p in with_session)
    assert any(p["triggerReason"] == "MeterValuePeriodic" for p in tx)
    ended = tx[-1]
    assert ended["eventType"] == "Ended"
    end_energy = {s["measurand"]: s["value"] for s in ended["meterValue"][0]["sampledValue"]}
    assert end_energy["Energy.Active.Import.Register"] > 0
    needs = csms.calls("NotifyEVChargingNeeds")
    assert needs, "no NotifyEVChargingNeeds"
    dc = needs[0]["chargingNeeds"]["dcChargingParameters"]
    assert dc["customData"]["vendorId"] == "eu.scale-project"
    assert {"evMinEnergyRequest", "evMaxEnergyRequest", "minSoC", "targetSoC"} <= set(dc["customData"])


def test_csms_profile_changes_the_schedule_offered_to_the_ev(make_csms, uplink_config):
    limit_W = 20_000.0

    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        sim = Simulation(SimulationOptions(mode="dc", scale=True, speed=10, scenario=SCENARIO,
                                           station_config=_station_config(uplink_config, csms.url)))
        answers = []

        async def csms_side():
            await csms.wait_for(lambda c: any(p["transactionInfo"].get("chargingState") == "Charging"
                                              for p in c.calls("TransactionEvent")), "charging")
            tx_id = csms.calls("TransactionEvent")[0]["transactionInfo"]["transactionId"]
            profile = {"id": 11, "stackLevel": 2, "chargingProfilePurpose": "TxProfile",
                       "chargingProfileKind": "Relative", "transactionId": tx_id,
                       "chargingSchedule": [{"id": 1, "chargingRateUnit": "W",
                                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit_W}]}]}
            answers.append(await csms.request("SetChargingProfile", {"evseId": 1, "chargingProfile": profile}))
            answers.append(datetime.now(timezone.utc))

        await sim.start()
        side = asyncio.create_task(csms_side())
        try:
            await sim.run()
            await side
        finally:
            side.cancel()
            await sim.stop()
            await csms.stop()
        return sim, answers

    sim, answers = asyncio.run(main())
    assert answers[0][2] == {"status": "Accepted"}
    offers = [e for e in sim.events if isinstance(e, ScheduleOffered)]
    assert len(offers) >= 2, f"expected a renegotiated schedule, got {len(offers)} offers"
    first_max = max(en.pmax_W for t in offers[0].schedules.tuples for en in t.entries)
    last_max = max(en.pmax_W for t in offers[-1].schedules.tuples for en in t.entries)
    assert first_max > limit_W and last_max <= limit_W
    assert offers[-1].reason == "renegotiation"
    after = [e for e in sim.events if isinstance(e, MeterSample) and e.timestamp > offers[-1].timestamp]
    assert after and max(e.power_W for e in after[1:] or after) <= limit_W * 1.05


def test_station_config_toml_builds_the_uplink(tmp_path):
    from freev2g.config import load_station_config
    from freev2g.plugins import get_plugin_manager
    from freev2g_ocpp import OcppConfig

    path = tmp_path / "station.toml"
    path.write_text('[station]\nid = "CS-9"\n[uplinks.ocpp]\nurl = "wss://csms.example/ocpp"\nversion = "2.1"\n'
                    'security_profile = 2\npassword = "pw"\nqueue_path = "q.sqlite"\n')
    types = {r.name: r.config_type for r in get_plugin_manager().registries().uplinks.all()}
    cfg = load_station_config(path, uplink_types=types)
    ocpp = cfg.uplinks["ocpp"]
    assert isinstance(ocpp, OcppConfig) and ocpp.version == "2.1" and ocpp.security_profile == 2
    assert attrs.asdict(ocpp)["vendor_id"] == "eu.scale-project"


def test_malformed_csms_messages_mid_session_charging_goes_on(make_csms, uplink_config):
    """Issue 6: malformed or unexpected CSMS messages get CALLERRORs and charging goes on -
    here in a real simulated session, while energy flows."""

    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        sim = Simulation(SimulationOptions(mode="dc", scale=True, speed=10, scenario=SCENARIO,
                                           station_config=_station_config(uplink_config, csms.url)))
        marks = []

        async def csms_side():
            await csms.wait_for(lambda c: any(p["transactionInfo"].get("chargingState") == "Charging"
                                              for p in c.calls("TransactionEvent")), "charging")
            await csms.send_raw("{not json")
            await csms.send_raw('[2, "bad-1", "RequestStopTransaction", {"transactionId": 7}]')
            await csms.send_raw('[3, "nobody-asked", {}]')
            unknown = await csms.request("MakeCoffee", {})
            wrong = await csms.request("RequestStopTransaction", {"transactionId": ["x"]})
            marks.append((datetime.now(timezone.utc), unknown, wrong))

        await sim.start()
        side = asyncio.create_task(csms_side())
        try:
            result = await sim.run()
            await side
        finally:
            side.cancel()
            await sim.stop()
            await csms.stop()
        return csms, sim, result, marks

    csms, sim, result, marks = asyncio.run(main())
    at, unknown, wrong = marks[0]
    assert unknown[2] == "NotSupported" and wrong[0] == 4
    errors = {f[1]: f[2] for f in csms.frames if f[0] == 4}
    assert errors.get("-1") == "FormatViolation" and "bad-1" in errors
    assert len(csms.identities) == 1  # the connection survived
    after = [e for e in sim.events if isinstance(e, MeterSample) and e.timestamp > at]
    assert after and max(e.power_W for e in after) > 1_000.0  # still charging after the garbage
    assert result.ok and result.energy_Wh > 0
