"""Issue #13 items 1-2 on the OCPP side, against the `ocpp` library CSMS on 127.0.0.1.

Charging profiles with numbers the schedule cannot use (huge, non-finite, negative, past the
profile's duration or recurrence) must be refused with the version's own answer (2.x:
Rejected + statusInfo.reasonCode; 1.6: Rejected; or a schema CALLERROR), must not reach the
ScheduleManager, and the connection stays up. Frames nested deeper than the bound get a
CALLERROR FormatViolation (1.6: FormationViolation) instead of a dropped connection.
"""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from freev2g.model.events import PluggedIn

SESSION = "0c4d2a9e-6f4b-4e43-a1a7-1f1b0f9c2d10"
VERSIONS = ("1.6", "2.0.1", "2.1")
SCHEMA_ERRORS = ("TypeConstraintViolation", "PropertyConstraintViolation", "FormatViolation", "FormationViolation",
                 "OccurrenceConstraintViolation", "OccurenceConstraintViolation", "ProtocolError")


def _periods(case):
    base = [{"startPeriod": 0, "limit": 11000.0}]
    extra = {
        "huge_start": [{"startPeriod": 10**20, "limit": 5000.0}],
        "start_1e20_float": [{"startPeriod": 1e20, "limit": 5000.0}],
        "start_past_duration": [{"startPeriod": 7200, "limit": 5000.0}],
        "negative_start": [{"startPeriod": -5, "limit": 5000.0}],
    }.get(case, [])
    if case == "nan_limit":
        base = [{"startPeriod": 0, "limit": float("nan")}]
    if case == "inf_limit":
        base = [{"startPeriod": 0, "limit": float("inf")}]
    if case == "huge_limit":
        base = [{"startPeriod": 0, "limit": 1e30}]
    return base + extra


CASES = ("huge_start", "start_1e20_float", "start_past_duration", "negative_start", "nan_limit", "inf_limit",
         "huge_limit", "huge_duration", "recurring_past_day")


def _profile(version, case):
    schedule = {"chargingRateUnit": "W", "chargingSchedulePeriod": _periods(case)}
    kind = "Relative"
    if case == "start_past_duration":
        schedule["duration"] = 3600
    if case == "huge_duration":
        schedule["duration"] = 10**20
    if case == "recurring_past_day":
        kind = "Recurring"
        schedule["startSchedule"] = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
        schedule["chargingSchedulePeriod"] = [{"startPeriod": 0, "limit": 11000.0}, {"startPeriod": 90_000, "limit": 1.0}]
    profile = {"stackLevel": 1, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": kind}
    if kind == "Recurring":
        profile["recurrencyKind"] = "Daily"
    if version == "1.6":
        return {"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 5, **profile, "chargingSchedule": schedule}}
    return {"evseId": 1, "chargingProfile": {"id": 5, **profile, "chargingSchedule": [{"id": 1, **schedule}]}}


async def _raw_request(csms, action, payload):
    """Like Csms.request, but json.dumps keeps NaN / Infinity / 1e20 as a CSMS might send them."""
    peer = await csms.connected()
    uid = f"bad-{len(csms.sent)}"
    await peer._connection.send(json.dumps([2, uid, action, payload]))
    await csms.wait_for(lambda c: any(f[1] == uid for f in c.frames if f[0] in (3, 4)), f"answer to {action}")
    return next(f for f in csms.frames if f[0] in (3, 4) and f[1] == uid)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_profile_numbers_the_schedule_cannot_use_are_refused(ocpp_env, version, case):
    async def main():
        async with ocpp_env(version) as (csms, station, uplink):
            station.emit(PluggedIn(session_id=SESSION))
            station.schedules.begin_transaction(1, SESSION, datetime.now(timezone.utc) - timedelta(seconds=10))
            answer = await _raw_request(csms, "SetChargingProfile", _profile(version, case))
            if answer[0] == 3:
                assert answer[2]["status"] == "Rejected", answer
                if version != "1.6":
                    assert answer[2]["statusInfo"]["reasonCode"] in ("InvalidValue", "InvalidSchedule"), answer
                    assert answer[2]["statusInfo"]["additionalInfo"], answer
            else:
                assert answer[2] in SCHEMA_ERRORS, answer
                if case in ("nan_limit", "inf_limit"):
                    assert "NaN or Infinity" in answer[3], answer
            assert station.schedules.profiles() == []
            # The schedule still computes and the connection is still up.
            assert station.schedules.limit_now_W(1, datetime.now(timezone.utc)) == 50_000.0
            heartbeat_ok = await csms.request("GetCompositeSchedule", {"connectorId": 1, "duration": 60} if version == "1.6"
                                              else {"evseId": 1, "duration": 60})
            assert heartbeat_ok[0] == 3 and uplink.connected

    asyncio.run(main())


def _deep_frames():
    return {
        "bare_100k": "[" * 100_000,
        "payload_1k": '[2, "deep-1", "Heartbeat", ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "]",
        "custom_data_200": '[2, "deep-2", "ClearCache", {"customData": {"vendorId": "x", "k": '
                           + "[" * 200 + "]" * 200 + "}}]",
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("frame", sorted(_deep_frames()))
def test_deeply_nested_frames_get_a_format_violation_and_the_connection_stays(ocpp_env, version, frame):
    async def main():
        async with ocpp_env(version) as (csms, station, uplink):
            raw = _deep_frames()[frame]
            expected_id = {"bare_100k": "-1", "payload_1k": "deep-1", "custom_data_200": "deep-2"}[frame]
            await csms.send_raw(raw)
            await csms.wait_for(lambda c: any(f[0] == 4 and f[1] == expected_id for f in c.frames), "CALLERROR")
            err = next(f for f in csms.frames if f[0] == 4 and f[1] == expected_id)
            assert err[2] == ("FormationViolation" if version == "1.6" else "FormatViolation"), err
            assert "deeper than" in err[3]
            again = await csms.request("GetCompositeSchedule", {"connectorId": 1, "duration": 60} if version == "1.6"
                                       else {"evseId": 1, "duration": 60})
            assert again[0] == 3 and uplink.connected

    asyncio.run(main())


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("duration", [10**20, 2**31])
def test_composite_schedule_with_a_huge_duration_is_rejected(ocpp_env, version, duration):
    async def main():
        async with ocpp_env(version) as (csms, station, uplink):
            answer = await csms.request("GetCompositeSchedule", {"connectorId": 1, "duration": duration} if version == "1.6"
                                        else {"evseId": 1, "duration": duration})
            if answer[0] == 3:
                assert answer[2]["status"] == "Rejected", answer
                if version != "1.6":
                    assert answer[2]["statusInfo"]["reasonCode"] == "InvalidValue"
            else:
                assert answer[2] in SCHEMA_ERRORS, answer
            assert uplink.connected

    asyncio.run(main())
