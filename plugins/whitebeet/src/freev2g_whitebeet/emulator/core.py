"""Emulator core: frame handling and the generic modules (whitebeet-hci.md 8.1, 8.2).

Answers every command exactly once with the command's module, sub-id and request id; sends
every notification with request id 0xFF; checksums always filled; bad frames get a module 0xFF
report and are not executed. Role-specific V2G handling lives in `evse.py` / `ev.py`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from attrs import define, field

from freev2g.framing import ChecksumError, Frame, FrameLengthError, FramingError, encode_frame

from ..codec import HciCodecError
from ..messages import NOTIFICATION_REQUEST_ID, Catalogue, Module, Result, UnknownMessageError, catalogue
from ..transport.base import Transport, TransportClosed

log = logging.getLogger(__name__)
frames_log = logging.getLogger(__name__ + ".frames")  # -v: every frame, decoded

Handler = Callable[[Any], Awaitable[Any]]


class Reply(Exception):
    """Raised by a handler to answer with a non-OK result code."""

    def __init__(self, code: int, why: str = ""):
        super().__init__(why or f"result 0x{code:02X}")
        self.code = code


@define
class CpState:
    mode: int = 255  # not yet set (4.3)
    started: bool = False
    duty_permille: int = 1000
    resistor_level: int = 0
    state: int = 0  # A
    threshold_permille: int = 0


@define
class SlacState:
    mode: int | None = None
    started: bool = False
    matching: bool = False
    validation: int = 0
    matched: bool = False


@define
class ModuleState:
    firmware_version: str = "1.2.0.0"
    mac: bytes = bytes.fromhex("000101637733")
    port_mirror: int = 0
    v2g_mode: int = 2  # undefined
    gpio: dict[int, int] = field(factory=dict)
    cp: CpState = field(factory=CpState)
    slac: SlacState = field(factory=SlacState)


class EmulatorCore:
    """Owns the transport loop. Role modules register handlers with `on(name, handler)`."""

    def __init__(self, transport: Transport, *, clock, cat: Catalogue | None = None, state: ModuleState | None = None):
        self.transport = transport
        self.clock = clock
        self.cat = cat or catalogue()
        self.state = state or ModuleState()
        self._handlers: dict[str, Handler] = {}
        self._task: asyncio.Task | None = None
        self._send_lock = asyncio.Lock()
        self.commands_seen: list[str] = []
        self.frame_errors = 0
        self.halted = False
        self.last_frame_at: float | None = None  # clock.monotonic() of the host's last frame
        self.cp_listeners: list[Callable[[], None]] = []
        self._register_generic()

    def on(self, name: str, handler: Handler) -> None:
        self.cat[name]  # validates the name
        self._handlers[name] = handler

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="whitebeet-emulator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None
        await self.transport.close()

    async def halt(self) -> None:
        """Stop answering without closing the transport (a module that resets mid-session)."""
        self.halted = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None

    @property
    def running(self) -> bool:
        """False once the transport closed (the host went away) or after stop()."""
        return self._task is not None and not self._task.done()

    async def wait_closed(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)

    # ---- sending ------------------------------------------------------------------------
    async def send_frame(self, module: int, sub: int, rid: int, payload: bytes) -> None:
        if self.halted:
            return
        async with self._send_lock:
            try:
                await self.transport.send(encode_frame(module, sub, rid, payload, checksum=True))
            except (TransportClosed, OSError) as exc:
                log.info("emulator: send failed: %s", exc)

    async def notify(self, name: str, **fields: Any) -> None:
        spec = self.cat[name]
        if frames_log.isEnabledFor(logging.INFO):
            frames_log.info("-> %s (0x%02X/0x%02X rid 0xFF) %s", name, spec.module, spec.sub, _fields(fields))
        await self.send_frame(spec.module, spec.sub, NOTIFICATION_REQUEST_ID, spec.encode(fields))

    # ---- receiving ----------------------------------------------------------------------
    async def _loop(self) -> None:
        try:
            while True:
                data = await self.transport.recv()
                self.last_frame_at = self.clock.monotonic()
                await self._on_datagram(data)
        except TransportClosed:
            return

    async def _on_datagram(self, data: bytes) -> None:
        try:
            frame = Frame.from_bytes(data)
        except FramingError as exc:
            self.frame_errors += 1
            # 8.1 #4: report with module 0xFF, request id of the frame if readable
            rid = data[3] if len(data) > 3 and data[0] == 0xC0 else NOTIFICATION_REQUEST_ID
            sub = 0xF2 if isinstance(exc, ChecksumError) else 0xF5 if isinstance(exc, FrameLengthError) else (
                0xF1 if not data or data[0] != 0xC0 else 0xF3)
            log.info("emulator: bad frame (%s), reporting 0x%02X", exc, sub)
            await self.send_frame(Module.FRAMING_ERROR, sub, rid, b"")
            return
        await self.handle(frame)

    async def handle(self, frame: Frame) -> None:
        module, sub, rid = frame.module_id, frame.sub_id, frame.request_id
        try:
            spec = self.cat.command(module, sub)
        except UnknownMessageError:
            if not self.cat.module_known(module):
                await self.send_frame(Module.FRAMING_ERROR, 0xF4, rid, b"")
            else:
                await self.send_frame(module, sub, rid, bytes([Result.SUB_ID_UNKNOWN]))
            return
        if module == Module.FRAMING:  # Ping: plain echo with sub-id 0x01 (2.9)
            await self.send_frame(module, 0x01, rid, bytes(frame.payload))
            return
        self.commands_seen.append(spec.name)
        try:
            params = spec.decode(frame.payload)
        except HciCodecError as exc:
            log.info("emulator: %s", exc)
            await self.send_frame(module, sub, rid, bytes([Result.MALFORMED]))
            return
        verbose = frames_log.isEnabledFor(logging.INFO)
        if verbose:
            frames_log.info("<- %s (0x%02X/0x%02X rid 0x%02X) %s", spec.name, module, sub, rid, _fields(params))
        handler = self._handlers.get(spec.name)
        if handler is None:
            await self.send_frame(module, sub, rid, bytes([Result.COMMAND_UNKNOWN]))
            return
        result = None
        try:
            result = await handler(params)
            payload = spec.encode_response(Result.OK, result if result is not None else {})
        except Reply as r:
            payload = bytes([r.code])
        except HciCodecError as exc:
            log.exception("emulator: cannot encode the answer to %s: %s", spec.name, exc)
            payload = bytes([Result.INTERNAL_ERROR])
        if verbose:
            frames_log.info("-> %s answer (0x%02X/0x%02X rid 0x%02X) result 0x%02X %s", spec.name, module, sub, rid,
                            payload[0], _fields(result) if payload[0] == Result.OK else "")
        await self.send_frame(module, sub, rid, payload)

    # ---- generic modules (8.2) ----------------------------------------------------------
    def _register_generic(self) -> None:
        st = self.state

        async def ok(_p):
            return None

        async def firmware(_p):
            return {"version": st.firmware_version}

        async def mac(_p):
            return {"mac": st.mac}

        async def port_mirror(p):
            st.port_mirror = p.on

        async def set_gpio_mode(p):
            st.gpio.setdefault(p.gpio, 0)

        async def set_gpio(p):
            st.gpio[p.gpio] = p.state

        async def get_gpio(p):
            return {"state": st.gpio.get(p.gpio, 0)}

        async def get_gpio_mode(p):
            return {"mode": 0}

        for name, h in {
            "system.get_firmware_version": firmware,
            "system.get_version": firmware,
            "system.get_mac_address": mac,
            "network.set_port_mirror_state": port_mirror,
            "network.get_port_mirror_state": lambda _p: _const({"on": st.port_mirror}),
            "gpio.set_mode": set_gpio_mode,
            "gpio.get_mode": get_gpio_mode,
            "gpio.set_state": set_gpio,
            "gpio.get_state": get_gpio,
            "system.get_uptime": lambda _p: _const({"uptime_s": int(self.clock.monotonic())}),
        }.items():
            self.on(name, h)
        self._register_cp()
        self._register_slac()
        self._register_v2g_mode()

    def cp_changed(self) -> None:
        for listener in list(self.cp_listeners):
            listener()

    def _register_cp(self) -> None:
        cp = self.state.cp

        async def set_mode(p):
            if cp.started:
                raise Reply(Result.BUSY, "CP already started")
            if p.mode not in (0, 1):
                raise Reply(Result.UNEXPECTED)
            cp.mode = p.mode

        async def start(_p):
            if cp.started:
                raise Reply(Result.UNEXPECTED)
            cp.started = True
            self.cp_changed()

        async def stop(_p):
            if not cp.started:
                raise Reply(Result.UNEXPECTED)
            cp.started = False
            cp.duty_permille = 1000  # 9.20: back to 100 %
            self.cp_changed()

        async def set_duty(p):
            if cp.mode == 0:
                raise Reply(Result.UNEXPECTED, "EV mode")
            if p.duty_permille > 1000:
                raise Reply(Result.MALFORMED)
            cp.duty_permille = p.duty_permille
            self.cp_changed()

        async def set_resistor(p):
            if cp.mode == 1:
                raise Reply(Result.UNEXPECTED, "EVSE mode")
            if p.level > 2:
                raise Reply(Result.MALFORMED)
            cp.resistor_level = p.level
            self.cp_changed()

        async def set_threshold(p):
            cp.threshold_permille = p.threshold_permille

        self.on("cp.set_mode", set_mode)
        self.on("cp.get_mode", lambda _p: _const({"mode": cp.mode}))
        self.on("cp.start", start)
        self.on("cp.stop", stop)
        self.on("cp.set_duty_cycle", set_duty)
        self.on("cp.get_duty_cycle", lambda _p: _const({"duty_permille": cp.duty_permille}))
        self.on("cp.set_resistor_level", set_resistor)
        self.on("cp.get_resistor_level", lambda _p: _const({"level": cp.resistor_level}))
        self.on("cp.get_state", lambda _p: _const({"state": cp.state}))
        self.on("cp.set_duty_threshold", set_threshold)
        self.on("cp.get_duty_threshold", lambda _p: _const({"threshold_permille": cp.threshold_permille}))
        self.on("cp.get_ad_value", lambda _p: _const({"raw": int((12.0 - 3 * cp.state + 14.84) / 0.007172)}))

    def _register_slac(self) -> None:
        slac = self.state.slac

        async def start(p):
            if slac.started:
                raise Reply(Result.UNEXPECTED)
            slac.mode, slac.started, slac.matched = p.mode, True, False

        async def stop(_p):
            if not slac.started:
                raise Reply(Result.MODULE_SPECIFIC_10, "SLAC not running")
            slac.started = slac.matching = False

        async def set_validation(p):
            slac.validation = p.enabled

        self.on("slac.start", start)
        self.on("slac.stop", stop)
        self.on("slac.set_validation", set_validation)
        self.on("slac.get_validation", lambda _p: _const({"enabled": slac.validation}))
        self.on("slac.get_state", lambda _p: _const({"state": 5 if slac.matched else 4 if slac.matching else 3 if slac.started else 1}))
        self.on("slac.set_bcb_toggle_result", lambda _p: _const(None))

    def _register_v2g_mode(self) -> None:
        st = self.state

        async def set_mode(p):
            if p.mode not in (0, 1):
                raise Reply(Result.MALFORMED)
            st.v2g_mode = p.mode

        self.on("v2g.set_mode", set_mode)
        self.on("v2g.get_mode", lambda _p: _const({"mode": st.v2g_mode}))


def _fields(value: Any) -> str:
    """Field names and values of a decoded record (attrs) or a dict, for the frame log."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={v!r}" for k, v in value.items())
    names = getattr(type(value), "__attrs_attrs__", None)
    if names is None:
        return repr(value)
    return ", ".join(f"{a.name}={getattr(value, a.name)!r}" for a in names)


async def _const(value):
    return value
