"""Ethernet encapsulation (whitebeet-hci.md 1.2) and V2GTP header (charging-domain.md 2.5)."""
from __future__ import annotations

import pytest

from freev2g.framing import (
    ETH_MIN_FRAME_BYTES,
    ETHERTYPE_HCI,
    CoreStatus,
    EncapsulationError,
    EncapsulationSizeError,
    EncapsulationTypeError,
    EncapsulationVersionError,
    EtherTypeError,
    Frame,
    FrameLengthError,
    HciEthernetFrame,
    V2gtpHeader,
    V2gtpLengthError,
    V2gtpPayloadType,
    V2gtpPayloadTypeError,
    V2gtpVersionError,
    build_hci_ethernet,
    build_v2gtp,
    encode_frame,
    parse_hci_ethernet,
    parse_v2gtp,
    parse_v2gtp_header,
)

H = bytes.fromhex
MODULE = H("00 01 01 63 77 33")
HOST = H("00 22 22 22 22 22")
# Section 1.2 worked example: "Start SLAC as EVSE", request 0x02, checksum computed.
WORKED = H("00 01 01 63 77 33 00 22 22 22 22 22 60 03 00 04 00 09 C0 28 42 02 00 01 01 0F C1")


def test_worked_example_builds_byte_exact_plus_padding() -> None:
    frame = encode_frame(0x28, 0x42, 0x02, b"\x01")
    assert frame == WORKED[18:]
    wire = build_hci_ethernet(MODULE, HOST, frame)
    assert ETHERTYPE_HCI == 0x6003
    assert len(wire) == ETH_MIN_FRAME_BYTES == 60
    assert wire[: len(WORKED)] == WORKED and wire[len(WORKED):] == bytes(60 - len(WORKED))


def test_worked_example_parses_and_padding_is_ignored() -> None:
    expected = HciEthernetFrame(MODULE, HOST, 0x00, 0x04, WORKED[18:])
    assert parse_hci_ethernet(WORKED) == expected
    assert parse_hci_ethernet(WORKED + bytes(33)) == expected
    assert Frame.from_bytes(parse_hci_ethernet(WORKED).frame) == Frame(0x28, 0x42, 0x02, b"\x01")


def test_large_frame_is_not_padded_and_mac_strings_are_accepted() -> None:
    frame = encode_frame(0x27, 0x6C, 5, bytes(range(200)))
    wire = build_hci_ethernet("00:01:01:63:77:33", "00-22-22-22-22-22", frame)
    assert len(wire) == 18 + len(frame)
    assert parse_hci_ethernet(wire).frame == frame


@pytest.mark.parametrize(
    ("patch", "error", "status", "fragment"),
    [
        ((12, b"\x88\xe1"), EtherTypeError, CoreStatus.ETHERTYPE, "0x88e1"),
        ((14, b"\x01"), EncapsulationVersionError, CoreStatus.ENCAP_VERSION, "version 0x01"),
        ((15, b"\x05"), EncapsulationTypeError, CoreStatus.ENCAP_TYPE, "type 0x05"),
        ((16, b"\x00\x0a"), EncapsulationSizeError, CoreStatus.ENCAP_SIZE, "size 10"),
        ((16, b"\x00\x07"), EncapsulationSizeError, CoreStatus.ENCAP_SIZE, "size 7"),
    ],
)
def test_parse_rejects_with_distinct_errors(patch, error, status, fragment) -> None:
    at, value = patch
    data = WORKED[:at] + value + WORKED[at + len(value):]
    with pytest.raises(error) as info:
        parse_hci_ethernet(data)
    assert info.value.status is status and fragment in str(info.value)
    assert isinstance(info.value, EncapsulationError)


def test_parse_truncated_and_bad_arguments() -> None:
    with pytest.raises(FrameLengthError):
        parse_hci_ethernet(WORKED[:16])
    with pytest.raises(EtherTypeError):  # non-HCI traffic bridged by the module (1.2): reject
        parse_hci_ethernet(WORKED[:12] + b"\x08\x00" + bytes(46))
    with pytest.raises(ValueError, match="dst_mac"):
        build_hci_ethernet(b"\x00" * 5, HOST, WORKED[18:])
    with pytest.raises(ValueError, match="src_mac"):
        build_hci_ethernet(MODULE, "zz:01:01:63:77:33", WORKED[18:])
    with pytest.raises(EncapsulationSizeError, match="1497 bytes exceeds 1496"):
        build_hci_ethernet(MODULE, HOST, bytes(1497))
    assert len(build_hci_ethernet(MODULE, HOST, bytes(1497), max_frame_bytes=1497)) == 18 + 1497


# ---- V2GTP ------------------------------------------------------------------------------------


def test_v2gtp_known_answer_sdp_request() -> None:
    # SDP request: security 0x10 (TCP), transport 0x00 -> header 01 FE 90 00 00 00 00 02.
    message = build_v2gtp(V2gtpPayloadType.SDP_REQUEST, b"\x10\x00")
    assert message == H("01 FE 90 00 00 00 00 02 10 00")
    header, payload = parse_v2gtp(message)
    assert header == V2gtpHeader(0x01, 0xFE, V2gtpPayloadType.SDP_REQUEST, 2)
    assert payload == b"\x10\x00"


@pytest.mark.parametrize("payload_type", [*V2gtpPayloadType, 0xA000, 0xFFFF])
def test_v2gtp_round_trip_every_type(payload_type: int) -> None:
    body = bytes(range(7))
    header, payload = parse_v2gtp(build_v2gtp(payload_type, body))
    assert header.payload_type == payload_type and payload == body
    assert isinstance(header.payload_type, V2gtpPayloadType) == (payload_type < 0xA000)


def test_v2gtp_rejections() -> None:
    good = build_v2gtp(V2gtpPayloadType.EXI, b"\x80\x00")
    with pytest.raises(V2gtpVersionError, match="0x02/0xfe"):
        parse_v2gtp(b"\x02" + good[1:])
    with pytest.raises(V2gtpVersionError, match="0x01/0xfd"):
        parse_v2gtp(good[:1] + b"\xfd" + good[2:])
    with pytest.raises(V2gtpPayloadTypeError, match="0x8007"):
        parse_v2gtp(good[:2] + b"\x80\x07" + good[4:])
    with pytest.raises(V2gtpLengthError, match="exceeds max_length 1"):
        parse_v2gtp(good, max_length=1)
    with pytest.raises(V2gtpLengthError, match="announces 2 payload bytes, got 1"):
        parse_v2gtp(good[:-1])
    with pytest.raises(V2gtpLengthError, match="got 3"):
        parse_v2gtp(good + b"\x00")
    with pytest.raises(FrameLengthError, match="needs 8 bytes"):
        parse_v2gtp_header(good[:7])
    with pytest.raises(ValueError, match="payload_type"):
        build_v2gtp(0x10000, b"")


def test_v2gtp_header_only_for_stream_readers() -> None:
    message = build_v2gtp(V2gtpPayloadType.DC, bytes(300))
    assert parse_v2gtp_header(message[:8]).payload_length == 300
