"""The freev2g board UART protocol, version 1 (PROTOCOL.md): one table, both directions.

Every message is one HCI-style frame of the C core's codec (freev2g.framing: start marker,
module id, sub id, request id, 16-bit length, payload, checksum, end marker). `module_id` is
the message group, `sub_id` the message, `request_id` a sequence number that a response
echoes. Payload fields are big-endian fixed-size integers in milli-units, optionally followed by
one UTF-8 text tail. Encoding and decoding both read MESSAGES, so they cannot drift.
"""
from __future__ import annotations

import struct
from enum import IntEnum
from typing import Any

from attrs import frozen
from freev2g.framing import Frame, encode_frame

PROTOCOL_VERSION = 1
MAX_PAYLOAD = 64  # small on purpose: a stray start marker in line noise stalls the decoder briefly
NO_VALUE_MV = 0x7FFFFFFF  # "no negative plateau" (X1) in cp events
PP_NOT_APPLICABLE = 0xFFFF


class Group(IntEnum):
    SYSTEM = 0x01  # both directions: hello, heartbeat
    COMMAND = 0x10  # host -> board
    RESPONSE = 0x11  # board -> host, sub id and request id of the command
    EVENT = 0x20  # board -> host, unsolicited


class Status(IntEnum):
    OK = 0
    BAD_REQUEST = 1
    DEVICE_FAULT = 2
    UNSUPPORTED = 3
    BAD_VERSION = 4


class FaultCode(IntEnum):
    OTHER = 0
    IMD_FAULT = 1
    OVER_VOLTAGE = 2
    PSU_FAULT = 3
    LOCK_FAILURE = 4
    CP_SHORT = 5
    MISSING_DIODE = 6
    RCD_TRIP = 7
    CONTACTOR_WELDED = 8
    HOST_TIMEOUT = 9  # the board saw no host frame within its timeout and went to a safe state


PSU_MODE_CODES = {"off": 0, "export": 1, "import": 2, "precharge": 3, "cable_check": 4}
PSU_MODE_NAMES = {v: k for k, v in PSU_MODE_CODES.items()}

Fields = tuple[tuple[str, str], ...]  # (name, struct code); code "text" = UTF-8 tail


@frozen
class MessageDef:
    name: str
    group: Group
    sub_id: int
    fields: Fields = ()
    response: Fields = ()  # extra fields after the status byte of the RESPONSE (commands only)


_DEFS = (
    # system
    MessageDef("hello", Group.SYSTEM, 0x01, (("version", "B"), ("heartbeat_ms", "H"), ("ident", "text"))),
    MessageDef("heartbeat", Group.SYSTEM, 0x02, (("uptime_ms", "I"),)),
    # commands
    MessageDef("set_pwm", Group.COMMAND, 0x01, (("duty_centi_pct", "H"),)),
    MessageDef("allow_power", Group.COMMAND, 0x02, (("allow", "B"), ("phases", "B"))),
    MessageDef("lock", Group.COMMAND, 0x03),
    MessageDef("unlock", Group.COMMAND, 0x04),
    MessageDef("psu_mode", Group.COMMAND, 0x05, (("mode", "B"),)),
    MessageDef("psu_setpoints", Group.COMMAND, 0x06, (("voltage_mV", "i"), ("current_mA", "i"))),
    MessageDef("ovm_limit", Group.COMMAND, 0x07, (("limit_mV", "i"),)),
    MessageDef("imd_start", Group.COMMAND, 0x08),
    MessageDef("imd_stop", Group.COMMAND, 0x09),
    MessageDef("imd_self_test", Group.COMMAND, 0x0A, (("test_voltage_mV", "i"),), (("passed", "B"),)),
    MessageDef("imd_read", Group.COMMAND, 0x0B, (),
               (("r_f_Ohm", "I"), ("r_n_Ohm", "I"), ("voltage_mV", "i"))),
    # events
    MessageDef("cp", Group.EVENT, 0x01,
               (("state", "B"), ("positive_mV", "i"), ("negative_mV", "i"), ("duty_centi_pct", "H"))),
    MessageDef("relay", Group.EVENT, 0x02, (("closed", "B"), ("phases", "B"))),
    MessageDef("lock_state", Group.EVENT, 0x03, (("locked", "B"),)),
    MessageDef("fault", Group.EVENT, 0x04, (("code", "B"), ("active", "B"), ("text", "text"))),
    MessageDef("meter", Group.EVENT, 0x05,
               (("import_mWh", "Q"), ("export_mWh", "Q"), ("power_mW", "q"), ("voltage_mV", "i"),
                ("current_mA", "i"))),
    MessageDef("psu", Group.EVENT, 0x06, (("voltage_mV", "i"), ("current_mA", "i"))),
    MessageDef("pp", Group.EVENT, 0x07, (("rating_dA", "H"),)),
)
MESSAGES: dict[str, MessageDef] = {d.name: d for d in _DEFS}
_BY_ID: dict[tuple[int, int], MessageDef] = {(int(d.group), d.sub_id): d for d in _DEFS}


class ProtocolError(ValueError):
    """A frame that does not follow the board protocol (unknown id, wrong payload size)."""


@frozen
class Message:
    name: str
    group: Group
    request_id: int
    values: dict[str, Any]
    status: Status = Status.OK  # responses only


def _layout(fields: Fields) -> tuple[struct.Struct, list[str], bool]:
    fixed = [(n, c) for n, c in fields if c != "text"]
    has_text = len(fixed) != len(fields)
    return struct.Struct(">" + "".join(c for _, c in fixed)), [n for n, _ in fixed], has_text


def _pack(fields: Fields, values: dict[str, Any], where: str) -> bytes:
    layout, names, has_text = _layout(fields)
    unknown = set(values) - {n for n, _ in fields}
    if unknown:
        raise ProtocolError(f"{where}: unknown field(s) {sorted(unknown)}")
    try:
        body = layout.pack(*(int(values[n]) for n in names))
    except KeyError as exc:
        raise ProtocolError(f"{where}: missing field {exc.args[0]!r}") from None
    except struct.error as exc:
        raise ProtocolError(f"{where}: {exc}") from None
    if has_text:
        body += str(values.get(fields[-1][0], "")).encode("utf-8")
    return body


def _unpack(fields: Fields, payload: bytes, where: str) -> dict[str, Any]:
    layout, names, has_text = _layout(fields)
    if len(payload) < layout.size or (not has_text and len(payload) != layout.size):
        raise ProtocolError(f"{where}: payload of {len(payload)} bytes, expected {layout.size}"
                            f"{' or more' if has_text else ''}")
    values = dict(zip(names, layout.unpack_from(payload)))
    if has_text:
        values[fields[-1][0]] = payload[layout.size:].decode("utf-8", errors="replace")
    return values


def encode(name: str, request_id: int, **values: Any) -> bytes:
    """A command, event or system message as one checksummed frame."""
    d = MESSAGES[name]
    return encode_frame(int(d.group), d.sub_id, request_id & 0xFF, _pack(d.fields, values, name),
                        max_payload=MAX_PAYLOAD)


def encode_response(name: str, request_id: int, status: Status = Status.OK, text: str = "", **values: Any) -> bytes:
    """The answer to command `name`: status byte, then its response fields (OK) or a text."""
    d = MESSAGES[name]
    if d.group is not Group.COMMAND:
        raise ProtocolError(f"{name} is not a command")
    body = bytes([int(status)])
    body += _pack(d.response, values, f"{name} response") if status is Status.OK else text.encode("utf-8")
    return encode_frame(int(Group.RESPONSE), d.sub_id, request_id & 0xFF, body[:MAX_PAYLOAD],
                        max_payload=MAX_PAYLOAD)


def decode(frame: Frame) -> Message:
    """Interpret one frame; raises ProtocolError for anything not in MESSAGES."""
    if frame.module_id == Group.RESPONSE:
        d = _BY_ID.get((int(Group.COMMAND), frame.sub_id))
        if d is None or not frame.payload:
            raise ProtocolError(f"response to unknown command {frame.sub_id:#04x} or empty payload")
        try:
            status = Status(frame.payload[0])
        except ValueError:
            raise ProtocolError(f"{d.name} response: unknown status {frame.payload[0]}") from None
        if status is Status.OK:
            values = _unpack(d.response, frame.payload[1:], f"{d.name} response")
        else:
            values = {"text": frame.payload[1:].decode("utf-8", errors="replace")}
        return Message(d.name, Group.RESPONSE, frame.request_id, values, status)
    d = _BY_ID.get((frame.module_id, frame.sub_id))
    if d is None:
        raise ProtocolError(f"unknown message {frame.module_id:#04x}/{frame.sub_id:#04x}")
    return Message(d.name, d.group, frame.request_id, _unpack(d.fields, frame.payload, d.name))
