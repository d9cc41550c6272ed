"""Shared parts of the OCPI bridge tests.

* `EmspPeer`: a real eMSP written with aiohttp on 127.0.0.1 (versions, details, credentials,
  sessions and cdrs receivers, a response_url sink). It records every request it receives.
* `HarnessStation`: the StationApi seen by the uplink, built from the real ScheduleManager,
  the real sqlite Journal and a real Clock. It stands in for freev2g.evse.station.Station only
  for the HTTP tests, which feed it SessionEvents by hand; test_simulated.py uses the real
  station through freev2g.simulate.
"""
from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from aiohttp import ClientSession, web
from freev2g.clock import Clock
from freev2g.journal import Journal
from freev2g.model.enums import ChargeMode
from freev2g.schedule import ScheduleManager
from freev2g.station import EvseInfo

from freev2g_ocpi_bridge.config import OcpiConfig
from freev2g_ocpi_bridge.uplink import OcpiBridge


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(token: str) -> str:
    return "Token " + base64.b64encode(token.encode()).decode()


def ok_envelope(data: Any = None) -> dict[str, Any]:
    doc = {"status_code": 1000, "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if data is not None:
        doc["data"] = data
    return doc


class EmspPeer:
    """A minimal, spec-shaped eMSP (the Receiver of Sessions and CDRs)."""

    def __init__(self, port: int | None = None, *, token_a: str = "emsp-token-A"):
        self.port = port or free_port()
        self.token_a = token_a
        self.token_c_for_cpo: str | None = None  # the token the CPO uses to call us
        self.token_b: str | None = None  # the CPO's token we use to call it
        self.cpo_token_c: str | None = None  # issued by the CPO when we register with it
        self.received: list[dict[str, Any]] = []
        self.failures_for: set[str] = set()  # paths answered with HTTP 503 once each
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.cpo_credentials: dict | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/emsp"

    @property
    def versions_url(self) -> str:
        return f"{self.base}/versions"

    def _valid_tokens(self) -> set[str]:
        return {t for t in (self.token_a, self.token_c_for_cpo) if t}

    def _token(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Token "):
            return None
        try:
            return base64.b64decode(header[6:], validate=True).decode()
        except ValueError:
            return None

    async def _record(self, request: web.Request) -> web.Response:
        token = self._token(request)
        if token not in self._valid_tokens():
            return web.json_response({"status_code": 2000, "timestamp": "2020-01-01T00:00:00Z"}, status=401)
        body = await request.read()
        entry = {
            "method": request.method,
            "path": request.path,
            "token": token,
            "request_id": request.headers.get("X-Request-ID"),
            "body": json.loads(body) if body else None,
        }
        if request.path in self.failures_for:
            self.failures_for.discard(request.path)
            return web.json_response({}, status=503)
        async with self._changed:
            self.received.append(entry)
            self._changed.notify_all()
        return web.json_response(ok_envelope())

    async def _versions(self, request: web.Request) -> web.Response:
        if self._token(request) not in self._valid_tokens():
            return web.json_response({"status_code": 2000, "timestamp": "2020-01-01T00:00:00Z"}, status=401)
        return web.json_response(ok_envelope([{"version": "2.2.1", "url": f"{self.base}/2.2.1"}]))

    async def _details(self, request: web.Request) -> web.Response:
        if self._token(request) not in self._valid_tokens():
            return web.json_response({"status_code": 2000, "timestamp": "2020-01-01T00:00:00Z"}, status=401)
        eps = [
            {"identifier": "credentials", "role": "SENDER", "url": f"{self.base}/2.2.1/credentials"},
            {"identifier": "sessions", "role": "RECEIVER", "url": f"{self.base}/2.2.1/sessions"},
            {"identifier": "cdrs", "role": "RECEIVER", "url": f"{self.base}/2.2.1/cdrs"},
            {"identifier": "chargingprofiles", "role": "SENDER", "url": f"{self.base}/2.2.1/chargingprofiles"},
        ]
        return web.json_response(ok_envelope({"version": "2.2.1", "endpoints": eps}))

    async def _credentials(self, request: web.Request) -> web.Response:
        """The CPO registers with us: check its versions with token B, answer our token C."""
        if self._token(request) != self.token_a:
            return web.json_response({"status_code": 2000, "timestamp": "2020-01-01T00:00:00Z"}, status=401)
        creds = await request.json()
        self.token_b = creds["token"]
        async with ClientSession() as http:
            async with http.get(creds["url"], headers={"Authorization": b64(self.token_b)}) as r:
                assert r.status == 200, await r.text()
                versions = (await r.json())["data"]
            async with http.get(versions[0]["url"], headers={"Authorization": b64(self.token_b)}) as r:
                assert r.status == 200
                self.cpo_details = (await r.json())["data"]
        self.cpo_credentials = creds
        self.token_c_for_cpo = "emsp-token-C-" + secrets.token_hex(8)
        self.token_a = None
        return web.json_response(
            ok_envelope(
                {
                    "token": self.token_c_for_cpo,
                    "url": self.versions_url,
                    "roles": [{"role": "EMSP", "business_details": {"name": "test eMSP"}, "party_id": "EMS", "country_code": "NL"}],
                }
            )
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/emsp/versions", self._versions)
        app.router.add_get("/emsp/2.2.1", self._details)
        app.router.add_post("/emsp/2.2.1/credentials", self._credentials)
        app.router.add_route("*", "/emsp/2.2.1/sessions/{tail:.*}", self._record)
        app.router.add_post("/emsp/2.2.1/cdrs", self._record)
        app.router.add_post("/emsp/results/{tail:.*}", self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_for(self, predicate, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """Wait (on the condition, no polling sleeps) until predicate(received) is true."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.received)), timeout_s)
        return list(self.received)

    def of(self, method: str, fragment: str = "") -> list[dict[str, Any]]:
        return [r for r in self.received if r["method"] == method and fragment in r["path"]]


class HarnessStation:
    """StationApi over the real ScheduleManager, Journal and Clock (see module docstring)."""

    def __init__(self, journal_path, *, clock: Clock, max_power_W: float = 11_000.0, mode: ChargeMode = ChargeMode.AC):
        self.station_id = "test-station"
        self.clock = clock
        self.schedules = ScheduleManager()
        self.journal = Journal(journal_path)
        self._listeners = []
        self._evses = [
            EvseInfo(
                index=1,
                evse_id="DE*FV2*E0001*1",
                connector_id=1,
                charge_mode=mode,
                max_power_W=max_power_W,
                max_current_A=16.0,
                nominal_voltage_V=230.0,
                phases=3,
                bidirectional=False,
            )
        ]
        self.schedules.set_evse_maximum(1, max_power_W=max_power_W)

    def subscribe(self, listener) -> None:
        self._listeners.append(listener)

    def evses(self):
        return list(self._evses)

    def session(self, evse_index: int):
        return None

    def emit(self, event) -> None:
        """Journal first, then the schedule transaction (as the EvseManager does), then listeners."""
        from freev2g.model.events import SessionFinished, SessionStarted

        self.journal.record(event)
        if isinstance(event, SessionStarted):
            self.schedules.begin_transaction(event.evse_index, event.session_id, event.timestamp)
        elif isinstance(event, SessionFinished):
            self.schedules.end_transaction(event.evse_index)
        for listener in self._listeners:
            listener(event)


def ocpi_config(tmp_path, **overrides) -> OcpiConfig:
    values = dict(
        listen_port=0,
        token_a="cpo-token-A",
        outbox_path=str(tmp_path / "ocpi.sqlite"),
        retry_initial_s=1.0,
        retry_max_s=4.0,
        session_update_interval_s=60.0,
    )
    values.update(overrides)
    return OcpiConfig(**values)


async def cpo_call(bridge: OcpiBridge, method: str, suffix: str, token: str | None, body: Any = None, *, raw: bytes | None = None, headers: dict | None = None, params: dict | None = None):
    """One request to the bridge over loopback; returns (http status, decoded JSON, headers)."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = b64(token)
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    async with ClientSession() as http:
        async with http.request(method, bridge.url(suffix), data=data, headers=hdrs, params=params) as r:
            text = await r.text()
            try:
                doc = json.loads(text)
            except ValueError:
                doc = None
            return r.status, doc, r.headers


async def register_emsp_with_cpo(bridge: OcpiBridge, peer: EmspPeer) -> str:
    """The eMSP takes the initiative (it is the Sender of credentials): returns token C."""
    token_b = "emsp-B-" + secrets.token_hex(6)
    peer.token_c_for_cpo = token_b  # we accept the CPO's calls with B
    status, doc, _ = await cpo_call(
        bridge,
        "POST",
        "2.2.1/credentials",
        bridge.config.token_a,
        {
            "token": token_b,
            "url": peer.versions_url,
            "roles": [{"role": "EMSP", "business_details": {"name": "test eMSP"}, "party_id": "EMS", "country_code": "NL"}],
        },
    )
    assert status == 200 and doc["status_code"] == 1000, doc
    peer.cpo_token_c = doc["data"]["token"]
    return peer.cpo_token_c


def new_session_id() -> str:
    return str(uuid.uuid4())


def in_hours(clock: Clock, h: float) -> datetime:
    return clock.now() + timedelta(hours=h)


def run(coro, timeout_s: float = 60.0):
    """Run a coroutine on a fresh real-time loop (real sockets cannot use virtual time)."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))
