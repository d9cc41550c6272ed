"""Facade for the envelopes around payloads; public names are re-exported by freev2g.framing.

* HCI over Ethernet (whitebeet-hci.md section 1.2): EtherType 0x6003, control header
  version 0x00, message type 0x04, u16 size, then one framing frame; padded to 60 bytes.
* V2GTP header (charging-domain.md section 2.5): 0x01 0xFE, u16 payload type, u32 length.
"""
from __future__ import annotations

from enum import IntEnum

from attrs import field, frozen

from .errors import CoreStatus, EncapsulationSizeError, V2gtpLengthError, raise_for_status
from .loader import load_core

_core = load_core()
ffi, lib = _core.ffi, _core.lib

ETHERTYPE_HCI: int = lib.FV2G_ETHERTYPE_HCI
ETH_HEADER_BYTES: int = lib.FV2G_ETH_HCI_HEADER_BYTES
ETH_MIN_FRAME_BYTES: int = lib.FV2G_ETH_MIN_FRAME_BYTES
# MTU 1500 minus the 4-byte control header; whitebeet-hci.md 1.2 tags this [INF], so it is a
# keyword argument of build_hci_ethernet rather than a fixed rule.
ETH_DEFAULT_MAX_HCI_FRAME_BYTES = 1496

V2GTP_HEADER_BYTES: int = lib.FV2G_V2GTP_HEADER_BYTES
# Not a spec value: a guard against absurd lengths from a peer; pass max_length to change it.
V2GTP_DEFAULT_MAX_LENGTH = 65536


class V2gtpPayloadType(IntEnum):
    """charging-domain.md 2.5; 0xA000..0xFFFF are manufacturer specific (kept as int)."""

    EXI = lib.FV2G_V2GTP_EXI  # -2 / DIN: EXI V2G message; -20: supportedAppProtocol
    MAINSTREAM = lib.FV2G_V2GTP_MAINSTREAM
    AC = lib.FV2G_V2GTP_AC
    DC = lib.FV2G_V2GTP_DC
    ACDP = lib.FV2G_V2GTP_ACDP
    WPT = lib.FV2G_V2GTP_WPT
    SCHEDULE_RENEGOTIATION = lib.FV2G_V2GTP_SCHEDULE_RENEGOTIATION
    METERING_CONFIRMATION = lib.FV2G_V2GTP_METERING_CONFIRMATION
    ACDP_SYSTEM_STATUS = lib.FV2G_V2GTP_ACDP_SYSTEM_STATUS
    PARKING_STATUS = lib.FV2G_V2GTP_PARKING_STATUS
    SDP_REQUEST = lib.FV2G_V2GTP_SDP_REQUEST
    SDP_RESPONSE = lib.FV2G_V2GTP_SDP_RESPONSE


def _mac(value: bytes | str, name: str) -> bytes:
    if isinstance(value, str):
        parts = value.replace("-", ":").split(":")
        try:
            raw = bytes(int(p, 16) for p in parts) if len(parts) == 6 else b""
        except ValueError:
            raw = b""
    else:
        raw = bytes(value)
    if len(raw) != 6:
        raise ValueError(f"{name} must be 6 bytes or 'aa:bb:cc:dd:ee:ff', got {value!r}")
    return raw


@frozen
class HciEthernetFrame:
    """One parsed HCI Ethernet frame (section 1.2); `frame` is the framing frame, unpadded."""

    dst: bytes = field(converter=bytes)
    src: bytes = field(converter=bytes)
    version: int
    message_type: int
    frame: bytes = field(converter=bytes)


def build_hci_ethernet(
    dst_mac: bytes | str,
    src_mac: bytes | str,
    frame: bytes,
    *,
    max_frame_bytes: int = ETH_DEFAULT_MAX_HCI_FRAME_BYTES,
) -> bytes:
    """dst | src | 0x6003 | 00 04 size | frame, zero padded to 60 bytes (section 1.2)."""
    dst, src = _mac(dst_mac, "dst_mac"), _mac(src_mac, "src_mac")
    if len(frame) > max_frame_bytes:
        raise EncapsulationSizeError(
            f"framing frame of {len(frame)} bytes exceeds {max_frame_bytes} bytes per Ethernet frame"
        )
    cap = max(ETH_MIN_FRAME_BYTES, ETH_HEADER_BYTES + len(frame))
    out = ffi.new("uint8_t[]", cap)
    n = lib.fv2g_eth_build(dst, src, ffi.from_buffer("uint8_t[]", frame), len(frame), out, cap)
    raise_for_status(n, f"cannot encapsulate a framing frame of {len(frame)} bytes")
    return ffi.buffer(out, n)[:]


def parse_hci_ethernet(data: bytes) -> HciEthernetFrame:
    """Checks EtherType, control-header version/type and size; ignores trailing padding.

    Raises EtherTypeError, EncapsulationVersionError, EncapsulationTypeError,
    EncapsulationSizeError or FrameLengthError (shorter than the headers).
    """
    view = ffi.new("fv2g_eth_view *")
    status = lib.fv2g_eth_parse(ffi.from_buffer("uint8_t[]", data), len(data), view)
    if status < 0:
        raise_for_status(status, _describe_eth(data, view, status))
    start = view.frame_offset
    return HciEthernetFrame(data[0:6], data[6:12], view.version, view.message_type,
                            data[start:start + view.frame_length])


def _describe_eth(data: bytes, view: object, status: int) -> str:
    if status == CoreStatus.TRUNCATED:
        return f"Ethernet frame of {len(data)} bytes is shorter than the HCI headers"
    if status == CoreStatus.ETHERTYPE:
        return f"EtherType {view.ethertype:#06x} is not HCI ({ETHERTYPE_HCI:#06x})"
    if status == CoreStatus.ENCAP_VERSION:
        return f"control header version {view.version:#04x}, expected 0x00"
    if status == CoreStatus.ENCAP_TYPE:
        return f"control header message type {view.message_type:#04x}, expected 0x04 (framing)"
    return (f"control header size {view.frame_length} does not fit: {len(data) - ETH_HEADER_BYTES} "
            f"bytes follow the headers, a framing frame has at least 8")


@frozen
class V2gtpHeader:
    """The 8-byte V2GTP header (charging-domain.md 2.5)."""

    version: int
    inverse_version: int
    payload_type: V2gtpPayloadType | int
    payload_length: int


def build_v2gtp(payload_type: int, payload: bytes) -> bytes:
    """Header + payload; payload_type is any u16 (a V2gtpPayloadType or manufacturer type)."""
    if not isinstance(payload_type, int) or not 0 <= payload_type <= 0xFFFF:
        raise ValueError(f"payload_type must be an int 0..0xffff, got {payload_type!r}")
    if len(payload) > 0xFFFFFFFF:
        raise V2gtpLengthError(f"payload of {len(payload)} bytes does not fit a u32 length")
    header = ffi.new("uint8_t[]", V2GTP_HEADER_BYTES)
    n = lib.fv2g_v2gtp_build_header(payload_type, len(payload), header, V2GTP_HEADER_BYTES)
    raise_for_status(n, "cannot build a V2GTP header")
    return ffi.buffer(header, n)[:] + bytes(payload)


def parse_v2gtp_header(data: bytes, max_length: int = V2GTP_DEFAULT_MAX_LENGTH) -> V2gtpHeader:
    """Checks the first 8 bytes (version 0x01/0xFE, known payload type, length <= max_length)."""
    raw = ffi.new("fv2g_v2gtp_header *")
    status = lib.fv2g_v2gtp_parse_header(ffi.from_buffer("uint8_t[]", data), len(data),
                                         min(max_length, 0xFFFFFFFF), raw)
    if status < 0:
        messages = {
            CoreStatus.TRUNCATED: f"V2GTP header needs {V2GTP_HEADER_BYTES} bytes, got {len(data)}",
            CoreStatus.V2GTP_VERSION: f"V2GTP version {raw.version:#04x}/{raw.inverse_version:#04x}, "
                                      "expected 0x01/0xfe",
            CoreStatus.V2GTP_PAYLOAD_TYPE: f"unknown V2GTP payload type {raw.payload_type:#06x}",
            CoreStatus.V2GTP_LENGTH: f"V2GTP payload length {raw.payload_length} exceeds "
                                     f"max_length {max_length}",
        }
        raise_for_status(status, messages.get(status, "bad V2GTP header"))
    try:
        payload_type: V2gtpPayloadType | int = V2gtpPayloadType(raw.payload_type)
    except ValueError:
        payload_type = raw.payload_type
    return V2gtpHeader(raw.version, raw.inverse_version, payload_type, raw.payload_length)


def parse_v2gtp(data: bytes, max_length: int = V2GTP_DEFAULT_MAX_LENGTH) -> tuple[V2gtpHeader, bytes]:
    """Exactly one V2GTP message (e.g. one SDP datagram): (header, payload)."""
    header = parse_v2gtp_header(data, max_length)
    expected = V2GTP_HEADER_BYTES + header.payload_length
    if len(data) != expected:
        raise V2gtpLengthError(
            f"V2GTP message announces {header.payload_length} payload bytes, "
            f"got {len(data) - V2GTP_HEADER_BYTES}"
        )
    return header, bytes(data[V2GTP_HEADER_BYTES:expected])
