"""CSMS -> station requests in OCPP 2.0.1: smart charging into the ScheduleManager, remote
control, device model variables, TriggerMessage, and CALLERRORs for bad input."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from freev2g.model.enums import RateUnit, StopCause
from freev2g.model.events import MeterSample, PluggedIn, SessionFinished
from freev2g.model.limits import ProfilePurpose
from freev2g.station import SessionSnapshot

SESSION = "0c4d2a9e-6f4b-4e43-a1a7-1f1b0f9c2d10"


def tx_profile(profile_id=7, transaction_id=SESSION, limit_W=11000.0, **extra):
    start = datetime.now(timezone.utc) - timedelta(seconds=5)
    return {"id": profile_id, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute", "transactionId": transaction_id,
            "chargingSchedule": [{"id": 1, "startSchedule": start.isoformat(), "chargingRateUnit": "W",
                                  "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit_W},
                                                             {"startPeriod": 1800, "limit": 7000.0}]}], **extra}


def plug(station, uplink):
    station.emit(PluggedIn(session_id=SESSION))
    station.schedules.begin_transaction(1, SESSION, datetime.now(timezone.utc) - timedelta(seconds=10))


def test_set_get_clear_charging_profile(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            plug(station, uplink)
            await csms.wait_for(lambda c: c.calls("TransactionEvent"), "Started")
            answer = await csms.request("SetChargingProfile", {"evseId": 1, "chargingProfile": tx_profile()})
            assert answer[2] == {"status": "Accepted"}
            [profile] = station.schedules.profiles(1)
            assert (profile.source, profile.profile_id, profile.purpose) == ("ocpp", 7, ProfilePurpose.TX)
            assert profile.transaction_id == SESSION and profile.unit is RateUnit.W
            composite = await csms.request("GetCompositeSchedule", {"evseId": 1, "duration": 3600})
            schedule = composite[2]["schedule"]
            assert composite[2]["status"] == "Accepted" and schedule["chargingRateUnit"] == "W"
            assert schedule["chargingSchedulePeriod"][0]["limit"] == 11000.0
            assert [p["limit"] for p in schedule["chargingSchedulePeriod"]] == [11000.0, 7000.0]
            in_amps = await csms.request("GetCompositeSchedule", {"evseId": 1, "duration": 600,
                                                                  "chargingRateUnit": "A"})
            assert in_amps[2]["schedule"]["chargingRateUnit"] == "A"
            assert round(in_amps[2]["schedule"]["chargingSchedulePeriod"][0]["limit"]) == 16  # 11 kW / 230 V / 3
            cleared = await csms.request("ClearChargingProfile", {"chargingProfileId": 7})
            assert cleared[2] == {"status": "Accepted"}
            assert station.schedules.profiles(1) == []
            again = await csms.request("ClearChargingProfile", {"chargingProfileId": 7})
            assert again[2] == {"status": "Unknown"}

    asyncio.run(main())


def test_profiles_the_station_cannot_apply_are_rejected_with_a_reason(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            plug(station, uplink)
            unknown_tx = await csms.request("SetChargingProfile",
                                            {"evseId": 1, "chargingProfile": tx_profile(transaction_id="nope")})
            assert unknown_tx[2]["status"] == "Rejected"
            assert unknown_tx[2]["statusInfo"]["reasonCode"] == "TxNotFound"
            bad = tx_profile()
            bad["chargingSchedule"][0]["chargingSchedulePeriod"] = [{"startPeriod": 10, "limit": 5.0}]
            answer = await csms.request("SetChargingProfile", {"evseId": 1, "chargingProfile": bad})
            assert answer[2]["statusInfo"]["reasonCode"] == "InvalidSchedule"
            wrong_evse = await csms.request("SetChargingProfile", {"evseId": 9, "chargingProfile": tx_profile()})
            assert wrong_evse[2]["statusInfo"]["reasonCode"] == "UnknownEvse"
            assert station.schedules.profiles() == []

    asyncio.run(main())


def test_malformed_and_unexpected_messages_get_callerrors_and_charging_goes_on(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            plug(station, uplink)
            await csms.send_raw("this is not json")
            await csms.wait_for(lambda c: any(f[0] == 4 and f[1] == "-1" for f in c.frames), "CALLERROR -1")
            not_json = next(f for f in csms.frames if f[0] == 4 and f[1] == "-1")
            assert not_json[2] == "FormatViolation"
            await csms.send_raw('[2, "short-1"]')
            await csms.wait_for(lambda c: any(f[0] == 4 and f[1] == "short-1" for f in c.frames), "short frame")
            unknown = await csms.request("MakeCoffee", {})
            assert unknown[0] == 4 and unknown[2] == "NotSupported"
            unimplemented = await csms.request("GetLog", {"log": {"remoteLocation": "ftp://x"}, "logType": "DiagnosticsLog",
                                                          "requestId": 1})
            assert unimplemented[0] == 4 and unimplemented[2] == "NotImplemented"
            invalid = await csms.request("SetChargingProfile", {"evseId": "one"})
            assert invalid[0] == 4 and invalid[2] in ("TypeConstraintViolation", "ProtocolError", "FormatViolation")
            extra = await csms.request("UnlockConnector", {"evseId": 1, "connectorId": 1, "colour": "red"})
            assert extra[0] == 4 and extra[2] == "FormatViolation"
            await csms.send_raw('[3, "never-asked", {}]')  # a CALLRESULT nobody waits for: ignored
            # The station keeps working: a meter sample still becomes a TransactionEvent.
            station.emit(MeterSample(session_id=SESSION, energy_import_Wh=42.0, power_W=1000.0))
            await csms.wait_for(lambda c: any(p["triggerReason"] == "MeterValuePeriodic"
                                              for p in c.calls("TransactionEvent")), "meter values after errors")
            assert uplink.connected

    asyncio.run(main())


def test_remote_start_stop_unlock_availability(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            start = await csms.request("RequestStartTransaction",
                                       {"idToken": {"idToken": "TOKEN-1", "type": "Central"}, "remoteStartId": 77,
                                        "evseId": 1})
            assert start[2]["status"] == "Accepted"
            assert ("remote_start", 1, "TOKEN-1") in station.calls
            plug(station, uplink)
            await csms.wait_for(lambda c: c.calls("TransactionEvent"), "Started")
            started = csms.calls("TransactionEvent")[0]
            assert started["transactionInfo"]["remoteStartId"] == 77
            assert started["idToken"] == {"idToken": "TOKEN-1", "type": "Central"}
            station.sessions[1] = SessionSnapshot(session_id=SESSION, evse_index=1, state="charging",
                                                  started_at=datetime.now(timezone.utc), iso_session_id=None,
                                                  id_token="TOKEN-1", energy_import_Wh=0, energy_export_Wh=0,
                                                  power_W=0, soc_pct=None)
            stop = await csms.request("RequestStopTransaction", {"transactionId": SESSION})
            assert stop[2] == {"status": "Accepted"} and station.calls[-1][:2] == ("remote_stop", 1)
            unknown = await csms.request("RequestStopTransaction", {"transactionId": "other"})
            assert unknown[2]["status"] == "Rejected"
            busy = await csms.request("UnlockConnector", {"evseId": 1, "connectorId": 1})
            assert busy[2] == {"status": "OngoingAuthorizedTransaction"}
            del station.sessions[1]
            unlocked = await csms.request("UnlockConnector", {"evseId": 1, "connectorId": 1})
            assert unlocked[2] == {"status": "Unlocked"} and station.calls[-1] == ("unlock", 1)
            # issue #13 item 7 (G03.FR.05): Inoperative while the transaction is open is Scheduled;
            # the station stays available and charging goes on until the transaction ends
            off = await csms.request("ChangeAvailability", {"operationalStatus": "Inoperative"})
            assert off[2] == {"status": "Scheduled"}
            assert ("available", 1, False) not in station.calls
            await asyncio.sleep(0.2)
            assert all(s["connectorStatus"] != "Unavailable" for s in csms.calls("StatusNotification"))
            station.emit(SessionFinished(session_id=SESSION, cause=StopCause.REMOTE_STOP))
            await csms.wait_for(lambda c: any(t["eventType"] == "Ended" for t in c.calls("TransactionEvent")), "Ended")
            await csms.wait_for(lambda c: c.calls("StatusNotification")[-1]["connectorStatus"] == "Unavailable",
                                "Unavailable status once the transaction ended")
            assert station.calls[-1] == ("available", 1, False)
            # on an idle EVSE the change is immediate; Operative brings Available back
            on = await csms.request("ChangeAvailability", {"operationalStatus": "Operative"})
            assert on[2] == {"status": "Accepted"} and station.calls[-1] == ("available", 1, True)
            off = await csms.request("ChangeAvailability", {"operationalStatus": "Inoperative"})
            assert off[2] == {"status": "Accepted"} and station.calls[-1] == ("available", 1, False)
            station.accept_remote = False
            refused = await csms.request("RequestStartTransaction",
                                         {"idToken": {"idToken": "T2", "type": "Central"}, "remoteStartId": 78})
            assert refused[2]["status"] == "Rejected"

    asyncio.run(main())


def test_variables_trigger_and_reset(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            got = await csms.request("GetVariables", {"getVariableData": [
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}},
                {"component": {"name": "Nope"}, "variable": {"name": "X"}},
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "Nope"}},
            ]})
            results = got[2]["getVariableResult"]
            assert results[0]["attributeValue"] == "3600"  # set by the BootNotification interval
            assert results[1]["attributeValue"] == "CS-TEST-1"
            assert [r["attributeStatus"] for r in results] == ["Accepted", "Accepted", "UnknownComponent",
                                                               "UnknownVariable"]
            sets = await csms.request("SetVariables", {"setVariableData": [
                {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"},
                 "attributeValue": "15"},
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "Identity"}, "attributeValue": "x"},
                {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"},
                 "attributeValue": "-5"},
            ]})
            assert [r["attributeStatus"] for r in sets[2]["setVariableResult"]] == ["Accepted", "Rejected", "Rejected"]
            assert uplink.mapper.meter_interval_s == 15.0
            n_status = len(csms.calls("StatusNotification"))
            trig = await csms.request("TriggerMessage", {"requestedMessage": "StatusNotification"})
            assert trig[2] == {"status": "Accepted"}
            await csms.wait_for(lambda c: len(c.calls("StatusNotification")) > n_status, "triggered status")
            meter = await csms.request("TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": 1}})
            assert meter[2] == {"status": "Accepted"}
            await csms.wait_for(lambda c: c.calls("MeterValues"), "triggered MeterValues")
            firmware = await csms.request("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})
            assert firmware[2]["status"] == "NotImplemented"
            reset = await csms.request("Reset", {"type": "Immediate"})
            assert reset[2] == {"status": "Accepted"}
            await csms.wait_for(lambda c: any(p["reason"] == "RemoteReset" for p in c.calls("BootNotification")),
                                "BootNotification after reset")

    asyncio.run(main())
