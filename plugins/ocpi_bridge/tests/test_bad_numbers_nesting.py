"""Issue #13 items 1-2 on the OCPI side: a real bridge on 127.0.0.1, a registered aiohttp eMSP,
a live session; bad charging-profile numbers, deeply nested JSON and oversized headers.

Every answer must be the OCPI envelope with 2001 (HTTP 200 for a well-formed body with bad
values, HTTP 400 for a body or header that is not decoded), never a 5xx, and nothing may
reach the ScheduleManager.
"""
from __future__ import annotations

import asyncio
import json

import pytest
from freev2g.clock import Clock
from ocpi_helpers import EmspPeer, HarnessStation, b64, ocpi_config, register_emsp_with_cpo
from aiohttp import ClientSession
from test_smart import start_session

from freev2g_ocpi_bridge.uplink import OcpiBridge

OK_PERIOD = '{"start_period": 0, "limit": 7000}'

# (name, raw charging_profile JSON text): each must be refused with 200 / 2001.
PROFILE_CASES = {
    "huge_start": '{"charging_rate_unit": "W", "charging_profile_period": [' + OK_PERIOD + ', {"start_period": 100000000000000000000, "limit": 5}]}',
    "float_1e20_start": '{"charging_rate_unit": "W", "charging_profile_period": [' + OK_PERIOD + ', {"start_period": 1e20, "limit": 5}]}',
    "start_past_duration": '{"charging_rate_unit": "W", "duration": 3600, "charging_profile_period": [' + OK_PERIOD + ', {"start_period": 7200, "limit": 5}]}',
    "negative_start": '{"charging_rate_unit": "W", "charging_profile_period": [{"start_period": -1, "limit": 5}]}',
    "nan_limit": '{"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": NaN}]}',
    "infinity_limit": '{"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": Infinity}]}',
    "overflow_limit": '{"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 1e400}]}',
    "huge_limit": '{"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 1e30}]}',
    "huge_duration": '{"charging_rate_unit": "W", "duration": 100000000000000000000, "charging_profile_period": [' + OK_PERIOD + "]}",
    "huge_min_rate": '{"charging_rate_unit": "W", "min_charging_rate": 1e300, "charging_profile_period": [' + OK_PERIOD + "]}",
}

DEEP = {"brackets_1k": "[" * 1000, "brackets_100k": "[" * 100_000,
        "objects_1k": '{"a": ' * 1000 + "1" + "}" * 1000,
        "inside_profile_500": '{"charging_profile": {"charging_rate_unit": "W", "x": ' + "[" * 500 + "]" * 500
                              + ', "charging_profile_period": [' + OK_PERIOD + ']}, "response_url": "http://127.0.0.1:9/r"}'}
DEEP_PATHS = ("chargingprofiles/{sid}", "sessions/{sid}/charging_preferences", "credentials")


class Rig:
    async def __aenter__(self):
        self.peer = EmspPeer()
        await self.peer.start()
        self.station = HarnessStation(self.tmp / "journal.sqlite", clock=Clock())
        self.bridge = OcpiBridge(ocpi_config(self.tmp), self.station)
        await self.bridge.start()
        self.token = await register_emsp_with_cpo(self.bridge, self.peer)
        self.sid = start_session(self.station)
        self.http = ClientSession()
        return self

    def __init__(self, tmp):
        self.tmp = tmp

    async def __aexit__(self, *exc):
        await self.http.close()
        await self.bridge.stop()
        await self.peer.stop()

    async def raw(self, method, suffix, data: str | None, headers=None, token=True):
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token:
            hdrs.setdefault("Authorization", b64(self.token))
        async with self.http.request(method, self.bridge.url("2.2.1/" + suffix.format(sid=self.sid)), data=data, headers=hdrs) as r:
            text = await r.text()
            assert r.status < 500, (r.status, text[:300])
            assert r.headers.get("Content-Type", "").startswith("application/json"), (r.status, text[:300])
            return r.status, json.loads(text)


@pytest.mark.parametrize("case", sorted(PROFILE_CASES))
def test_profile_numbers_are_refused_with_2001(tmp_path, case):
    async def main():
        async with Rig(tmp_path) as rig:
            body = '{"charging_profile": ' + PROFILE_CASES[case] + ', "response_url": "' + rig.peer.base + '/results/x"}'
            status, doc = await rig.raw("PUT", "chargingprofiles/{sid}", body)
            assert (status, doc["status_code"]) in ((200, 2001), (400, 2001)), doc
            assert doc.get("status_message"), doc
            assert rig.station.schedules.profiles() == []
            # The session's schedule still computes.
            offer = rig.station.schedules.sa_schedule_list(1, rig.station.clock.now(), max_entries=None, departure_s=None,
                                                           evse_max_power_W=11_000.0)
            assert offer.tuples[0].entries[0].pmax_W == 11_000.0

    asyncio.run(main())


@pytest.mark.parametrize("path", DEEP_PATHS)
@pytest.mark.parametrize("deep", sorted(DEEP))
def test_deeply_nested_json_gets_400_2001(tmp_path, deep, path):
    async def main():
        async with Rig(tmp_path) as rig:
            status, doc = await rig.raw("PUT", path, DEEP[deep])
            assert (status, doc["status_code"]) == (400, 2001), doc
            assert "deeper than" in doc["status_message"]
            assert rig.station.schedules.profiles() == [] and rig.station.schedules.preferences(1) is None

    asyncio.run(main())


@pytest.mark.parametrize("header", ["X-Padding", "Authorization", "X-Request-ID"])
def test_oversized_headers_get_the_envelope(tmp_path, header):
    async def main():
        async with Rig(tmp_path) as rig:
            value = "Token " + "A" * 20_000 if header == "Authorization" else "x" * 20_000
            status, doc = await rig.raw("GET", "sessions", None, headers={header: value})
            assert (status, doc["status_code"]) == (400, 2001), doc
            assert "longer than" in doc["status_message"]

    asyncio.run(main())


PREFERENCE_CASES = {
    "energy_overflow": '{"profile_type": "REGULAR", "departure_time": "2030-01-01T00:00:00Z", "energy_need": 1e400}',
    "energy_nan": '{"profile_type": "REGULAR", "departure_time": "2030-01-01T00:00:00Z", "energy_need": NaN}',
    "energy_negative": '{"profile_type": "REGULAR", "departure_time": "2030-01-01T00:00:00Z", "energy_need": -1}',
    "energy_huge": '{"profile_type": "REGULAR", "departure_time": "2030-01-01T00:00:00Z", "energy_need": 1e300}',
    "departure_year_9999": '{"profile_type": "REGULAR", "departure_time": "9999-12-31T23:59:59Z", "energy_need": 10}',
}


@pytest.mark.parametrize("case", sorted(PREFERENCE_CASES))
def test_preference_numbers_never_5xx_and_the_schedule_still_computes(tmp_path, case):
    async def main():
        async with Rig(tmp_path) as rig:
            status, doc = await rig.raw("PUT", "sessions/{sid}/charging_preferences", PREFERENCE_CASES[case])
            if doc["status_code"] == 1000:
                # A value OCPI allows: an answer from the ChargingPreferencesResponse list.
                assert doc["data"] in ("ACCEPTED", "NOT_POSSIBLE", "DEPARTURE_REQUIRED", "ENERGY_NEED_REQUIRED",
                                       "PROFILE_TYPE_NOT_SUPPORTED", "DISCHARGE_NOT_POSSIBLE"), doc
            else:
                assert (status, doc["status_code"]) in ((200, 2001), (400, 2001)), doc
            now = rig.station.clock.now()
            watts = rig.station.schedules.limit_now_W(1, now)
            assert 0.0 <= watts <= 11_000.0
            offer = rig.station.schedules.sa_schedule_list(1, now, max_entries=None, departure_s=None, evse_max_power_W=11_000.0)
            assert 0.0 <= offer.tuples[0].entries[0].pmax_W <= 11_000.0

    asyncio.run(main())
