"""V2GTP messages on a byte stream (TCP or TLS): charging-domain.md 2.5, exi.md 6.

Each message is the 8-byte header checked by the C core (freev2g.framing.parse_v2gtp_header:
version 0x01, inverse 0xFE, known payload type, length <= max_length) and then exactly the
announced payload bytes. On a V2G connection only the EXI payload types are allowed (0x8001 for
SAP, DIN and ISO 15118-2; 0x8001..0x8006 and 0x8101..0x8104 for ISO 15118-20) plus the
manufacturer range 0xA000..0xFFFF; an SDP type there is a protocol error. A bad header cannot
be resynchronised on a stream, so the receiver raises V2gtpFrameError and the connection ends
(the sheet: drop the message and, for TCP, the connection).
"""
from __future__ import annotations

import asyncio

from attrs import field, frozen
from freev2g.framing import (
    V2GTP_HEADER_BYTES,
    V2gtpError,
    V2gtpPayloadType as PT,
    build_v2gtp,
    parse_v2gtp_header,
)

# DIN and -2 need little (the largest -2 messages carry certificate chains, ~ a few kB);
# 64 KiB leaves room for -20 schedules and signed messages. [impl] choice, configurable.
DEFAULT_MAX_PAYLOAD = 65536

STREAM_PAYLOAD_TYPES = frozenset({
    PT.EXI, PT.MAINSTREAM, PT.AC, PT.DC, PT.ACDP, PT.WPT, PT.SCHEDULE_RENEGOTIATION,
    PT.METERING_CONFIRMATION, PT.ACDP_SYSTEM_STATUS, PT.PARKING_STATUS,
})
MANUFACTURER_TYPES = range(0xA000, 0x10000)


class V2gtpFrameError(ValueError):
    """A V2GTP message on a stream that breaks the framing; says what and at which byte."""


def check_stream_type(payload_type: int) -> None:
    if payload_type not in STREAM_PAYLOAD_TYPES and payload_type not in MANUFACTURER_TYPES:
        name = PT(payload_type).name if payload_type in PT._value2member_map_ else "unknown"
        raise V2gtpFrameError(f"V2GTP payload type {payload_type:#06x} ({name}) is not allowed on a "
                              "V2G connection")


def _payload_type(value: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise ValueError(f"payload_type must be an int 0..0xffff, got {value!r}")
    return int(value)


@frozen
class V2gtpMessage:
    """One V2GTP payload and its type; the medium carries these, never decoded messages."""

    payload: bytes = field(converter=bytes)
    payload_type: int = field(default=PT.EXI, converter=_payload_type)

    def to_bytes(self) -> bytes:
        return build_v2gtp(self.payload_type, self.payload)


async def read_message(reader: asyncio.StreamReader, *, max_payload: int = DEFAULT_MAX_PAYLOAD,
                       offset: int = 0) -> V2gtpMessage | None:
    """Next message; None at a clean end of stream (before a header). `offset` is the number of
    stream bytes read before, for the error text."""
    try:
        head = await reader.readexactly(V2GTP_HEADER_BYTES)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise V2gtpFrameError(f"stream ended inside a V2GTP header at byte {offset}: "
                              f"{len(exc.partial)} of 8 bytes ({exc.partial.hex(' ')})") from None
    try:
        header = parse_v2gtp_header(head, max_length=max_payload)
    except V2gtpError as exc:
        raise V2gtpFrameError(f"bad V2GTP header at stream byte {offset} ({head.hex(' ')}): {exc}") from None
    try:
        check_stream_type(int(header.payload_type))
    except V2gtpFrameError as exc:
        raise V2gtpFrameError(f"at stream byte {offset}: {exc}") from None
    try:
        payload = await reader.readexactly(header.payload_length)
    except asyncio.IncompleteReadError as exc:
        raise V2gtpFrameError(f"stream ended inside the V2GTP message at byte {offset}: "
                              f"{len(exc.partial)} of {header.payload_length} payload bytes") from None
    return V2gtpMessage(payload, int(header.payload_type))
