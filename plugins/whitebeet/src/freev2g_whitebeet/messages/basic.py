"""System, Time, Network configuration, Firmware update, Framing (Ping), GPIO and PLC modules
(whitebeet-hci.md 2.9, 3.2-3.5, 3.8, 3.12, 5.1, 5.2)."""
from __future__ import annotations

from ..codec import Bytes, Record, Rest, Trailing, boolean, bin16, bin8, repeat, str8, u16, u32, u8
from .spec import Kind, MessageSpec, Module


def R(name: str, *fields) -> Record:
    return Record(name, fields)


def cmd(module: int, sub: int, name: str, params=(), result=None, role: str = "both") -> MessageSpec:
    title = "".join(p.capitalize() for p in name.rsplit(".", 1)[-1].split("_"))
    return MessageSpec(
        module, sub, name, Kind.COMMAND, Record(title, params),
        None if result is None else Record(title + "Result", result), role,
    )


def note(module: int, sub: int, name: str, fields=(), role: str = "both", kind: Kind = Kind.NOTIFICATION) -> MessageSpec:
    title = "".join(p.capitalize() for p in name.rsplit(".", 1)[-1].split("_"))
    return MessageSpec(module, sub, name, kind, Record(title, fields), None, role)


SYS, TIME, NET, FWU, PING, GPIO, PLC = (
    Module.SYSTEM, Module.TIME, Module.NETWORK, Module.FIRMWARE_UPDATE, Module.FRAMING, Module.GPIO, Module.PLC,
)
_ADDR = (("interface", u8), ("command", u8), ("address", Bytes(16)))
_INDEX = (("interface", u8), ("index", u16))
_CLOCK = (("year", u16), ("month", u8), ("day", u8), ("hour", u8), ("minute", u8), ("second", u8))
_INTERFACE = Record("InterfaceInfo", (("index", u8), ("type", u8), ("name", str8(16)), ("mode", u8)))


def basic_specs() -> list[MessageSpec]:
    return [
        # 3.2 System
        cmd(SYS, 0x40, "system.get_version", result=(("version", str8(12)),)),
        cmd(SYS, 0x41, "system.get_firmware_version", result=(("version", str8(32)),)),
        cmd(SYS, 0x45, "system.get_mac_address", result=(("mac", bin8(6)),)),
        cmd(SYS, 0x46, "system.set_serial_number", (("serial", str8(15)),)),
        cmd(SYS, 0x47, "system.get_serial_number", result=(("serial", str8(15)),)),
        cmd(SYS, 0x48, "system.restart"),
        cmd(SYS, 0x49, "system.factory_reset"),
        cmd(SYS, 0x4A, "system.set_save_mode", (("mode", u8),)),
        cmd(SYS, 0x4B, "system.get_save_mode", result=(("mode", u8),)),
        cmd(SYS, 0x4C, "system.save_configuration"),
        cmd(SYS, 0x57, "system.get_api_info", result=(("api_type", str8(32)), ("api_version", str8(32)))),
        cmd(SYS, 0x58, "system.get_uptime", result=(("uptime_s", u32),)),
        cmd(SYS, 0x59, "system.get_kernel_version", result=(("version", str8(12)),)),
        cmd(SYS, 0x5A, "system.get_file_hash", (("path", str8(255)),), (("size_bytes", u32), ("sha256", Bytes(32)))),
        # 3.3 Time
        cmd(TIME, 0x40, "time.set_time", (("time_type", u8),) + _CLOCK),
        cmd(TIME, 0x41, "time.get_time", (("time_type", u8),), _CLOCK),
        # 3.4 Network configuration
        cmd(NET, 0x42, "network.set_ipv6_configuration", _ADDR),
        cmd(NET, 0x43, "network.get_ipv6_configuration", _INDEX, (("address", Bytes(16)),)),
        cmd(NET, 0x4A, "network.get_link_status", (("interface", u8),), (("up", boolean),)),
        cmd(NET, 0x4B, "network.send_icmp_ping", (("interface", u8), ("ipv4", Bytes(4)))),
        cmd(NET, 0x4C, "network.set_ipv6_router", _ADDR),
        cmd(NET, 0x4D, "network.get_ipv6_router", _INDEX, (("address", Bytes(16)),)),
        cmd(NET, 0x50, "network.get_interface_info", result=(("interfaces", repeat(_INTERFACE)),)),
        cmd(NET, 0x51, "network.set_interface_state", (("index", u8), ("on", u8))),
        cmd(NET, 0x52, "network.get_interface_state", (("index", u8),), (("state", u8),)),
        cmd(NET, 0x55, "network.set_port_mirror_state", (("on", u8),)),
        cmd(NET, 0x56, "network.get_port_mirror_state", result=(("on", u8),)),
        # The manual's example shows the two names without length bytes: kept opaque.
        cmd(NET, 0x57, "network.set_port_mirror_configuration", (("raw", Rest()),)),
        cmd(NET, 0x58, "network.get_port_mirror_configuration", result=(("raw", Rest()),)),
        note(NET, 0x80, "network.interface_down", (("interface", u8),)),
        note(NET, 0x81, "network.interface_up", (("interface", u8),)),
        note(NET, 0x82, "network.echo_received", (("round_trip_ms", u16),)),
        note(NET, 0x83, "network.ping_failed"),
        # 3.5 Firmware update
        cmd(FWU, 0x04, "firmware.data_frame", (("packet", u32), ("data", Rest()))),
        cmd(FWU, 0x40, "firmware.get_status", result=(("status", u8), ("progress_pct", u8))),
        cmd(FWU, 0x41, "firmware.set_mode", (("mode", u8), ("version", Rest())), (("buffer_size", Trailing(u16)),)),
        note(FWU, 0x80, "firmware.update_finished"),
        note(FWU, 0x81, "firmware.update_timeout"),
        note(FWU, 0x82, "firmware.update_error"),
        note(FWU, 0x83, "firmware.request_missing_packets", (("request_type", u8), ("packet", u32))),
        # 2.9 Framing module: Ping and its plain echo reply (no result code)
        cmd(PING, 0x00, "framing.ping", (("data", Rest()),)),
        note(PING, 0x01, "framing.ping_reply", (("data", Rest()),), kind=Kind.REPLY),
        # 3.12 GPIO
        cmd(GPIO, 0x40, "gpio.set_mode", (("gpio", u8), ("mode", u8))),
        cmd(GPIO, 0x41, "gpio.get_mode", (("gpio", u8),), (("mode", u8),)),
        cmd(GPIO, 0x42, "gpio.set_state", (("gpio", u8), ("state", u8))),
        cmd(GPIO, 0x43, "gpio.get_state", (("gpio", u8),), (("state", u8),)),
        # 3.8 PLC
        cmd(PLC, 0x40, "plc.join_network", (("nid", Bytes(7)), ("nmk", Bytes(16)))),
        cmd(PLC, 0x41, "plc.change_pib", (("offset", u16), ("data", bin16(600)))),
        cmd(PLC, 0x42, "plc.read_pib", (("offset", u16), ("length", u16)), (("data", Rest()),)),
        note(PLC, 0x80, "plc.join_status", (("success", u8),)),
    ]
