"""The "serial" board drivers: freev2g.boards Protocols over one SerialBoardLink per port.

Options (`[board.options.serial]`): port (required), baudrate (115200), heartbeat_timeout_s
(1.0), command_timeout_s (2.0), max_current_A (32), power_supply (a table of
PowerSupplyCapabilities fields; the protocol does not carry them). Reads come from the link's
cache of board events and raise CommunicationFault while the board is silent. Commands raise
CommunicationFault when unanswered: the board itself must fail safe on host silence
(PROTOCOL.md, host timeout).
"""
from __future__ import annotations

from typing import Any

from freev2g.boards import (
    BoardListener,
    BspCapabilities,
    IsolationReading,
    PowerMeterReading,
    PowerSupplyCapabilities,
    PowerSupplyReading,
)
from freev2g.model.enums import CPState

from . import protocol as p
from .link import SerialBoardLink

OPTION_KEYS = ("port", "baudrate", "heartbeat_timeout_s", "command_timeout_s", "max_current_A", "power_supply")
_PSU_DEFAULTS = dict(max_export_voltage_V=1000.0, min_export_voltage_V=150.0, max_export_current_A=200.0,
                     max_export_power_W=150_000.0)
LOCK_TIMEOUT_S = 5.0
SELF_TEST_TIMEOUT_S = 15.0


class SerialOptionsError(ValueError):
    pass


def check_options(config: dict[str, Any] | None, where: str = "board.options.serial") -> dict[str, Any]:
    cfg = dict(config or {})
    unknown = sorted(set(cfg) - set(OPTION_KEYS))
    if unknown:
        raise SerialOptionsError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(OPTION_KEYS)}")
    if not isinstance(cfg.get("port"), str) or not cfg["port"]:
        raise SerialOptionsError(f"{where}.port: a serial device path is required, got {cfg.get('port')!r}")
    for key in ("baudrate", "heartbeat_timeout_s", "command_timeout_s", "max_current_A"):
        if key in cfg and (isinstance(cfg[key], bool) or not isinstance(cfg[key], (int, float)) or cfg[key] <= 0):
            raise SerialOptionsError(f"{where}.{key}: must be a number > 0, got {cfg[key]!r}")
    return cfg


def shared_link(config: dict[str, Any] | None, ctx: Any) -> SerialBoardLink:
    cfg = check_options(config)
    key = f"serial_board:{cfg['port']}"
    link = ctx.shared.get(key)
    if link is None:
        link = SerialBoardLink(cfg["port"], baudrate=int(cfg.get("baudrate", 115200)),
                               heartbeat_timeout_s=float(cfg.get("heartbeat_timeout_s", 1.0)),
                               command_timeout_s=float(cfg.get("command_timeout_s", 2.0)), clock=ctx.clock)
        ctx.shared[key] = link
    try:
        link.start()  # needs a running loop; otherwise the first command starts it
    except RuntimeError:
        pass
    return link


class _SerialDriver:
    source = ""

    def __init__(self, link: SerialBoardLink, options: dict[str, Any]):
        self.link, self.options = link, options

    def subscribe(self, listener: BoardListener) -> None:
        self.link.subscribe(self.source, listener)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.link.port}>"


class SerialControlPilot(_SerialDriver):
    source = "bsp"

    def capabilities(self) -> BspCapabilities:
        return BspCapabilities(max_current_A_import=float(self.options.get("max_current_A", 32.0)))

    async def set_pwm_duty(self, duty_pct: float) -> None:
        if not 0.0 <= duty_pct <= 100.0:
            raise ValueError(f"duty_pct must be within 0..100 %, got {duty_pct!r}")
        await self.link.command("set_pwm", duty_centi_pct=int(round(duty_pct * 100)))

    async def set_pwm_off(self) -> None:
        await self.set_pwm_duty(100.0)

    async def set_state_f(self) -> None:
        await self.set_pwm_duty(0.0)

    def cp_state(self) -> CPState:
        self.link.require_connected()
        return self.link.cp_state or CPState.E

    def pwm_duty_pct(self) -> float:
        self.link.require_connected()
        return self.link.duty_pct

    async def allow_power_on(self, allow: bool, *, phases: int = 3) -> None:
        await self.link.command("allow_power", allow=int(bool(allow)), phases=phases)

    def contactor_closed(self) -> bool:
        self.link.require_connected()
        return self.link.contactor_closed

    def cable_rating_A(self) -> float | None:
        self.link.require_connected()
        return self.link.cable_rating_A


class SerialIsolationMonitor(_SerialDriver):
    source = "imd"

    async def start(self) -> None:
        await self.link.command("imd_start")

    async def stop(self) -> None:
        await self.link.command("imd_stop")

    async def self_test(self, test_voltage_V: float) -> bool:
        msg = await self.link.command("imd_self_test", timeout_s=SELF_TEST_TIMEOUT_S,
                                      test_voltage_mV=int(round(test_voltage_V * 1000)))
        return bool(msg.values["passed"])

    async def read(self) -> IsolationReading:
        v = (await self.link.command("imd_read")).values
        return IsolationReading(float(v["r_f_Ohm"]), float(v["r_n_Ohm"]), v["voltage_mV"] / 1000.0)


class SerialPowerSupply(_SerialDriver):
    source = "power_supply"

    def capabilities(self) -> PowerSupplyCapabilities:
        return PowerSupplyCapabilities(**{**_PSU_DEFAULTS, **dict(self.options.get("power_supply", {}))})

    async def set_mode(self, mode: str) -> None:
        if mode not in p.PSU_MODE_CODES:
            raise ValueError(f"power supply mode must be one of {', '.join(p.PSU_MODE_CODES)}, got {mode!r}")
        await self.link.command("psu_mode", mode=p.PSU_MODE_CODES[mode])

    async def set_voltage_current(self, voltage_V: float, current_A: float) -> None:
        await self.link.command("psu_setpoints", voltage_mV=int(round(voltage_V * 1000)),
                                current_mA=int(round(current_A * 1000)))

    async def set_over_voltage_limit(self, limit_V: float | None) -> None:
        await self.link.command("ovm_limit", limit_mV=0 if limit_V is None else int(round(limit_V * 1000)))

    def read(self) -> PowerSupplyReading:
        self.link.require_connected()
        return PowerSupplyReading(*self.link.psu)


class SerialConnectorLock(_SerialDriver):
    source = "connector_lock"

    async def lock(self) -> None:
        await self.link.command("lock", timeout_s=LOCK_TIMEOUT_S)

    async def unlock(self) -> None:
        await self.link.command("unlock", timeout_s=LOCK_TIMEOUT_S)

    def is_locked(self) -> bool:
        self.link.require_connected()
        return self.link.locked


class SerialPowerMeter(_SerialDriver):
    source = "power_meter"

    def read(self) -> PowerMeterReading:
        self.link.require_connected()
        return PowerMeterReading(*self.link.meter)


DRIVERS: dict[str, type[_SerialDriver]] = {
    "bsp": SerialControlPilot,
    "imd": SerialIsolationMonitor,
    "power_supply": SerialPowerSupply,
    "connector_lock": SerialConnectorLock,
    "power_meter": SerialPowerMeter,
}


def make_serial_factory(kind: str):
    driver_type = DRIVERS[kind]

    def factory(config: dict[str, Any] | None, ctx: Any) -> _SerialDriver:
        return driver_type(shared_link(config, ctx), check_options(config))

    factory.__name__ = f"serial_{kind}_factory"
    return factory
