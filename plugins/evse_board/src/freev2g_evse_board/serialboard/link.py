"""The host end of the board UART protocol (PROTOCOL.md) over pyserial.

One SerialBoardLink per port, shared by the bsp/imd/power_supply/connector_lock/power_meter
drivers of that board. It keeps a cache of what the board reported (CP, relay, lock, PP,
readings, faults), matches responses to commands by request id, sends a heartbeat, and reports
CommunicationFault when no valid frame arrived within `heartbeat_timeout_s`. Garbage on the
line is counted (decoder stats, protocol_errors) and skipped; nothing in here lets a bad frame
or a dead port raise out of the event loop callbacks.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import serial
from freev2g.boards import (
    BoardEvent,
    CommunicationFault,
    DeviceFault,
    PowerMeterReading,
    PowerSupplyReading,
    VendorError,
)
from freev2g.clock import Clock
from freev2g.framing import FrameDecoder
from freev2g.model.enums import CPState

from . import protocol as p

log = logging.getLogger(__name__)

FAULT_NAMES = {
    p.FaultCode.IMD_FAULT: "imd_fault", p.FaultCode.OVER_VOLTAGE: "over_voltage",
    p.FaultCode.PSU_FAULT: "psu_fault", p.FaultCode.LOCK_FAILURE: "lock_failure",
    p.FaultCode.CP_SHORT: "cp_short", p.FaultCode.MISSING_DIODE: "missing_diode",
    p.FaultCode.RCD_TRIP: "rcd_trip", p.FaultCode.CONTACTOR_WELDED: "contactor_welded",
    p.FaultCode.HOST_TIMEOUT: "host_timeout", p.FaultCode.OTHER: "other",
}
# which driver hears which fault (plus "communication" for all)
FAULT_SOURCES = {
    "imd_fault": "imd", "over_voltage": "power_supply", "psu_fault": "power_supply",
    "lock_failure": "connector_lock",
}
SOURCES = ("bsp", "imd", "power_supply", "connector_lock", "power_meter")


class SerialBoardLink:
    def __init__(self, port: str, *, baudrate: int = 115200, heartbeat_timeout_s: float = 1.0,
                 command_timeout_s: float = 2.0, clock: Any = None):
        if not heartbeat_timeout_s > 0:
            raise ValueError(f"heartbeat_timeout_s must be > 0, got {heartbeat_timeout_s!r}")
        self.port, self.baudrate = port, baudrate
        self.heartbeat_timeout_s, self.command_timeout_s = heartbeat_timeout_s, command_timeout_s
        self.clock = clock or Clock()
        self.decoder = FrameDecoder(max_payload=p.MAX_PAYLOAD)
        self.protocol_errors = 0
        self.board_name = ""
        self.connected = False  # True while valid frames arrive within the heartbeat timeout
        self.cp_state: CPState | None = None
        self.cp_levels_V: tuple[float, float | None] = (0.0, None)
        self.duty_pct = 100.0
        self.contactor_closed = False
        self.phases = 0
        self.locked = False
        self.cable_rating_A: float | None = None
        self.meter: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
        self.psu: tuple[float, float] = (0.0, 0.0)
        self.faults: set[str] = set()
        self._listeners: dict[str, list[Callable[[BoardEvent], None]]] = {s: [] for s in SOURCES}
        self._serial: serial.Serial | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._last_rx = 0.0
        self._watchdog: asyncio.Task | None = None
        self._version_ok = True
        self._ever_connected = False
        self._connect_waiters: list[asyncio.Future] = []

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Open the port and attach to the running loop (idempotent)."""
        if self._serial is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0, write_timeout=0)
        except (serial.SerialException, OSError) as exc:
            raise CommunicationFault(f"cannot open {self.port}: {exc}", device="serial") from exc
        loop.add_reader(self._serial.fileno(), self._on_readable)
        self._last_rx = self.clock.monotonic()
        self._send("hello", version=p.PROTOCOL_VERSION, heartbeat_ms=0, ident="freev2g")
        self._watchdog = asyncio.ensure_future(self._run_watchdog())

    async def close(self) -> None:
        if self._watchdog:
            self._watchdog.cancel()
            self._watchdog = None
        if self._serial is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._serial.fileno())
            except (ValueError, OSError):
                pass
            self._serial.close()
            self._serial = None
        self._fail_pending("link closed")

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Return once the board answers; CommunicationFault after `timeout_s` (default: the
        heartbeat timeout)."""
        self.start()
        if self.connected and self.board_name:
            return
        fut = asyncio.get_running_loop().create_future()
        self._connect_waiters.append(fut)
        limit = self.heartbeat_timeout_s if timeout_s is None else timeout_s
        try:
            await self.clock.wait_for(fut, limit)
        except TimeoutError:
            raise CommunicationFault(f"no answer from a board on {self.port} within {limit} s",
                                     device=f"serial:{self.port}") from None

    # --- events ------------------------------------------------------------------------------

    def subscribe(self, source: str, listener: Callable[[BoardEvent], None]) -> None:
        self._listeners[source].append(listener)

    def _emit(self, sources: tuple[str, ...], kind: str, value: object = None, detail: str = "") -> None:
        for source in sources:
            event = BoardEvent(source=f"serial.{source}", kind=kind, value=value, detail=detail)
            for listener in list(self._listeners[source]):
                try:
                    listener(event)
                except Exception:  # noqa: BLE001
                    log.exception("serial board listener failed on %s", event)

    # --- receive -----------------------------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data = self._serial.read(4096) if self._serial else b""
        except (serial.SerialException, OSError) as exc:
            log.warning("serial board %s: read failed: %s", self.port, exc)
            return  # the watchdog reports the silence
        for frame in self.decoder.feed(data):
            try:
                msg = p.decode(frame)
            except p.ProtocolError as exc:
                self.protocol_errors += 1
                log.debug("serial board %s: %s", self.port, exc)
                continue
            self._last_rx = self.clock.monotonic()
            if not self.connected and self._version_ok:
                self.connected = True
                if self._ever_connected:  # back after silence: ask for a fresh snapshot
                    self._emit(SOURCES, "fault_cleared", "communication", f"{self.port} answering")
                    self._send_quietly("hello", version=p.PROTOCOL_VERSION, heartbeat_ms=0, ident="freev2g")
                self._ever_connected = True
            try:
                self._dispatch(msg)
            except Exception:  # noqa: BLE001 - a surprising message must not kill the reader
                self.protocol_errors += 1
                log.exception("serial board %s: cannot handle %s", self.port, msg)
            if msg.name == "hello":
                self._wake_connect_waiters()

    def _wake_connect_waiters(self) -> None:
        """`wait_connected` returns once the board has answered our hello (so its name and
        protocol version are known), not on the first frame: a heartbeat or state frame can
        arrive before the hello answer."""
        for waiter in self._connect_waiters:
            if waiter.done():
                continue
            if self._version_ok:
                waiter.set_result(None)
            else:
                waiter.set_exception(VendorError("board protocol version mismatch", device=f"serial:{self.port}"))
        self._connect_waiters.clear()

    def _dispatch(self, msg: p.Message) -> None:
        v = msg.values
        if msg.group is p.Group.RESPONSE:
            fut = self._pending.pop(msg.request_id, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        elif msg.name == "hello":
            self.board_name = v["ident"]
            if v["version"] != p.PROTOCOL_VERSION:
                self._version_ok = False
                self.connected = False
                self._emit(SOURCES, "fault", "version", f"board speaks protocol {v['version']}, "
                           f"we speak {p.PROTOCOL_VERSION}")
        elif msg.name == "cp":
            state = CPState.DF if v["state"] == ord("X") else CPState(chr(v["state"]))
            neg = None if v["negative_mV"] == p.NO_VALUE_MV else v["negative_mV"] / 1000.0
            self.cp_levels_V = (v["positive_mV"] / 1000.0, neg)
            self.duty_pct = v["duty_centi_pct"] / 100.0
            if state is not self.cp_state:
                previous, self.cp_state = self.cp_state, state
                self._emit(("bsp",), "cp_state", state, f"{previous.value if previous else '?'} -> {state.value}")
        elif msg.name == "pp":
            self.cable_rating_A = None if v["rating_dA"] == p.PP_NOT_APPLICABLE else v["rating_dA"] / 10.0
        elif msg.name == "relay":
            closed = bool(v["closed"])
            if closed != self.contactor_closed:
                self.contactor_closed, self.phases = closed, v["phases"]
                self._emit(("bsp",), "relay", closed)
        elif msg.name == "lock_state":
            if bool(v["locked"]) != self.locked:
                self.locked = bool(v["locked"])
                self._emit(("connector_lock",), "lock", self.locked)
        elif msg.name == "fault":
            name = FAULT_NAMES.get(p.FaultCode(v["code"]) if v["code"] in p.FaultCode._value2member_map_
                                   else p.FaultCode.OTHER, "other")
            source = FAULT_SOURCES.get(name, "bsp")
            if v["active"]:
                self.faults.add(name)
                self._emit((source,), "fault", name, v["text"])
            else:
                self.faults.discard(name)
                self._emit((source,), "fault_cleared", name, v["text"])
        elif msg.name == "meter":
            self.meter = (v["import_mWh"] / 1000.0, v["export_mWh"] / 1000.0, v["power_mW"] / 1000.0,
                          v["voltage_mV"] / 1000.0, v["current_mA"] / 1000.0)
            self._emit(("power_meter",), "reading", PowerMeterReading(*self.meter))
        elif msg.name == "psu":
            self.psu = (v["voltage_mV"] / 1000.0, v["current_mA"] / 1000.0)
            self._emit(("power_supply",), "reading", PowerSupplyReading(*self.psu))
        # heartbeat: only refreshes _last_rx

    # --- send --------------------------------------------------------------------------------

    def _send(self, name: str, request_id: int = 0, **values: Any) -> None:
        if self._serial is None:
            raise CommunicationFault(f"{self.port} is not open", device="serial")
        try:
            self._serial.write(p.encode(name, request_id, **values))
        except (serial.SerialException, OSError) as exc:
            raise CommunicationFault(f"write to {self.port} failed: {exc}", device="serial") from exc

    def _send_quietly(self, name: str, **values: Any) -> None:
        try:
            self._send(name, **values)
        except CommunicationFault as exc:
            log.warning("%s", exc)

    def require_connected(self) -> None:
        if not self._version_ok:
            raise VendorError("board protocol version mismatch", device=f"serial:{self.port}")
        if not self.connected:
            raise CommunicationFault(f"no heartbeat from the board on {self.port}", device=f"serial:{self.port}")

    async def command(self, name: str, *, timeout_s: float | None = None, **values: Any) -> p.Message:
        """Send a command and wait for its response; raises CommunicationFault (no answer),
        DeviceFault (the board reports a device fault), VendorError (refused)."""
        self.start()
        self.require_connected()
        self._next_id = (self._next_id % 255) + 1
        rid = self._next_id
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._send(name, rid, **values)
        try:
            msg: p.Message = await self.clock.wait_for(fut, timeout_s or self.command_timeout_s)
        except TimeoutError:
            raise CommunicationFault(f"no answer to {name} within {timeout_s or self.command_timeout_s} s",
                                     device=f"serial:{self.port}") from None
        finally:
            self._pending.pop(rid, None)
        if msg.status is p.Status.DEVICE_FAULT:
            raise DeviceFault(msg.values.get("text", name), device=f"serial:{self.port}")
        if msg.status is not p.Status.OK:
            raise VendorError(f"{name} refused ({msg.status.name}): {msg.values.get('text', '')}",
                              device=f"serial:{self.port}")
        return msg

    def _fail_pending(self, why: str) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(CommunicationFault(why, device=f"serial:{self.port}"))
        self._pending.clear()

    async def _run_watchdog(self) -> None:
        period = self.heartbeat_timeout_s / 4
        while True:
            await self.clock.sleep(period)
            self._send_quietly("heartbeat", uptime_ms=int(self.clock.monotonic() * 1000) & 0xFFFFFFFF)
            silent_s = self.clock.monotonic() - self._last_rx
            if self.connected and silent_s > self.heartbeat_timeout_s:
                self.connected = False
                self._fail_pending(f"board on {self.port} went silent")
                self._emit(SOURCES, "fault", "communication",
                           f"no frame from {self.port} for {silent_s:.2f} s")
                self._send_quietly("hello", version=p.PROTOCOL_VERSION, heartbeat_ms=0, ident="freev2g")
