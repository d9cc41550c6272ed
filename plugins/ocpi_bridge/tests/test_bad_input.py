"""Property-based bad input on every endpoint: never a 5xx, never a changed record.

Each test starts a real bridge with a registered eMSP, a running session with accepted
preferences and a charging profile, and a finished session with its CDR; then Hypothesis throws
invalid requests at one endpoint over loopback and checks the answer and that the stored
records, peers, queued pushes and the ScheduleManager's inputs are exactly as before.
"""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from aiohttp import ClientSession
from freev2g.clock import Clock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpi_helpers import EmspPeer, HarnessStation, b64, new_session_id, ocpi_config, register_emsp_with_cpo
from test_push import play_session
from test_smart import start_session

from freev2g_ocpi_bridge.convert import format_datetime
from freev2g_ocpi_bridge.uplink import OcpiBridge

NO_BODY = object()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c, max_size=4)), max_leaves=10)
not_json = st.binary(max_size=40).filter(lambda b: not _is_json(b))


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw.decode("utf-8"))
        return True
    except (UnicodeDecodeError, ValueError):
        return False


class Rig:
    """Bridge + peer + state on one event loop that lives across Hypothesis examples."""

    def __init__(self, tmp_path):
        self.loop = asyncio.new_event_loop()
        self.tmp_path = tmp_path
        self.loop.run_until_complete(self._setup())

    async def _setup(self):
        self.peer = EmspPeer()
        await self.peer.start()
        self.station = HarnessStation(self.tmp_path / "journal.sqlite", clock=Clock())
        self.bridge = OcpiBridge(ocpi_config(self.tmp_path, session_update_interval_s=0.0), self.station)
        await self.bridge.start()
        self.token = await register_emsp_with_cpo(self.bridge, self.peer)
        self.http = ClientSession()
        play_session(self.station, new_session_id(), samples=2)
        self.sid = start_session(self.station)
        dep = format_datetime(self.station.clock.now() + timedelta(hours=3))
        status, doc = await self.call("PUT", f"2.2.1/sessions/{self.sid}/charging_preferences", body={"profile_type": "REGULAR", "departure_time": dep, "energy_need": 10})
        assert doc["data"] == "ACCEPTED"
        profile = {"charging_profile": {"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 7000}]}, "response_url": f"{self.peer.base}/results/setup"}
        status, doc = await self.call("PUT", f"2.2.1/chargingprofiles/{self.sid}", body=profile)
        assert doc["data"]["result"] == "ACCEPTED"

    async def call(self, method, suffix, *, body=NO_BODY, raw=None, params=None, token="default", headers=None):
        hdrs = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok is not None:
            hdrs["Authorization"] = b64(tok)
        data = raw if raw is not None else (None if body is NO_BODY else json.dumps(body))
        async with self.http.request(method, self.bridge.url(suffix), data=data, params=params, headers=hdrs) as r:
            text = await r.text()
            assert r.status < 500, (r.status, text)
            doc = json.loads(text)
            assert isinstance(doc["status_code"], int) and "timestamp" in doc
            return r.status, doc

    def state(self):
        sched = self.station.schedules
        return (self.bridge.store.snapshot(), sched.preferences(1), sorted(map(repr, sched.profiles())))

    def run(self, coro):
        return self.loop.run_until_complete(asyncio.wait_for(coro, 30))

    def close(self):
        async def down():
            await self.http.close()
            await self.bridge.stop()
            await self.peer.stop()

        self.loop.run_until_complete(down())
        self.loop.close()


def _bad_field(base: dict, field: str, values) -> st.SearchStrategy:
    return values.map(lambda v: {**base, field: v})


def test_charging_preferences_never_5xx_never_changed(tmp_path):
    rig = Rig(tmp_path)
    try:
        before = rig.state()
        past = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=999)).map(lambda d: format_datetime(rig.station.clock.now() - d))
        base = {"profile_type": "REGULAR", "departure_time": format_datetime(rig.station.clock.now() + timedelta(hours=2)), "energy_need": 5}
        bodies = st.one_of(
            json_values.filter(lambda v: not isinstance(v, dict)),
            st.dictionaries(st.text(max_size=12).filter(lambda k: k != "profile_type"), json_values, max_size=5),
            _bad_field(base, "profile_type", json_values.filter(lambda v: v not in ("CHEAP", "FAST", "GREEN", "REGULAR"))),
            _bad_field(base, "energy_need", st.one_of(st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False), st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2))),
            _bad_field(base, "departure_time", st.one_of(past, st.text(max_size=30), st.integers(), st.booleans())),
            # Infinity is not JSON (the encoder writes it bare): the raw-body case answers it with 400
            _bad_field(base, "discharge_allowed", st.one_of(st.integers(), st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False))),
        )

        @SETTINGS
        @given(body=bodies, sid=st.one_of(st.just(rig.sid), st.text(alphabet="abcdef0123456789-", min_size=1, max_size=50)))
        def check(body, sid):
            status, doc = rig.run(rig.call("PUT", f"2.2.1/sessions/{sid}/charging_preferences", body=body))
            assert doc["status_code"] == 2001, doc
            assert status == (200 if sid == rig.sid else 404)
            assert "data" not in doc or doc["data"] is None

        @SETTINGS
        @given(raw=not_json)
        def check_raw(raw):
            status, doc = rig.run(rig.call("PUT", f"2.2.1/sessions/{rig.sid}/charging_preferences", raw=raw))
            assert (status, doc["status_code"]) == (400, 2001)

        check()
        check_raw()
        assert rig.state() == before
    finally:
        rig.close()


def test_chargingprofiles_never_5xx_never_changed(tmp_path):
    rig = Rig(tmp_path)
    try:
        before = rig.state()
        ok_profile = {"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 1000}]}
        bad_periods = st.one_of(
            json_scalars,
            st.just([]),
            st.lists(st.fixed_dictionaries({"start_period": st.integers(0, 10), "limit": st.floats(0, 1e5)}), min_size=2, max_size=4).filter(
                lambda ps: ps[0]["start_period"] != 0 or any(b["start_period"] <= a["start_period"] for a, b in zip(ps, ps[1:]))
            ),
            st.lists(st.fixed_dictionaries({"start_period": st.integers(0, 0), "limit": st.floats(max_value=-0.01, allow_nan=False, allow_infinity=False)}), min_size=1, max_size=1),
            st.lists(st.fixed_dictionaries({"start_period": st.text(max_size=3), "limit": st.integers()}), min_size=1, max_size=2),
        )
        bodies = st.one_of(
            json_values.filter(lambda v: not isinstance(v, dict)),
            st.dictionaries(st.text(max_size=12).filter(lambda k: k != "charging_profile"), json_values, max_size=4),
            st.fixed_dictionaries({"charging_profile": st.just(ok_profile), "response_url": st.one_of(json_scalars, st.text(max_size=30)).filter(lambda u: not (isinstance(u, str) and u.startswith(("http://", "https://"))))}),
            st.fixed_dictionaries({"charging_profile": _bad_field(ok_profile, "charging_profile_period", bad_periods), "response_url": st.just("http://127.0.0.1:9/r")}),
            st.fixed_dictionaries({"charging_profile": _bad_field(ok_profile, "charging_rate_unit", json_values.filter(lambda v: v not in ("W", "A"))), "response_url": st.just("http://127.0.0.1:9/r")}),
            st.fixed_dictionaries({"charging_profile": _bad_field(ok_profile, "duration", st.one_of(st.integers(max_value=-1), st.text(max_size=3), st.floats(0.5, 9.5))), "response_url": st.just("http://127.0.0.1:9/r")}),
        )

        @SETTINGS
        @given(body=bodies)
        def check_put(body):
            status, doc = rig.run(rig.call("PUT", f"2.2.1/chargingprofiles/{rig.sid}", body=body))
            assert (status, doc["status_code"]) == (200, 2001), doc

        bad_duration = st.one_of(st.none(), st.text(max_size=8).filter(lambda t: not t.strip().isdigit() or int(t) < 1), st.integers(max_value=0).map(str))
        bad_url = st.one_of(st.none(), st.text(max_size=20).filter(lambda u: not u.startswith(("http://", "https://"))))

        @SETTINGS
        @given(duration=bad_duration, url=st.one_of(bad_url, st.just("http://127.0.0.1:9/r")), method=st.sampled_from(["GET", "DELETE"]))
        def check_get_delete(duration, url, method):
            params = {k: v for k, v in (("duration", duration), ("response_url", url)) if v is not None}
            if method == "DELETE" and url is not None and url.startswith("http"):
                params["response_url"] = "ftp://nope"
            status, doc = rig.run(rig.call(method, f"2.2.1/chargingprofiles/{rig.sid}", params=params))
            assert (status, doc["status_code"]) == (200, 2001), (params, doc)

        check_put()
        check_get_delete()
        assert rig.state() == before
    finally:
        rig.close()


def test_credentials_lists_tokens_and_paths_never_5xx_never_changed(tmp_path):
    rig = Rig(tmp_path)
    try:
        before = rig.state()

        @SETTINGS
        @given(body=st.one_of(json_values, st.fixed_dictionaries({"token": st.one_of(st.text(min_size=65, max_size=70), st.just(""), st.integers()), "url": st.text(max_size=10), "roles": st.lists(json_values, max_size=2)})), method=st.sampled_from(["POST", "PUT"]))
        def check_credentials(body, method):
            status, doc = rig.run(rig.call(method, "2.2.1/credentials", body=body))
            assert doc["status_code"] != 1000
            assert status in (200, 405)

        query = st.dictionaries(st.sampled_from(["date_from", "date_to", "offset", "limit"]), st.text(max_size=25), max_size=4)

        @SETTINGS
        @given(params=query, module=st.sampled_from(["sessions", "cdrs"]))
        def check_lists(params, module):
            status, doc = rig.run(rig.call("GET", f"2.2.1/{module}", params=params))
            assert status == 200 and doc["status_code"] in (1000, 2001)

        @SETTINGS
        @given(
            token=st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=255, blacklist_categories=("Cc",)), max_size=70)),
            path=st.sampled_from(["versions", "2.2.1", "2.2.1/credentials", "2.2.1/sessions", "2.2.1/cdrs", "2.2.1/chargingprofiles/x", "2.2.1/sessions/x/charging_preferences", "2.2.1/nope", "nope"]),
            method=st.sampled_from(["GET", "PUT", "POST", "PATCH", "DELETE"]),
            raw=st.one_of(st.none(), st.binary(max_size=30)),
        )
        def check_unauthorized(token, path, method, raw):
            headers = {} if token is None else {"Authorization": "Token " + token}
            status, doc = rig.run(rig.call(method, path, raw=raw, token=None, headers=headers))
            assert status == 401 and doc["status_code"] == 2000

        @SETTINGS
        @given(path=st.text(alphabet="abc/._-%0123", max_size=30), method=st.sampled_from(["GET", "PUT", "POST", "PATCH", "DELETE"]))
        def check_paths(path, method):
            status, doc = rig.run(rig.call(method, "2.2.1/" + path))
            assert status in (200, 404, 405) or doc["status_code"] == 2001

        check_credentials()
        check_lists()
        check_unauthorized()
        check_paths()
        after = rig.state()
        assert after == before
    finally:
        rig.close()
