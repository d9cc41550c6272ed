"""A microcontroller board emulated on a pty, speaking the board UART protocol (PROTOCOL.md),
backed by the sim model. The serial driver opens the pty's device node like a real UART.

Safety behaviour of a real board is emulated too: with no frame from the host for
`host_timeout_s`, the board opens the contactor, switches the supply off, stops the PWM (X1)
and reports FaultCode.HOST_TIMEOUT.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
import tty
from typing import Any

from freev2g.boards import BoardError, BoardEvent
from freev2g.clock import Clock
from freev2g.framing import FrameDecoder
from freev2g.model.enums import CPState

from ..sim.drivers import SimConnectorLock, SimControlPilot, SimIsolationMonitor, SimPowerSupply
from ..sim.model import SimModel
from . import protocol as p

log = logging.getLogger(__name__)

FAULT_CODES = {
    "imd_fault": p.FaultCode.IMD_FAULT, "over_voltage": p.FaultCode.OVER_VOLTAGE,
    "psu_fault": p.FaultCode.PSU_FAULT, "lock_failure": p.FaultCode.LOCK_FAILURE,
    "cp_short": p.FaultCode.CP_SHORT, "missing_diode": p.FaultCode.MISSING_DIODE,
    "rcd_trip": p.FaultCode.RCD_TRIP, "contactor_welded": p.FaultCode.CONTACTOR_WELDED,
}


def _mv(volts: float | None) -> int:
    return p.NO_VALUE_MV if volts is None else int(round(volts * 1000))


class BoardEmulator:
    def __init__(self, model: SimModel | None = None, *, clock: Any = None, heartbeat_s: float = 0.1,
                 meter_period_s: float = 0.5, host_timeout_s: float | None = 2.0,
                 name: str = "freev2g-sim-board"):
        self.clock = clock or Clock()
        self.model = model or SimModel(self.clock)
        self.heartbeat_s, self.meter_period_s, self.host_timeout_s = heartbeat_s, meter_period_s, host_timeout_s
        self.name = name
        self.bsp, self.psu = SimControlPilot(self.model), SimPowerSupply(self.model)
        self.imd, self.lock = SimIsolationMonitor(self.model), SimConnectorLock(self.model)
        self.decoder = FrameDecoder(max_payload=p.MAX_PAYLOAD)
        self.silent = False
        self.commands_handled = 0
        self.protocol_errors = 0
        self._master = self._slave = -1
        self.device_path = ""
        self._tasks: set[asyncio.Task] = set()
        self._periodic: asyncio.Task | None = None
        self._last_host_rx = 0.0
        self._host_timed_out = False
        self._t0 = time.monotonic()
        for source in ("bsp", "power_supply", "connector_lock", "imd"):
            self.model.subscribe(source, self._on_model_event)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> str:
        """Open the pty and start serving; returns the device path for the driver."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: a clean 8-bit link
        os.set_blocking(self._master, False)
        self.device_path = os.ttyname(self._slave)
        loop = asyncio.get_running_loop()
        loop.add_reader(self._master, self._on_readable)
        self._last_host_rx = self.clock.monotonic()
        self._periodic = asyncio.ensure_future(self._run_periodic())
        return self.device_path

    async def stop(self) -> None:
        if self._periodic:
            self._periodic.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._master >= 0:
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
            os.close(self._slave)
            self._master = self._slave = -1

    def silence(self, silent: bool = True) -> None:
        """Emulate a hung board: nothing is sent (or answered) while silent."""
        self.silent = silent

    def send_garbage(self, data: bytes) -> None:
        self._write(data, force=True)

    # --- output ------------------------------------------------------------------------------

    def _write(self, data: bytes, *, force: bool = False) -> None:
        if (self.silent and not force) or self._master < 0:
            return
        try:
            os.write(self._master, data)
        except (BlockingIOError, OSError) as exc:  # nobody reading: a UART drops bytes too
            log.debug("emulator dropped %d bytes: %s", len(data), exc)

    def _send(self, name: str, **values: Any) -> None:
        self._write(p.encode(name, 0, **values))

    def _send_cp(self) -> None:
        m = self.model
        positive, negative = m.cp_levels_V()
        self._send("cp", state=ord(m.cp_state().value[0]) if m.cp_state() is not CPState.DF else ord("X"),
                   positive_mV=_mv(positive), negative_mV=_mv(negative),
                   duty_centi_pct=int(round(m.evse_duty_pct() * 100)))
        rating = m.cable_rating_A()
        self._send("pp", rating_dA=p.PP_NOT_APPLICABLE if rating is None else int(round(rating * 10)))

    def _send_snapshot(self) -> None:
        m = self.model
        self._send_cp()
        self._send("relay", closed=int(m.evse_contactor), phases=m.evse_phases)
        self._send("lock_state", locked=int(m.locked))
        for fault in m.faults:
            if fault in FAULT_CODES:
                self._send("fault", code=FAULT_CODES[fault], active=1, text=fault)
        self._send_readings()

    def _send_readings(self) -> None:
        imp, exp, power, voltage, current = self.model.meter_values()
        self._send("meter", import_mWh=int(imp * 1000), export_mWh=int(exp * 1000), power_mW=int(power * 1000),
                   voltage_mV=_mv(voltage), current_mA=int(round((current or 0.0) * 1000)))
        v, i = self.model.psu_reading()
        self._send("psu", voltage_mV=_mv(v), current_mA=int(round(i * 1000)))

    def _on_model_event(self, event: BoardEvent) -> None:
        if event.kind == "cp_state":
            self._send_cp()
        elif event.kind == "relay":
            self._send("relay", closed=int(bool(event.value)), phases=self.model.evse_phases)
        elif event.kind == "lock":
            self._send("lock_state", locked=int(bool(event.value)))
        elif event.kind in ("fault", "fault_cleared"):
            code = FAULT_CODES.get(str(event.value), p.FaultCode.OTHER)
            self._send("fault", code=code, active=int(event.kind == "fault"), text=str(event.value))

    # --- input -------------------------------------------------------------------------------

    def _on_readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, OSError):
            return
        for frame in self.decoder.feed(data):
            self._last_host_rx = self.clock.monotonic()
            self._host_timed_out = False  # the host is back: re-arm the watchdog
            try:
                msg = p.decode(frame)
            except p.ProtocolError as exc:
                self.protocol_errors += 1
                log.debug("emulator: %s", exc)
                continue
            if not self.silent:
                self._handle(msg)

    def _handle(self, msg: p.Message) -> None:
        if msg.name == "hello":
            ok = msg.values["version"] == p.PROTOCOL_VERSION
            self._send("hello", version=p.PROTOCOL_VERSION, heartbeat_ms=int(self.heartbeat_s * 1000), ident=self.name)
            if ok:
                self._send_snapshot()
            return
        if msg.group is not p.Group.COMMAND:
            return  # host heartbeats only refresh _last_host_rx
        task = asyncio.ensure_future(self._execute(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, msg: p.Message) -> None:
        v, rid = msg.values, msg.request_id
        try:
            extra = await self._run_command(msg.name, v)
        except BoardError as exc:
            self._write(p.encode_response(msg.name, rid, p.Status.DEVICE_FAULT, str(exc)))
        except (ValueError, KeyError) as exc:
            self._write(p.encode_response(msg.name, rid, p.Status.BAD_REQUEST, str(exc)))
        else:
            self.commands_handled += 1
            self._write(p.encode_response(msg.name, rid, **extra))

    async def _run_command(self, name: str, v: dict[str, Any]) -> dict[str, Any]:
        if name == "set_pwm":
            await self.bsp.set_pwm_duty(v["duty_centi_pct"] / 100.0)
            self._send_cp()
        elif name == "allow_power":
            await self.bsp.allow_power_on(bool(v["allow"]), phases=v["phases"])
        elif name == "lock":
            await self.lock.lock()
        elif name == "unlock":
            await self.lock.unlock()
        elif name == "psu_mode":
            await self.psu.set_mode(p.PSU_MODE_NAMES[v["mode"]])
        elif name == "psu_setpoints":
            await self.psu.set_voltage_current(v["voltage_mV"] / 1000.0, v["current_mA"] / 1000.0)
        elif name == "ovm_limit":
            self.model.set_over_voltage_limit(None if v["limit_mV"] <= 0 else v["limit_mV"] / 1000.0)
        elif name == "imd_start":
            await self.imd.start()
        elif name == "imd_stop":
            await self.imd.stop()
        elif name == "imd_self_test":
            return {"passed": int(await self.imd.self_test(v["test_voltage_mV"] / 1000.0))}
        elif name == "imd_read":
            r = await self.imd.read()
            return {"r_f_Ohm": min(int(r.resistance_F_Ohm), 0xFFFFFFFF),
                    "r_n_Ohm": min(int(r.resistance_N_Ohm), 0xFFFFFFFF), "voltage_mV": _mv(r.voltage_V or 0.0)}
        return {}

    # --- periodic: heartbeat, readings, host watchdog -----------------------------------------

    async def _run_periodic(self) -> None:
        next_meter = 0.0
        while True:
            now = self.clock.monotonic()
            self._send("heartbeat", uptime_ms=int((time.monotonic() - self._t0) * 1000) & 0xFFFFFFFF)
            if now >= next_meter:
                self._send_readings()
                next_meter = now + self.meter_period_s
            if (self.host_timeout_s is not None and not self._host_timed_out
                    and now - self._last_host_rx > self.host_timeout_s):
                await self._fail_safe()
            await self.clock.sleep(self.heartbeat_s)

    async def _fail_safe(self) -> None:
        self._host_timed_out = True
        try:
            await self.psu.set_mode("off")
            self.model.set_evse_contactor(False)
        finally:
            self.model.set_pwm_off()
            self._send("fault", code=p.FaultCode.HOST_TIMEOUT, active=1, text="host silent")
