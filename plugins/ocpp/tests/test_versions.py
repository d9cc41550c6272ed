"""OCPP 1.6 and 2.1 basics against real CSMSs of those versions."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

from freev2g.model.enums import EnergyTransferMode
from freev2g.model.events import EVNeedsReceived, PluggedIn
from freev2g.model.params import BPTEVParameter, DCEVChargeParameter, DCEVStatus, ScaleNeeds

SESSION = "1f2e3d4c-5b6a-4789-8a9b-aabbccddeeff"


def test_ocpp16_session_datatransfer_and_profile(ocpp_env, session_events):
    async def main():
        async with ocpp_env("1.6") as (csms, station, uplink):
            for event in session_events(SESSION):
                station.emit(event)
            await csms.wait_for(lambda c: c.calls("StopTransaction"), "StopTransaction")
            await asyncio.wait_for(uplink.wait_idle(), 20)
            tx_id = uplink.outbox.transaction(SESSION).ocpp_tx_id
            # A TxProfile for the CSMS's integer transactionId reaches the ScheduleManager.
            station.schedules.begin_transaction(1, SESSION, datetime.now(timezone.utc))
            tx_live = uplink.outbox.transaction(SESSION)
            uplink.outbox.update_transaction(SESSION, ended=False)  # pretend it is still running
            start = (datetime.now(timezone.utc) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            answer = await csms.request("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {
                "chargingProfileId": 3, "transactionId": int(tx_id), "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Absolute",
                "chargingSchedule": {"startSchedule": start, "chargingRateUnit": "A",
                                     "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10.0}]}}})
            composite = await csms.request("GetCompositeSchedule", {"connectorId": 1, "duration": 600})
            config = await csms.request("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
            change = await csms.request("ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "30"})
            unknown = await csms.request("GetDiagnostics", {"location": "ftp://x"})
            return csms, tx_live, answer, composite, config, change, unknown, station.schedules.profiles(1)

    csms, tx, answer, composite, config, change, unknown, profiles = asyncio.run(main())
    actions = csms.actions()
    assert actions.index("StartTransaction") < actions.index("MeterValues") < actions.index("StopTransaction")
    start = csms.calls("StartTransaction")[0]
    assert start["idTag"] == "freev2g-free" and start["connectorId"] == 1
    meter = csms.calls("MeterValues")
    assert len(meter) == 3 and all(m["transactionId"] == 101 for m in meter)
    stop = csms.calls("StopTransaction")[0]
    assert stop["transactionId"] == 101 and stop["meterStop"] == 1500 and stop["reason"] == "Local"
    transfers = {c["messageId"]: json.loads(c["data"]) for c in csms.calls("DataTransfer")}
    assert all(c["vendorId"] == "eu.scale-project" for c in csms.calls("DataTransfer"))
    assert transfers["SessionId"] == {"transactionSessionId": SESSION, "sessionId": "A1B2C3D4E5F60708"}
    assert transfers["EVChargingNeeds"] == {"transactionSessionId": SESSION, "sessionId": "A1B2C3D4E5F60708",
                                            "requestedEnergyTransfer": "DC_extended", "evMaxPower": 50000,
                                            "evMinEnergyRequest": 10000, "evMaxEnergyRequest": 40000,
                                            "minSoC": 20, "targetSoC": 80}
    assert tx.ocpp_tx_id == "101"
    assert answer[2] == {"status": "Accepted"} and profiles[0].transaction_id == SESSION
    assert composite[2]["status"] == "Accepted"
    assert composite[2]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 6900.0  # 10 A x 230 V x 3
    assert config[2]["configurationKey"] == [{"key": "HeartbeatInterval", "readonly": False, "value": "3600"}]
    assert config[2]["unknownKey"] == ["Nope"]
    assert change[2] == {"status": "Accepted"}
    assert unknown[0] == 4 and unknown[2] == "NotImplemented"


def test_ocpp21_v2x_needs_and_operation_modes(ocpp_env):
    async def main():
        async with ocpp_env("2.1") as (csms, station, uplink):
            now = datetime.now(timezone.utc)
            scale = ScaleNeeds(ev_max_energy_request_Wh=40_000, ev_min_energy_request_Wh=10_000, ev_max_soc_pct=80,
                               ev_min_soc_pct=20, remaining_v2g_energy_Wh=15_000, round_trip_efficiency_pct=88)
            dc = DCEVChargeParameter(status=DCEVStatus(soc_pct=50), ev_max_current_A=100, ev_max_voltage_V=450,
                                     ev_max_power_W=40_000, scale=scale)
            bpt = BPTEVParameter(ev_max_discharge_power_W=10_000, ev_min_v2x_energy_request_Wh=-5_000,
                                 ev_max_v2x_energy_request_Wh=30_000)
            station.emit(PluggedIn(session_id=SESSION, timestamp=now))
            station.emit(EVNeedsReceived(session_id=SESSION, timestamp=now, mode=EnergyTransferMode.DC_BPT,
                                         dc=dc, bpt=bpt))
            await csms.wait_for(lambda c: c.calls("NotifyEVChargingNeeds"), "NotifyEVChargingNeeds")
            station.schedules.begin_transaction(1, SESSION, now)
            base = {"id": 5, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Absolute",
                    "transactionId": SESSION}
            sched = {"id": 1, "startSchedule": now.isoformat(), "chargingRateUnit": "W"}
            ok = await csms.request("SetChargingProfile", {"evseId": 1, "chargingProfile": {**base, "chargingSchedule": [
                {**sched, "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 9000.0,
                                                      "operationMode": "ChargingOnly"}]}]}})
            setpoint = await csms.request("SetChargingProfile", {"evseId": 1, "chargingProfile": {
                **base, "id": 6, "stackLevel": 1, "chargingSchedule": [
                    {**sched, "chargingSchedulePeriod": [{"startPeriod": 0, "setpoint": -7000.0,
                                                          "operationMode": "CentralSetpoint"}]}]}})
            unknown = await csms.request("NotifyWebPaymentStarted", {"evseId": 1, "timeout": 60})
            return csms, ok, setpoint, unknown, station.schedules.profiles(1)

    csms, ok, setpoint, unknown, profiles = asyncio.run(main())
    needs = csms.calls("NotifyEVChargingNeeds")[0]["chargingNeeds"]
    assert needs["requestedEnergyTransfer"] == "DC_BPT" and needs["controlMode"] == "ScheduledControl"
    assert "customData" not in needs["dcChargingParameters"]
    v2x = needs["v2xChargingParameters"]
    assert v2x["maxChargePower"] == 40000 and v2x["maxDischargePower"] == 10000
    assert v2x["evMinEnergyRequest"] == 10000 and v2x["evMaxEnergyRequest"] == 40000 and v2x["targetSoC"] == 80
    assert v2x["evMinV2XEnergyRequest"] == -5000 and v2x["evMaxV2XEnergyRequest"] == 30000
    assert v2x["customData"] == {"vendorId": "eu.scale-project", "minSoC": 20, "remainingV2GEnergy": 15000,
                                 "roundTripEfficiency": 88}
    assert ok[2] == {"status": "Accepted"} and [p.profile_id for p in profiles] == [5]
    assert setpoint[2]["status"] == "Rejected" and setpoint[2]["statusInfo"]["reasonCode"] == "UnsupportedParam"
    # The library's own 2.1 peer would stay silent here (uplinks.md 1.5 bug 2); we answer.
    assert unknown[0] == 4 and unknown[2] == "NotImplemented"
    assert csms.calls("BootNotification")[0]["reason"] == "PowerUp"
