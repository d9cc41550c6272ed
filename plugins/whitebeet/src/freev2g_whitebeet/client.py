"""HCI client: request ids, response matching, busy retries, timeouts, notifications
(whitebeet-hci.md 2.4, 2.5, 2.6, 2.7, 7.8).

Request ids run 1..254 and wrap, never 0xFF (reserved for notifications). A response is matched
by (module, sub-id, request id); late or duplicated responses find no waiter and are counted and
dropped. A one-byte 0x01 (busy) answer is resent with a new request id after a pause.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from attrs import define, frozen

from freev2g.framing import Frame, FramingError, encode_frame

from .codec import HciCodecError
from .messages import NOTIFICATION_REQUEST_ID, Catalogue, Kind, MessageSpec, Module, Response, Result, catalogue
from .messages.spec import module_label
from .transport.base import Transport, TransportClosed

log = logging.getLogger(__name__)


class HciError(Exception):
    """Base of host-side HCI failures."""


class CommandFailed(HciError):
    def __init__(self, spec: MessageSpec, code: int):
        try:
            label = Result(code).name
        except ValueError:
            label = "module specific"
        super().__init__(f"{spec.where}: result 0x{code:02X} ({label})")
        self.spec, self.code = spec, code


class CommandTimeout(HciError):
    def __init__(self, spec: MessageSpec, attempts: int, timeout_s: float):
        super().__init__(f"{spec.where}: no response after {attempts} attempt(s) of {timeout_s:g} s")
        self.spec = spec


class ModuleBusy(HciError):
    pass


class FramingErrorReport(HciError):
    """Module 0xFF report (2.7) tied to one of our requests."""


class ConnectionLost(HciError):
    pass


@frozen(kw_only=True)
class ClientConfig:
    response_timeout_s: float = 5.0  # 7.8 (FreeV2G waits 5 s)
    timeout_retries: int = 1  # resends after a timeout (new request id)
    busy_retry_delay_s: float = 0.05
    busy_retries: int = 200
    checksum: bool = True


@frozen
class Notification:
    spec: MessageSpec
    data: Any
    request_id: int

    @property
    def name(self) -> str:
        return self.spec.name


@define
class ClientStats:
    sent: int = 0
    received: int = 0
    bad_frames: int = 0
    unknown: int = 0
    unmatched: int = 0
    busy: int = 0
    timeouts: int = 0
    framing_reports: int = 0


class HciClient:
    def __init__(self, transport: Transport, *, clock, cat: Catalogue | None = None,
                 config: ClientConfig | None = None, name: str = "whitebeet"):
        self.transport = transport
        self.clock = clock
        self.cat = cat or catalogue()
        self.config = config or ClientConfig()
        self.name = name
        self.stats = ClientStats()
        self._rid = 0
        self._pending: dict[tuple[int, int, int], asyncio.Future] = {}
        self._listeners: list[Callable[[Notification], None]] = []
        self._reader: asyncio.Task | None = None
        self._direct = False
        self._lost: BaseException | None = None
        self._closed_listeners: list[Callable[[BaseException], None]] = []

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._reader is not None or self._direct:
            return
        direct = getattr(self.transport, "set_receiver", None)
        if direct is not None:  # Ethernet: frames arrive from the socket callback, no reader task
            self._direct = True
            direct(self._on_datagram, self._mark_lost)
            return
        self._reader = asyncio.get_running_loop().create_task(self._read_loop(), name=f"{self.name}-reader")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._reader = None
        await self.transport.close()
        self._fail_all(ConnectionLost(f"{self.name}: closed"))

    def subscribe(self, listener: Callable[[Notification], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Notification], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def on_lost(self, listener: Callable[[BaseException], None]) -> None:
        self._closed_listeners.append(listener)

    @property
    def connected(self) -> bool:
        return self._lost is None

    # ---- requests -----------------------------------------------------------------------
    def next_request_id(self) -> int:
        """1..254, wrapping; never 0xFF (2.4)."""
        self._rid = self._rid % 254 + 1
        return self._rid

    async def request(self, name: str, value: Any = None, *, accept: tuple[int, ...] = (Result.OK,),
                      timeout_s: float | None = None, **fields: Any) -> Response:
        spec = self.cat[name]
        payload = spec.encode(value if value is not None else fields)
        timeout_s = self.config.response_timeout_s if timeout_s is None else timeout_s
        attempts = busy = 0
        while True:
            if self._lost is not None:
                raise ConnectionLost(f"{self.name}: {self._lost}")
            rid = self.next_request_id()
            key = (spec.module, spec.sub if spec.module != Module.FRAMING else 0x00, rid)
            fut: asyncio.Future = asyncio.get_running_loop().create_future()
            self._pending[key] = fut
            try:
                await self._send(spec.module, spec.sub, rid, payload)
                attempts += 1
                try:
                    raw = await self.clock.wait_for(asyncio.shield(fut), timeout_s)
                except TimeoutError:
                    self.stats.timeouts += 1
                    if attempts > self.config.timeout_retries:
                        raise CommandTimeout(spec, attempts, timeout_s) from None
                    log.warning("%s: %s timed out, resending", self.name, spec.where)
                    continue
                except FramingErrorReport as exc:  # 8.1 #4: the module did not execute it
                    if attempts > self.config.timeout_retries:
                        raise
                    log.warning("%s: %s: %s, resending", self.name, spec.where, exc)
                    continue
            finally:
                self._pending.pop(key, None)
            if spec.kind is Kind.COMMAND and spec.module == Module.FRAMING:
                return Response(spec=spec, code=Result.OK, data=self.cat["framing.ping_reply"].decode(raw))
            if raw == bytes([Result.BUSY]) and Result.BUSY not in accept:
                self.stats.busy += 1
                busy += 1
                if busy > self.config.busy_retries:
                    raise ModuleBusy(f"{spec.where}: still busy after {busy} attempts")
                await self.clock.sleep(self.config.busy_retry_delay_s)
                continue
            response = spec.decode_response(raw)
            if response.code not in accept:
                raise CommandFailed(spec, response.code)
            return response

    async def call(self, name: str, value: Any = None, **fields: Any) -> Any:
        """request() and return the result data (None for commands without result data)."""
        return (await self.request(name, value, **fields)).data

    async def _send(self, module: int, sub: int, rid: int, payload: bytes) -> None:
        frame = encode_frame(module, sub, rid, payload, checksum=self.config.checksum)
        try:
            await self.transport.send(frame)
        except (TransportClosed, OSError) as exc:
            self._mark_lost(exc)
            raise ConnectionLost(f"{self.name}: send failed: {exc}") from exc
        self.stats.sent += 1

    # ---- receive ------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.transport.recv()
                self._on_datagram(data)
        except asyncio.CancelledError:
            raise
        except (TransportClosed, OSError) as exc:
            self._mark_lost(exc)
        except Exception as exc:  # noqa: BLE001 - never die silently
            log.exception("%s: reader failed", self.name)
            self._mark_lost(exc)

    def _on_datagram(self, data: bytes) -> None:
        try:
            frame = Frame.from_bytes(data)
        except FramingError as exc:
            self.stats.bad_frames += 1
            log.warning("%s: dropped bad frame (%s): %s", self.name, exc, data[:16].hex(" "))
            return
        self.stats.received += 1
        self.on_frame(frame)

    def on_frame(self, frame: Frame) -> None:
        module, sub, rid = frame.module_id, frame.sub_id, frame.request_id
        if module == Module.FRAMING_ERROR:
            self.stats.framing_reports += 1
            for key, fut in list(self._pending.items()):
                if key[2] == rid and not fut.done():
                    fut.set_exception(FramingErrorReport(f"module reported framing error 0x{sub:02X} for request {rid}"))
                    return
            log.warning("%s: framing error report 0x%02X (request id %d)", self.name, sub, rid)
            return
        try:
            spec = self.cat.from_module(module, sub)
        except HciCodecError as exc:
            self.stats.unknown += 1
            log.warning("%s: %s", self.name, exc)
            return
        if spec.kind is Kind.NOTIFICATION:
            try:
                data = spec.decode(frame.payload)
            except HciCodecError as exc:
                self.stats.bad_frames += 1
                log.warning("%s: malformed notification: %s", self.name, exc)
                return
            if rid != NOTIFICATION_REQUEST_ID:
                log.debug("%s: notification %s with request id %d", self.name, spec.name, rid)
            note = Notification(spec, data, rid)
            for listener in list(self._listeners):
                try:
                    listener(note)
                except Exception:  # noqa: BLE001
                    log.exception("%s: notification listener failed", self.name)
            return
        key = (module, 0x00 if spec.kind is Kind.REPLY else sub, rid)
        fut = self._pending.get(key)
        if fut is None or fut.done():
            self.stats.unmatched += 1
            log.debug("%s: unmatched response %s rid %d", self.name, module_label(module), rid)
            return
        fut.set_result(bytes(frame.payload))

    def _mark_lost(self, exc: BaseException) -> None:
        if self._lost is None:
            self._lost = exc
            self._fail_all(ConnectionLost(f"{self.name}: {exc}"))
            for listener in list(self._closed_listeners):
                try:
                    listener(exc)
                except Exception:  # noqa: BLE001
                    log.exception("%s: lost listener failed", self.name)

    def _fail_all(self, exc: BaseException) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(exc)
