"""OcppUplink: the object the `ocpp` uplink factory returns (hookspecs: `async start()`,
`async stop()`).

Life cycle: subscribe to the station's session events -> messages committed to the outbox ->
one connection task that connects (security profile 0/1/2), sends BootNotification until
Accepted, reports every EVSE's status, then runs the receive loop, the outbox sender and the
heartbeat side by side. Any of them failing (connection lost, no answer) closes the socket;
the task waits (backoff, station clock) and connects again; pending messages stay in sqlite.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from freev2g.model.enums import StopCause
from freev2g.model.events import AuthorizationRequested, SessionEvent, SessionFinished, Unplugged
from freev2g.station import EvseInfo, StationApi
from ocpp.exceptions import OCPPError
from ocpp.messages import MessageType
from websockets.exceptions import InvalidHandshake, WebSocketException

from .authorize import CsmsAuthorization, authorize_payload, authorize_status
from .config import OcppConfig
from .handlers16 import Handlers16
from .handlers201 import Handlers201
from .mapping16 import EventMapper16
from .mapping201 import EventMapper21, EventMapper201
from .mapping_base import iso
from .outbox import Entry, Outbox
from .peer import CallErrorReceived, StationPeer
from .transport import OcppConnectError, open_connection
from .variables import Variables

log = logging.getLogger(__name__)

def _raise_if_cancelled() -> None:
    """asyncio.wait_for in Python 3.11 can swallow a cancellation when the awaited answer
    arrives at the same moment (the library's call() uses it); do not lose it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


MAPPERS = {"1.6": EventMapper16, "2.0.1": EventMapper201, "2.1": EventMapper21}


class OcppUplink:
    def __init__(self, cfg: OcppConfig, station: StationApi):
        self.cfg = cfg
        self.station = station
        self.version = cfg.version
        self.station_id = cfg.station_id or station.station_id
        self.outbox = Outbox(cfg.queue_path)
        vendor, model = station.vendor, station.model
        self.variables = Variables(cfg, self.outbox, self.station_id, vendor, model,
                                   on_change=self._variable_changed)
        self.mapper = MAPPERS[cfg.version](
            cfg, self.outbox, online=lambda: self.connected,
            nominal_voltage_V=lambda i: (self.evse_info(i).nominal_voltage_V if self.evse_info(i) else 230.0),
            connector_id=lambda i: (self.evse_info(i).connector_id if self.evse_info(i) else 1),
        )
        self.mapper.station_vendor, self.mapper.station_model = vendor, model
        self.mapper.meter_interval_s = self.variables.get_int("SampledDataCtrlr", "TxUpdatedInterval")
        self.handlers = (Handlers16 if cfg.version == "1.6" else Handlers201)(self)
        self.authorization = CsmsAuthorization(self)
        self._inflight: dict[str, Entry] = {}  # OCPP-J messageId -> outbox entry awaiting its answer
        self.connected = False
        self.peer: StationPeer | None = None
        self.unavailable: set[int] = set()
        self.mapper.unavailable = self.unavailable  # StatusNotification says Unavailable, not Available
        self.pending_unavailable: set[int] = set()  # ChangeAvailability Inoperative answered Scheduled
        self.reset_on_idle: str | None = None  # "OnIdle" Reset answered Scheduled
        self.boot_reason = "PowerUp"
        self.heartbeat_s = float(self.variables.get_int("OCPPCommCtrlr", "HeartbeatInterval"))
        self._wake: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None
        self._state_changed: asyncio.Event | None = None
        self.connection_state = "not started"
        self._task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._ws = None
        self._stopping = False

    # -- station side ---------------------------------------------------------------------------

    def now(self):
        return self.station.clock.now()

    def evse_indices(self) -> list[int]:
        return [e.index for e in self.station.evses()]

    def evse_info(self, index: int) -> EvseInfo | None:
        return next((e for e in self.station.evses() if e.index == index), None)

    def max_power_W(self, evse_index: int) -> float:
        """The EVSE's rated power, or the station's (sum over EVSEs) for index 0."""
        evses = [e for e in self.station.evses() if evse_index in (0, e.index)]
        return sum(e.max_power_W for e in evses) if evses else 0.0

    def on_event(self, event: SessionEvent) -> None:
        """Station event bus listener: map, commit, wake the sender. Never blocks or raises."""
        self.mapper.handle(event)
        if self._progress is not None:
            self._progress.set()
        if isinstance(event, AuthorizationRequested):
            self.authorization.on_requested(event)
        if self._wake is not None:
            self._idle.clear()
            self._wake.set()
        if isinstance(event, (SessionFinished, Unplugged)) and event.evse_index in self.pending_unavailable:
            # G03.FR.05 / 1.6 5.2: the scheduled change takes effect once the transaction ended.
            self.pending_unavailable.discard(event.evse_index)
            self._spawn(self._apply_availability(event.evse_index, False))
        if isinstance(event, SessionFinished) and self.reset_on_idle:
            if all(self.station.session(i) is None or self.station.session(i).session_id == event.session_id
                   for i in self.evse_indices()):
                self.reset_on_idle = None
                self._spawn(self.soft_reset("RemoteReset"))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._state_changed = asyncio.Event()
        self._progress = asyncio.Event()
        now = iso(self.now())
        dropped = self.outbox.drop_volatile(now)
        if dropped:
            log.info("OCPP: dropped %d volatile messages left from a previous run", dropped)
        if self.cfg.end_orphan_transactions:
            self._end_orphans()
        self.station.subscribe(self.on_event)
        self._task = asyncio.create_task(self._run(), name=f"ocpp-{self.station_id}")

    def _end_orphans(self) -> None:
        for tx in self.outbox.open_transactions():
            snap = self.station.session(tx.evse_index)
            if snap is not None and snap.session_id == tx.session_id:
                continue
            log.warning("OCPP: transaction %s was left open by a previous run; ending it", tx.session_id)
            self.mapper.handle(SessionFinished(
                session_id=tx.session_id, evse_index=tx.evse_index, timestamp=self.now(),
                cause=StopCause.PROCESS_SHUTDOWN, energy_import_Wh=tx.energy_import_Wh,
                energy_export_Wh=tx.energy_export_Wh))

    async def stop(self) -> None:
        """Send what is queued (TransactionEvent Ended, the last StatusNotification; bounded by
        `stop_drain_s`, a warning says when it gives up), then close."""
        if self._task is not None and not self._stopping:
            await self.drain(self.cfg.stop_drain_s)
        self._stopping = True
        await self.authorization.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._task is not None:
            while not self._task.done():
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
        self.outbox.close()

    # -- connection ----------------------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.cfg.reconnect_min_s
        while not self._stopping:
            try:
                self._ws = await open_connection(self.cfg, self.station_id)
            except (OSError, OcppConnectError, InvalidHandshake, WebSocketException, asyncio.TimeoutError) as exc:
                self._set_state(f"connect failed: {exc}")
                log.warning("OCPP: cannot connect to %s: %s (retry in %.1f s)", self.cfg.url, exc, delay)
                await self.station.clock.sleep(delay)
                delay = min(delay * 2, self.cfg.reconnect_max_s)
                continue
            delay = self.cfg.reconnect_min_s
            try:
                await self._serve(self._ws)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect
                log.warning("OCPP: connection to %s ended: %s: %s", self.cfg.url, type(exc).__name__, exc)
            finally:
                self.connected = False
                self.peer = None
                self._set_state("disconnected")
                await self._ws.close()
            if not self._stopping:
                await self.station.clock.sleep(delay)

    async def _serve(self, ws) -> None:
        peer = StationPeer(self.station_id, ws, self.version, self.handlers.routes(),
                           response_timeout_s=self.cfg.response_timeout_s, on_answer=self._on_answer)
        self.peer = peer
        receiver = asyncio.create_task(peer.start(), name="ocpp-recv")
        tasks = [receiver]
        try:
            boot = asyncio.create_task(self._boot(peer), name="ocpp-boot")
            done, _ = await asyncio.wait({receiver, boot}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                boot.cancel()
                receiver.result()
                raise ConnectionError("CSMS closed the connection during BootNotification")
            boot.result()
            self.connected = True
            self._set_state("connected")
            self.boot_reason = "PowerUp"
            self._report_status()
            tasks += [asyncio.create_task(self._send_loop(peer), name="ocpp-send"),
                      asyncio.create_task(self._heartbeat(peer), name="ocpp-heartbeat")]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
            raise ConnectionError("connection tasks ended")
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _boot(self, peer: StationPeer) -> None:
        while True:
            res = await peer.call_raw("BootNotification", self.mapper.boot_notification(self.boot_reason))
            interval = int(res.get("interval") or res.get("heartbeatInterval") or 0)
            if res["status"] == "Accepted":
                if interval > 0:  # the CSMS sets the heartbeat interval (B01.FR.04 / 1.6 4.2)
                    self.variables.set(self.variables.find("OCPPCommCtrlr", "HeartbeatInterval"), str(interval))
                return
            log.info("OCPP: BootNotification %s; retry in %s s", res["status"], interval or 10)
            await self.station.clock.sleep(interval or 10)

    async def _heartbeat(self, peer: StationPeer) -> None:
        while True:
            await self.station.clock.sleep(self.heartbeat_s)
            await peer.call_raw("Heartbeat", {})
            _raise_if_cancelled()

    async def _send_loop(self, peer: StationPeer) -> None:
        assert self._wake is not None
        while True:
            entry = self.outbox.next_pending()
            if entry is None:
                self._wake.clear()
                if self.outbox.next_pending() is None:
                    self._idle.set()
                    await self._wake.wait()
                continue
            await self._deliver(peer, entry)
            _raise_if_cancelled()

    async def _deliver(self, peer: StationPeer, entry: Entry) -> None:
        """Send one queued message with its own messageId (fixed at commit, the same on every
        resend). The answer is recorded by `_on_answer` when the receive loop reads it, so a
        cancellation right after it arrived cannot cause a resend."""
        payload = self.mapper.resolve(entry)
        if payload is None:
            self._finish(entry, "rejected", {"error": "depends on a transaction the CSMS refused"})
            return
        self.outbox.mark_attempt(entry.id)
        self._inflight[entry.message_id] = entry
        try:
            result = await peer.call_raw(entry.action, payload, unique_id=entry.message_id)
        except CallErrorReceived as exc:
            if self._finish(entry, "rejected", {"code": exc.code, "description": exc.description,
                                                "details": exc.details}):
                log.warning("OCPP: CSMS refused %s #%d: %s", entry.action, entry.id, exc)
            else:
                log.warning("OCPP: %s #%d: the CSMS's answer does not validate (kept as delivered): %s",
                            entry.action, entry.id, exc)
            return
        except OCPPError as exc:  # our own message failed the schema: a bug; keep it for inspection
            log.error("OCPP: %s #%d does not validate, not sent: %s", entry.action, entry.id, exc)
            self._finish(entry, "rejected", {"code": exc.code, "details": exc.details})
            return
        finally:
            self._inflight.pop(entry.message_id, None)
        self._finish(entry, "delivered", result)

    def _on_answer(self, msg) -> None:
        """Receive loop: a CALLRESULT / CALLERROR for a queued message is final right away."""
        entry = self._inflight.get(msg.unique_id)
        if entry is None:
            return
        if msg.message_type_id == MessageType.CallResult:
            self._finish(entry, "delivered", json.loads(json.dumps(msg.payload, default=float)))
        else:
            self._finish(entry, "rejected", {"code": msg.error_code, "description": msg.error_description,
                                             "details": msg.error_details})

    def _finish(self, entry: Entry, state: str, response: Any) -> bool:
        """Mark a message final once (the receive loop or the sender, whichever is first)."""
        if not self.outbox.mark_done(entry.id, state, response, iso(self.now())):
            return False
        if self._progress is not None:
            self._progress.set()
        if state == "delivered":
            try:
                self.mapper.delivered(entry, response)
            except Exception:  # noqa: BLE001 - e.g. a CALLRESULT without the field we need
                log.exception("OCPP: could not use the answer to %s #%d: %r", entry.action, entry.id, response)
        return True

    # -- helpers used by handlers ----------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        self.connection_state = state
        if self._state_changed is not None:
            self._state_changed.set()
        if self._progress is not None:
            self._progress.set()
        try:
            self.outbox.kv_set("connection", f"{state} at {iso(self.now())}")
        except Exception:  # noqa: BLE001 - closed on stop
            pass

    def _report_status(self, only: int | None = None) -> None:
        for i in self.evse_indices():
            if only is not None and i != only:
                continue
            snap = self.station.session(i)
            self.mapper.status(i, self.mapper.connector_status(snap, i in self.unavailable), self.now())
        if self._wake is not None:
            self._idle.clear()
            self._wake.set()

    def in_transaction(self, evse_index: int) -> bool:
        return self.station.session(evse_index) is not None or any(
            tx.evse_index == evse_index for tx in self.outbox.open_transactions())

    async def change_availability(self, targets: list[int], available: bool) -> str:
        """ChangeAvailability (2.0.1 G03/G04, 1.6 5.2): Operative at once; Inoperative at once
        on an idle EVSE, else "Scheduled": charging goes on and the EVSE becomes unavailable
        when its transaction ends (on_event)."""
        scheduled = False
        for t in targets:
            if not available and self.in_transaction(t):
                self.pending_unavailable.add(t)
                scheduled = True
                continue
            self.pending_unavailable.discard(t)
            await self._apply_availability(t, available)
        return "Scheduled" if scheduled else "Accepted"

    async def _apply_availability(self, evse_index: int, available: bool) -> None:
        await self.station.set_available(evse_index, available)
        (self.unavailable.discard if available else self.unavailable.add)(evse_index)
        self._report_status(evse_index)

    def trigger(self, what: str, evse_index: int | None) -> None:
        """TriggerMessage follow-up (after the CALLRESULT is sent)."""
        now = self.now()
        if what == "BootNotification":
            self.mapper.enqueue("BootNotification", self.mapper.boot_notification("Triggered"), now, durable=False)
        elif what == "Heartbeat":
            self.mapper.enqueue("Heartbeat", {}, now, durable=False)
        elif what == "StatusNotification":
            self._report_status(evse_index)
        else:
            for i in self.evse_indices():
                if evse_index is None or i == evse_index:
                    self.mapper.triggered_meter(what, i, self.station.session(i), now)
        if self._wake is not None:
            self._idle.clear()
            self._wake.set()

    async def soft_reset(self, reason: str, *, stopped_reason: str | None = None) -> None:
        """Reset: stop every session (stoppedReason `stopped_reason`, e.g. 2.0.1 ImmediateReset,
        1.6 SoftReset), wait (bounded by `stop_drain_s`) until the sessions ended and every queued
        message (TransactionEvent Ended, StatusNotification) is answered, then reconnect with
        BootNotification(reason). The process itself keeps running (restarting it is the
        service manager's job)."""
        busy = [i for i in self.evse_indices() if self.station.session(i) is not None]
        for i in busy:
            if stopped_reason:
                self.mapper.stop_reason[i] = stopped_reason
            await self.station.remote_stop(i, StopCause.REMOTE_STOP)
        ended = await self._wait_until(lambda: not any(self.in_transaction(i) for i in busy), self.cfg.stop_drain_s)
        if not ended:
            log.warning("OCPP: Reset: sessions on EVSE %s did not end within %.0f s; resetting anyway",
                        [i for i in busy if self.in_transaction(i)], self.cfg.stop_drain_s)
        await self.drain(self.cfg.stop_drain_s, what="Reset")
        self.boot_reason = reason
        if self._ws is not None:
            await self._ws.close()

    async def _wait_until(self, predicate, timeout_s: float) -> bool:
        """Wait (wall clock, at most `timeout_s`) for `predicate()`; re-checked at every station
        event and every answer from the CSMS."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate():
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), min(left, 0.5))
            except TimeoutError:
                pass
        return True

    async def drain(self, timeout_s: float, *, what: str = "stop") -> bool:
        """Send what is queued before `what` closes the connection: wait while connected until
        the queue is empty, at most `timeout_s`. Says so (warning) when it gives up; what is
        left stays in the sqlite queue for the next connection."""
        if self.outbox.depth() == 0:
            return True
        if not self.connected:
            log.warning("OCPP: %s: not connected to %s; %d queued messages kept in %s for the next connection",
                        what, self.cfg.url, self.outbox.depth(), self.cfg.queue_path)
            return False
        self._kick()
        await self._wait_until(lambda: self.outbox.depth() == 0 or not self.connected, timeout_s)
        left = self.outbox.depth()
        if left:
            log.warning("OCPP: %s: gave up after %.0f s with %d messages not yet answered by %s; kept in %s "
                        "for the next connection", what, timeout_s, left, self.cfg.url, self.cfg.queue_path)
        return left == 0

    def _kick(self) -> None:
        if self._wake is not None:
            self._idle.clear()
            self._wake.set()

    def _variable_changed(self, name: str, value: str) -> None:
        if name == "OCPPCommCtrlr.HeartbeatInterval":
            self.heartbeat_s = float(value)
        elif name == "SampledDataCtrlr.TxUpdatedInterval":
            self.mapper.meter_interval_s = float(value)

    # -- public ---------------------------------------------------------------------------------

    async def authorize(self, evse_index: int, id_token: str, *, token_type: str = "ISO14443") -> bool:
        """Ask the CSMS about an id token (2.0.1 C01 Authorize / 1.6 Authorize); on Accepted,
        tell the station to start. Needs a live connection (the AuthorizationRequested path,
        `authorization`, also waits for one)."""
        if self.peer is None or not self.connected:
            return False
        res = await self.peer.call_raw("Authorize", authorize_payload(self.version, id_token, token_type))
        if authorize_status(res) != "Accepted":
            return False
        self.mapper.pending_id_token[evse_index] = id_token
        self.mapper.token_types[id_token] = token_type
        return await self.station.remote_start(evse_index, id_token)

    async def wait_idle(self) -> None:
        """Return once connected with nothing left to send (every queued message answered)."""
        while True:
            await self._idle.wait()
            if self.connected and self.outbox.depth() == 0:
                return
            self._idle.clear()

    async def wait_state(self, predicate) -> str:
        """Wait until `predicate(connection_state)` holds ("connected", "disconnected",
        "connect failed: ..."); returns the state."""
        assert self._state_changed is not None, "start() first"
        while not predicate(self.connection_state):
            self._state_changed.clear()
            await self._state_changed.wait()
        return self.connection_state

    def status(self) -> dict[str, Any]:
        return {"station_id": self.station_id, "url": self.cfg.url, "version": self.version,
                "security_profile": self.cfg.security_profile, "connected": self.connected,
                "queue_depth": self.outbox.depth(), "last_delivery": self.outbox.kv_get("last_delivery")}
