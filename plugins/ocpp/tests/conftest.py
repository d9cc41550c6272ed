"""Test harness: a real CSMS built with the `ocpp` library on 127.0.0.1 (websockets server),
and a small StationApi double for driving the uplink through its public methods.

The station double stands in for freev2g.evse.station.Station in the protocol tests (the
full-session tests use the real one through freev2g.simulate); its schedules are the real
freev2g.schedule.ScheduleManager.
"""
from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timezone
from typing import Any, Callable

import pytest
from freev2g.clock import Clock
from freev2g.model.enums import ChargeMode
from freev2g.schedule import ScheduleManager
from freev2g.station import EvseInfo, SessionSnapshot
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call_result as result201
from ocpp.v21 import ChargePoint as Cp21
from ocpp.v21 import call_result as result21
from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

WAIT_S = 20.0  # upper bound for awaited conditions (never a sleep)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _make_cp(base, results, version):
    class CsmsPeer(base):
        """CSMS side of one station connection: answers the station's CALLs, records frames."""

        def __init__(self, id, connection, csms):
            super().__init__(id, connection, response_timeout=10)
            self.csms = csms
            self._tx_counter = 100

        async def route_message(self, raw_msg):
            self.csms.record(raw_msg)
            frame = json.loads(raw_msg)
            swallow = self.csms.swallow_tx_seq
            if (swallow and frame[0] == 2 and frame[2] == "TransactionEvent"
                    and frame[3].get("seqNo") == swallow[0]):
                # The CSMS got the message, but its CALLRESULT is lost: the connection drops.
                self.csms.swallow_tx_seq = swallow[1:]
                await self._connection.close()
                return
            if (frame[0] == 2 and frame[2] == "TransactionEvent"
                    and frame[3].get("seqNo") in self.csms.hold_tx_seq):
                # The CSMS got the message and never answers it (the station waits or dies).
                self.csms.hold_tx_seq = tuple(s for s in self.csms.hold_tx_seq if s != frame[3]["seqNo"])
                return
            await super().route_message(raw_msg)

        async def _send(self, message):
            self.csms.sent.append(json.loads(message))
            await super()._send(message)

        if version == "1.6":
            @on("BootNotification")
            def boot(self, **kw):
                return results.BootNotification(current_time=_now(), interval=self.csms.heartbeat_s, status="Accepted")

            @on("StartTransaction")
            def start_tx(self, **kw):
                self._tx_counter += 1
                return results.StartTransaction(transaction_id=self._tx_counter, id_tag_info={"status": "Accepted"})

            @on("StopTransaction")
            def stop_tx(self, **kw):
                return results.StopTransaction()

            @on("DataTransfer")
            def data_transfer(self, **kw):
                return results.DataTransfer(status="Accepted")

            @on("Authorize")
            def authorize(self, **kw):
                return results.Authorize(id_tag_info={"status": self.csms.token_status(kw["id_tag"])})
        else:
            @on("BootNotification")
            def boot(self, **kw):
                return results.BootNotification(current_time=_now(), interval=self.csms.heartbeat_s,
                                                status=self.csms.boot_status)

            @on("TransactionEvent")
            def tx_event(self, **kw):
                if self.csms.fail_tx_seq is not None and kw.get("seq_no") == self.csms.fail_tx_seq:
                    raise ValueError("CSMS-side failure for this test")
                return results.TransactionEvent()

            @on("NotifyEVChargingNeeds")
            def needs(self, **kw):
                return results.NotifyEVChargingNeeds(status="Accepted")

            @on("Authorize")
            def authorize(self, **kw):
                return results.Authorize(id_token_info={"status": self.csms.token_status(kw["id_token"]["id_token"])})

        @on("Heartbeat")
        def heartbeat(self, **kw):
            return results.Heartbeat(current_time=_now())

        @on("StatusNotification")
        def status(self, **kw):
            return results.StatusNotification()

        @on("MeterValues")
        def meter_values(self, **kw):
            return results.MeterValues()

    return CsmsPeer


PEERS = {
    "1.6": _make_cp(Cp16, result16, "1.6"),
    "2.0.1": _make_cp(Cp201, result201, "2.0.1"),
    "2.1": _make_cp(Cp21, result21, "2.1"),
}


class Csms:
    """A CSMS on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self, version: str = "2.0.1", *, password: str | None = None, ssl_context=None):
        self.version = version
        self.password = password
        self.ssl_context = ssl_context
        self.frames: list[list] = []  # every frame received from the station, all connections
        self.sent: list[list] = []
        self.heartbeat_s = 3600
        self.boot_status = "Accepted"
        self.fail_tx_seq: int | None = None
        self.swallow_tx_seq: tuple[int, ...] = ()  # seqNos whose CALLRESULT is "lost" (connection dropped)
        self.hold_tx_seq: tuple[int, ...] = ()  # seqNos received but never answered (once each)
        self.tokens: dict[str, str] = {}  # idToken -> Authorize status (default Accepted)
        self.port = 0
        self.peer = None
        self.identities: list[str] = []
        self.auth_failures = 0
        self._server = None
        self._changed = asyncio.Condition()
        self._connected = asyncio.Event()

    def record(self, raw: str) -> None:
        self.frames.append(json.loads(raw))
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def token_status(self, token: str) -> str:
        return self.tokens.get(token, "Accepted")

    def calls(self, action: str | None = None) -> list[dict[str, Any]]:
        return [f[3] for f in self.frames if f[0] == 2 and (action is None or f[2] == action)]

    def call_frames(self, action: str) -> list[list]:
        """Whole CALL frames [2, messageId, action, payload] received for `action`."""
        return [f for f in self.frames if f[0] == 2 and f[2] == action]

    def actions(self) -> list[str]:
        return [f[2] for f in self.frames if f[0] == 2]

    async def wait_for(self, predicate: Callable[["Csms"], bool], what: str = "condition") -> None:
        async def waiter():
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))
        try:
            await asyncio.wait_for(waiter(), WAIT_S)
        except TimeoutError:
            raise AssertionError(f"CSMS never saw {what}; actions so far: {self.actions()}") from None

    def _auth(self, connection, request):
        if self.password is None:
            return None
        expected = "Basic " + base64.b64encode(f"{request.path.rsplit('/', 1)[-1]}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            self.auth_failures += 1
            return Response(401, "Unauthorized", Headers([("WWW-Authenticate", 'Basic realm="csms"')]), b"")
        return None

    async def _handler(self, ws):
        ident = ws.request.path.rsplit("/", 1)[-1]
        self.identities.append(ident)
        peer = PEERS[self.version](ident, ws, self)
        self.peer = peer
        self._connected.set()
        await self._notify()
        try:
            await peer.start()
        except Exception:  # noqa: BLE001 - connection closed
            pass

    async def start(self) -> None:
        self._server = await serve(self._handler, "127.0.0.1", self.port,
                                   subprotocols=[f"ocpp{self.version}"], process_request=self._auth,
                                   ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._connected.clear()
        self.peer = None
        self._server.close()
        await self._server.wait_closed()

    async def connected(self):
        await asyncio.wait_for(self._connected.wait(), WAIT_S)
        return self.peer

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context else "ws"
        return f"{scheme}://{'localhost' if self.ssl_context else '127.0.0.1'}:{self.port}/ocpp"

    async def request(self, action: str, payload: dict[str, Any]) -> list:
        """Send a raw CALL to the station and return its answer frame (CALLRESULT/CALLERROR)."""
        peer = await self.connected()
        uid = f"csms-{len(self.sent)}"
        await peer._send(json.dumps([2, uid, action, payload]))
        await self.wait_for(lambda c: any(f[1] == uid for f in c.frames if f[0] in (3, 4)), f"answer to {action}")
        return next(f for f in self.frames if f[0] in (3, 4) and f[1] == uid)

    async def send_raw(self, text: str) -> None:
        peer = await self.connected()
        await peer._connection.send(text)


class FakeStation:
    """StationApi for protocol tests: records remote commands, exposes one EVSE."""

    def __init__(self, *, clock: Clock | None = None, evses: int = 1, charge_mode=ChargeMode.DC):
        self.station_id = "CS-TEST-1"
        self.vendor, self.model = "freev2g-test", "FakeStation"
        self._clock = clock or Clock(speed=50.0)
        self._schedules = ScheduleManager()
        self.listeners = []
        self.sessions: dict[int, SessionSnapshot] = {}
        self.calls: list[tuple] = []
        self.accept_remote = True
        self._evses = [EvseInfo(index=i, evse_id=f"DE*FV2*E{i}", connector_id=1, charge_mode=charge_mode,
                                max_power_W=50_000.0, max_current_A=125.0, nominal_voltage_V=230.0, phases=3,
                                bidirectional=False) for i in range(1, evses + 1)]
        for e in self._evses:
            self._schedules.set_evse_maximum(e.index, max_power_W=e.max_power_W)

    @property
    def clock(self):
        return self._clock

    @property
    def schedules(self):
        return self._schedules

    @property
    def journal(self):
        return None

    def subscribe(self, listener):
        self.listeners.append(listener)

    def emit(self, event):
        for listener in self.listeners:
            listener(event)

    def evses(self):
        return list(self._evses)

    def session(self, evse_index):
        return self.sessions.get(evse_index)

    async def remote_start(self, evse_index, id_token):
        self.calls.append(("remote_start", evse_index, id_token))
        return self.accept_remote

    async def present_id_token(self, evse_index, id_token, token_type="ISO14443"):
        self.calls.append(("present", evse_index, id_token, token_type))

    async def reject_authorization(self, evse_index, reason=""):
        self.calls.append(("reject", evse_index, reason))
        return True

    async def remote_stop(self, evse_index, cause=None):
        self.calls.append(("remote_stop", evse_index, cause))
        return True

    async def unlock_connector(self, evse_index):
        self.calls.append(("unlock", evse_index))
        return True

    async def set_available(self, evse_index, available):
        self.calls.append(("available", evse_index, available))
        return True


@pytest.fixture
def make_csms():
    return Csms


@pytest.fixture
def make_station():
    return FakeStation


def dc_session_events(session_id: str, *, start: datetime | None = None, samples: int = 3,
                      iso_session_id: str = "A1B2C3D4E5F60708", step_s: float = 60.0):
    """A DC ISO 15118-2 session with SCALE data, as the EvseManager reports it."""
    from datetime import timedelta

    from freev2g.model.enums import ChargeProgress, EnergyTransferMode, PaymentOption, Protocol, StopCause
    from freev2g.model.events import (Authorized, EVNeedsReceived, MeterSample, PluggedIn, PowerDelivery,
                                      SessionFinished, SessionStarted, Unplugged)
    from freev2g.model.params import DCEVChargeParameter, DCEVStatus, ScaleNeeds

    t0 = start or datetime.now(timezone.utc)
    t = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    common = dict(session_id=session_id, evse_index=1)
    scale = ScaleNeeds(ev_max_energy_request_Wh=40_000, ev_min_energy_request_Wh=10_000, ev_max_soc_pct=80,
                       ev_min_soc_pct=20, ev_max_power_W=50_000)
    dc = DCEVChargeParameter(status=DCEVStatus(soc_pct=30), ev_max_current_A=125, ev_max_voltage_V=450,
                             ev_max_power_W=50_000, ev_energy_capacity_Wh=60_000, ev_energy_request_Wh=30_000,
                             full_soc_pct=100, bulk_soc_pct=80, departure_time_s=7200, scale=scale)
    events = [
        PluggedIn(timestamp=t(0), **common),
        SessionStarted(timestamp=t(1), protocol=Protocol.ISO15118_2, iso_session_id=iso_session_id, **common),
        Authorized(timestamp=t(2), method=PaymentOption.EXTERNAL_PAYMENT, id_token=None, **common),
        EVNeedsReceived(timestamp=t(3), mode=EnergyTransferMode.DC_EXTENDED, dc=dc, max_entries=12, **common),
        PowerDelivery(timestamp=t(4), progress=ChargeProgress.START, tuple_id=1, **common),
    ]
    for i in range(samples):
        events.append(MeterSample(timestamp=t(5 + step_s * (i + 1)), energy_import_Wh=500.0 * (i + 1),
                                  power_W=30_000.0, soc_pct=30.0 + i, **common))
    end = 5 + step_s * (samples + 1)
    events += [
        PowerDelivery(timestamp=t(end), progress=ChargeProgress.STOP, **common),
        SessionFinished(timestamp=t(end + 1), cause=StopCause.EV_STOP, energy_import_Wh=500.0 * samples,
                        start_soc_pct=30.0, end_soc_pct=30.0 + samples, **common),
        Unplugged(timestamp=t(end + 2), **common),
    ]
    return events


@pytest.fixture
def session_events():
    return dc_session_events


@pytest.fixture
def uplink_config(tmp_path):
    from freev2g_ocpp import OcppConfig

    def make(url: str, **kw):
        kw.setdefault("queue_path", str(tmp_path / "ocpp-queue.sqlite"))
        kw.setdefault("reconnect_min_s", 0.5)
        kw.setdefault("reconnect_max_s", 2.0)
        kw.setdefault("meter_interval_s", 60)
        kw.setdefault("response_timeout_s", 5.0)
        return OcppConfig(url=url, **kw)

    return make


@pytest.fixture
def ocpp_env(make_csms, make_station, uplink_config):
    """`async with ocpp_env(version) as (csms, station, uplink):` a booted uplink."""
    from contextlib import asynccontextmanager

    from freev2g_ocpp import OcppUplink

    @asynccontextmanager
    async def env(version: str = "2.0.1", **cfg):
        csms = make_csms(version)
        await csms.start()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url, version=version, **cfg), station)
        await uplink.start()
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot + status")
            yield csms, station, uplink
        finally:
            await uplink.stop()
            await csms.stop()

    return env
