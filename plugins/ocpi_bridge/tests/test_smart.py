"""ChargingPreferences and chargingprofiles over HTTP into the real ScheduleManager."""
from __future__ import annotations

from datetime import timedelta

from freev2g.clock import Clock
from freev2g.model.enums import ChargeProgress, PaymentOption
from freev2g.model.events import Authorized, PluggedIn, PowerDelivery, SessionStarted
from freev2g.model.limits import ProfilePurpose
from ocpi_helpers import EmspPeer, HarnessStation, cpo_call, new_session_id, ocpi_config, register_emsp_with_cpo, run

from freev2g_ocpi_bridge.convert import format_datetime
from freev2g_ocpi_bridge.uplink import OcpiBridge


def start_session(station: HarnessStation) -> str:
    sid = new_session_id()
    now = station.clock.now()
    station.emit(PluggedIn(session_id=sid, timestamp=now))
    station.emit(SessionStarted(session_id=sid, timestamp=now))
    station.emit(Authorized(session_id=sid, timestamp=now, method=PaymentOption.EXTERNAL_PAYMENT, id_token="T1"))
    station.emit(PowerDelivery(session_id=sid, timestamp=now, progress=ChargeProgress.START))
    return sid


async def setup(tmp_path, **cfg):
    peer = EmspPeer()
    await peer.start()
    station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
    bridge = OcpiBridge(ocpi_config(tmp_path, **cfg), station)
    await bridge.start()
    token = await register_emsp_with_cpo(bridge, peer)
    return peer, station, bridge, token


def offered(station: HarnessStation):
    return station.schedules.sa_schedule_list(1, station.clock.now(), max_entries=None, departure_s=None, evse_max_power_W=11_000.0)


def test_charging_preferences_answers_and_effect_on_the_schedule(tmp_path):
    async def main():
        peer, station, bridge, token = await setup(tmp_path)
        try:
            sid = start_session(station)
            path = f"2.2.1/sessions/{sid}/charging_preferences"
            clock = station.clock
            before = offered(station)

            async def put(body):
                status, doc, _ = await cpo_call(bridge, "PUT", path, token, body)
                return status, doc

            dep = format_datetime(clock.now() + timedelta(hours=4))
            cases = [
                ({"profile_type": "REGULAR", "energy_need": 10}, "DEPARTURE_REQUIRED"),
                ({"profile_type": "REGULAR", "departure_time": dep}, "ENERGY_NEED_REQUIRED"),
                ({"profile_type": "CHEAP", "departure_time": dep, "energy_need": 10}, "PROFILE_TYPE_NOT_SUPPORTED"),
                ({"profile_type": "REGULAR", "departure_time": dep, "energy_need": 45}, "NOT_POSSIBLE"),  # 4 h x 11 kW = 44 kWh
            ]
            for body, expected in cases:
                status, doc = await put(body)
                assert (status, doc["status_code"], doc["data"]) == (200, 1000, expected), body
                assert station.schedules.preferences(1) is None, "a refused preference changes nothing"

            status, doc = await put({"profile_type": "REGULAR", "departure_time": dep, "energy_need": 20.5, "discharge_allowed": False})
            assert (status, doc["data"]) == (200, "ACCEPTED")
            prefs = station.schedules.preferences(1)
            assert prefs.energy_need_Wh == 20_500.0 and prefs.session_id == sid and prefs.profile_type == "REGULAR"
            assert format_datetime(prefs.departure) == dep and prefs.discharge_allowed is False
            after = offered(station)
            assert after != before, "the preferences shape the SAScheduleList"
            assert max(e.pmax_W for e in after.tuples[0].entries) <= 11_000.0
            assert after.tuples[0].entries[0].pmax_W < before.tuples[0].entries[0].pmax_W

            status, doc = await put({"profile_type": "FAST"})
            assert doc["data"] == "ACCEPTED" and station.schedules.preferences(1).profile_type == "FAST"
            assert bridge.store.get_record("preferences", sid) == {"profile_type": "FAST"}
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_charging_preferences_bad_input(tmp_path):
    async def main():
        peer, station, bridge, token = await setup(tmp_path)
        try:
            sid = start_session(station)
            path = f"2.2.1/sessions/{sid}/charging_preferences"
            past = format_datetime(station.clock.now() - timedelta(minutes=5))
            future = format_datetime(station.clock.now() + timedelta(hours=5))
            bad = [
                ({"profile_type": "REGULAR", "departure_time": future, "energy_need": -1}, "energy_need"),
                ({"profile_type": "REGULAR", "departure_time": past, "energy_need": 5}, "departure_time"),
                ({"profile_type": "TURBO"}, "profile_type"),
                ({"profile_type": "FAST", "energy_need": "5"}, "energy_need"),
                ({"profile_type": "FAST", "discharge_allowed": "yes"}, "discharge_allowed"),
                ({"energy_need": 5}, "profile_type"),
                ([1, 2], "object"),
            ]
            for body, field in bad:
                status, doc, _ = await cpo_call(bridge, "PUT", path, token, body)
                assert status == 200 and doc["status_code"] == 2001, body
                assert field in doc["status_message"], (field, doc["status_message"])
            status, doc, _ = await cpo_call(bridge, "PUT", path, token, raw=b"{not json")
            assert status == 400 and doc["status_code"] == 2001
            status, doc, _ = await cpo_call(bridge, "PUT", "2.2.1/sessions/unknown-session/charging_preferences", token, {"profile_type": "FAST"})
            assert status == 404 and doc["status_code"] == 2001
            assert station.schedules.preferences(1) is None
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_charging_preferences_without_the_capability_is_404_2001(tmp_path):
    async def main():
        peer, station, bridge, token = await setup(tmp_path, capabilities=["CHARGING_PROFILE_CAPABLE"])
        try:
            sid = start_session(station)
            status, doc, _ = await cpo_call(bridge, "PUT", f"2.2.1/sessions/{sid}/charging_preferences", token, {"profile_type": "FAST"})
            assert status == 404 and doc["status_code"] == 2001 and "CHARGING_PREFERENCES_CAPABLE" in doc["status_message"]
            assert "data" not in doc
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_charging_profile_set_get_clear_with_async_results(tmp_path):
    async def main():
        peer, station, bridge, token = await setup(tmp_path)
        try:
            sid = start_session(station)
            body = {
                "charging_profile": {
                    "charging_rate_unit": "W",
                    "charging_profile_period": [{"start_period": 0, "limit": 5000}, {"start_period": 1800, "limit": 7000.5}],
                },
                "response_url": f"{peer.base}/results/set-1?x=1",
            }
            status, doc, _ = await cpo_call(bridge, "PUT", f"2.2.1/chargingprofiles/{sid}", token, body)
            assert status == 200 and doc["data"] == {"result": "ACCEPTED", "timeout": 30}
            got = await peer.wait_for(lambda r: any("/results/set-1" in x["path"] for x in r))
            [result] = [x for x in got if "/results/set-1" in x["path"]]
            assert result["body"] == {"result": "ACCEPTED"} and result["token"] == peer.token_c_for_cpo
            [profile] = [p for p in station.schedules.profiles(1) if p.source == "ocpi"]
            assert profile.purpose is ProfilePurpose.TX and profile.transaction_id == sid
            assert [(p.start_s, p.limit) for p in profile.periods] == [(0, 5000.0), (1800, 7000.5)]
            assert offered(station).tuples[0].entries[0].pmax_W <= 5000.0

            status, doc, _ = await cpo_call(
                bridge, "GET", f"2.2.1/chargingprofiles/{sid}", token, params={"duration": "3600", "response_url": f"{peer.base}/results/get-1"}
            )
            assert doc["data"]["result"] == "ACCEPTED"
            got = await peer.wait_for(lambda r: any("/results/get-1" in x["path"] for x in r))
            active = [x for x in got if "/results/get-1" in x["path"]][0]["body"]
            assert active["result"] == "ACCEPTED"
            periods = active["profile"]["charging_profile"]["charging_profile_period"]
            assert periods[0] == {"start_period": 0, "limit": 5000.0}
            assert active["profile"]["charging_profile"]["charging_rate_unit"] == "W"

            status, doc, _ = await cpo_call(bridge, "DELETE", f"2.2.1/chargingprofiles/{sid}", token, params={"response_url": f"{peer.base}/results/del-1"})
            assert doc["data"]["result"] == "ACCEPTED"
            got = await peer.wait_for(lambda r: any("/results/del-1" in x["path"] for x in r))
            assert [x for x in got if "/results/del-1" in x["path"]][0]["body"] == {"result": "ACCEPTED"}
            assert [p for p in station.schedules.profiles(1) if p.source == "ocpi"] == []

            status, doc, _ = await cpo_call(bridge, "PUT", "2.2.1/chargingprofiles/no-such-session", token, body)
            assert doc["data"]["result"] == "UNKNOWN_SESSION"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_charging_profile_bad_input_and_capability(tmp_path):
    async def main():
        peer, station, bridge, token = await setup(tmp_path)
        try:
            sid = start_session(station)
            url = f"2.2.1/chargingprofiles/{sid}"
            good = {"charging_rate_unit": "A", "charging_profile_period": [{"start_period": 0, "limit": 16}]}
            bad = [
                ({"charging_profile": {**good, "charging_profile_period": [{"start_period": 0, "limit": 5}, {"start_period": 0, "limit": 6}]}, "response_url": "http://x/r"}, "start_period"),
                ({"charging_profile": {**good, "charging_profile_period": [{"start_period": 0, "limit": -5}]}, "response_url": "http://x/r"}, "limit"),
                ({"charging_profile": {**good, "charging_rate_unit": "kW"}, "response_url": "http://x/r"}, "charging_rate_unit"),
                ({"charging_profile": {**good, "charging_profile_period": []}, "response_url": "http://x/r"}, "charging_profile_period"),
                ({"charging_profile": good}, "response_url"),
                ({"charging_profile": good, "response_url": "not a url"}, "response_url"),
            ]
            for body, field in bad:
                status, doc, _ = await cpo_call(bridge, "PUT", url, token, body)
                assert status == 200 and doc["status_code"] == 2001, (body, doc)
                assert field in doc["status_message"], (field, doc)
            status, doc, _ = await cpo_call(bridge, "GET", url, token, params={"duration": "-1", "response_url": "http://x/r"})
            assert doc["status_code"] == 2001 and "duration" in doc["status_message"]
            assert [p for p in station.schedules.profiles(1) if p.source == "ocpi"] == []
            assert bridge.outbox.items() == [i for i in bridge.outbox.items() if "/results/" not in i["target"]]
        finally:
            await bridge.stop()
            await peer.stop()

        (tmp_path / "b").mkdir()
        peer, station, bridge, token = await setup(tmp_path / "b", capabilities=["CHARGING_PREFERENCES_CAPABLE"])
        try:
            sid = start_session(station)
            body = {"charging_profile": good, "response_url": f"{peer.base}/results/x"}
            status, doc, _ = await cpo_call(bridge, "PUT", f"2.2.1/chargingprofiles/{sid}", token, body)
            assert doc["data"]["result"] == "NOT_SUPPORTED"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())
