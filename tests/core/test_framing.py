"""HCI frame codec through the public facade: known answers from whitebeet-hci.md section 2
(2.2 checksum table incl. the 0xFF case, 1.3 SPI example, 5.1/7.1 byte-exact frames) and the
streaming decoder's behaviour on the error cases it counts."""
from __future__ import annotations

import pytest

from freev2g.framing import (
    DEFAULT_MAX_PAYLOAD,
    ChecksumError,
    CoreStatus,
    Frame,
    FrameDecoder,
    FrameLengthError,
    FrameMarkerError,
    FramingError,
    encode_frame,
    frame_checksum,
)

H = bytes.fromhex

# (frame, raw byte sum with checksum 0x00) from section 2.2's table.
CHECKSUM_TABLE = [
    ("C0 10 41 01 00 00 2B C1", 0x1D3),
    ("C0 29 44 02 00 02 00 32 D9 C1", 0x224),
    ("C0 28 80 FF 00 00 D4 C1", 0x328),
    ("C0 0E 00 01 00 01 6D FF C1", 0x1FE),  # folds to 0xFF: checksum stays 0xFF
    ("C0 10 59 1A 00 09 00 07 31 2E 30 2E 30 2E 30 9D C1", 0x35F),
]

# Every other frame printed in the sheet (2.2 extra list, 5.1 example, 7.1 start-up and answers).
SHEET_FRAMES = [
    "C0 05 42 00 00 01 00 35 C1",
    "C0 05 51 00 00 01 00 26 C1",
    "C0 30 40 00 00 02 00 00 0B C1",
    "C0 05 4D 00 00 11 00 52 60 2A BD B2 21 BC C9 DB 83 47 F2 69 93 42 4D FE C1",
    "C0 10 41 01 00 09 00 07 31 2E 32 2E 30 2E 30 CC C1",
    "C0 28 43 02 00 00 10 C1",
    "C0 29 43 03 00 00 0E C1",
    "C0 27 41 04 00 00 11 C1",
    "C0 05 55 05 00 01 00 1D C1",
    "C0 29 40 06 00 01 01 0C C1",
    "C0 29 44 07 00 02 03 E8 1B C1",
    "C0 29 42 08 00 00 0A C1",
    "C0 28 42 09 00 01 01 08 C1",
    "C0 29 48 0A 00 00 02 C1",
    "C0 28 44 0B 00 00 06 C1",
    "C0 29 44 0C 00 02 00 32 CF C1",
    "C0 27 40 0D 00 01 01 07 C1",
    "C0 28 43 02 00 01 10 FE C1",
    "C0 29 43 03 00 01 05 08 C1",
    "C0 27 41 04 00 02 00 02 0D C1",
    "C0 29 48 0A 00 02 00 01 FE C1",
]
ALL_FRAMES = [f for f, _ in CHECKSUM_TABLE] + SHEET_FRAMES


def fold(total: int) -> int:
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFF) + (total >> 8)
    return (total & 0xFF) + (total >> 8)


@pytest.mark.parametrize(("hex_frame", "raw_sum"), CHECKSUM_TABLE)
def test_checksum_table(hex_frame: str, raw_sum: int) -> None:
    frame = H(hex_frame)
    assert sum(frame) - frame[-2] == raw_sum
    assert frame_checksum(frame) == frame[-2]
    assert fold(sum(frame)) == 0xFF  # verification rule: sum including the checksum folds to 0xFF


def test_checksum_ff_special_case_is_never_zero() -> None:
    frame = H("C0 0E 00 01 00 01 6D FF C1")
    assert frame_checksum(frame) == 0xFF
    assert encode_frame(0x0E, 0x00, 0x01, b"\x6d") == frame
    assert Frame.from_bytes(frame, accept_zero_checksum=False) == Frame(0x0E, 0x00, 0x01, b"\x6d")


@pytest.mark.parametrize("hex_frame", ALL_FRAMES)
def test_sheet_frames_parse_and_reencode_byte_exact(hex_frame: str) -> None:
    data = H(hex_frame)
    frame = Frame.from_bytes(data, accept_zero_checksum=False)
    assert (frame.module_id, frame.sub_id, frame.request_id) == (data[1], data[2], data[3])
    assert len(frame.payload) == int.from_bytes(data[4:6], "big")
    assert frame.to_bytes() == data
    assert encode_frame(frame.module_id, frame.sub_id, frame.request_id, frame.payload) == data


def test_spi_example_frame_without_checksum() -> None:
    data = H("C0 0E 00 01 00 05 01 02 03 04 05 00 C1")  # section 1.3, checksum disabled
    assert encode_frame(0x0E, 0x00, 0x01, b"\x01\x02\x03\x04\x05", checksum=False) == data
    assert Frame.from_bytes(data).payload == b"\x01\x02\x03\x04\x05"
    with pytest.raises(ChecksumError) as info:
        Frame.from_bytes(data, accept_zero_checksum=False)
    assert info.value.status is CoreStatus.UNCHECKED_REFUSED


@pytest.mark.parametrize(
    ("hex_frame", "error", "status", "fragment"),
    [
        ("C1 10 41 01 00 00 2B C1", FrameMarkerError, CoreStatus.BAD_START_MARKER, "0xc1"),
        ("C0 10 41 01 00 00 2B C2", FrameMarkerError, CoreStatus.BAD_END_MARKER, "0xc2"),
        ("C0 10 41 01 00 00 2C C1", ChecksumError, CoreStatus.BAD_CHECKSUM, "expected 0x2b"),
        ("C0 10 41 01 00 01 2B C1", FrameLengthError, CoreStatus.TRUNCATED, "needs 9 bytes"),
        ("C0 10 41 01 00 00 2B C1 00", FrameLengthError, CoreStatus.TRAILING_BYTES, "1 bytes after"),
        ("C0 10 41", FrameLengthError, CoreStatus.TRUNCATED, "truncated"),
        ("C0 10 41 01 0F F9", FrameLengthError, CoreStatus.FRAME_TOO_LONG, "max_payload 4088"),
    ],
)
def test_from_bytes_errors_name_the_problem(hex_frame, error, status, fragment) -> None:
    with pytest.raises(error) as info:
        Frame.from_bytes(H(hex_frame))
    assert info.value.status is status
    assert fragment in str(info.value)
    assert isinstance(info.value, FramingError) and isinstance(info.value, ValueError)


def test_frame_value_object_validates_and_converts() -> None:
    assert Frame(1, 2, 3, bytearray(b"ab")).payload == b"ab"
    for bad in (-1, 256, "1"):
        with pytest.raises(ValueError, match="module_id"):
            Frame(bad, 0, 0)
    with pytest.raises(ValueError, match="request_id"):
        encode_frame(0, 0, 300)


def test_encode_length_limit_is_configurable() -> None:
    payload = bytes(DEFAULT_MAX_PAYLOAD + 1)
    with pytest.raises(FrameLengthError, match="4089 bytes exceeds max_payload 4088"):
        encode_frame(0x27, 0x6C, 1, payload)
    data = encode_frame(0x27, 0x6C, 1, payload, max_payload=6000)
    assert len(data) == DEFAULT_MAX_PAYLOAD + 1 + 8
    with pytest.raises(FrameLengthError):
        Frame.from_bytes(data)
    assert Frame.from_bytes(data, max_payload=6000).payload == payload


# ---- streaming decoder -----------------------------------------------------------------------

STARTUP = b"".join(H(f) for f in SHEET_FRAMES[5:18])  # the EVSE start-up of section 7.1


def test_decoder_whole_stream_and_byte_by_byte_agree() -> None:
    expected = [Frame.from_bytes(H(f)) for f in SHEET_FRAMES[5:18]]
    assert FrameDecoder().feed(STARTUP) == expected
    decoder = FrameDecoder()
    got = [frame for i in range(len(STARTUP)) for frame in decoder.feed(STARTUP[i:i + 1])]
    assert got == expected
    stats = decoder.stats
    assert (stats.frames, stats.frame_bytes, stats.garbage_bytes, stats.errors) == (13, len(STARTUP), 0, 0)
    assert stats.bytes_in == len(STARTUP) and stats.pending_bytes == 0


def test_decoder_uses_length_field_not_end_marker_scanning() -> None:
    payload = b"\xc1\xc0\xc1\xc0\x00\xc1"  # markers inside the payload: no byte stuffing exists
    data = encode_frame(0x27, 0x85, 0xFF, payload)
    assert FrameDecoder().feed(data + data) == [Frame(0x27, 0x85, 0xFF, payload)] * 2


def test_decoder_counts_each_error_kind_and_resynchronises() -> None:
    good = H("C0 28 80 FF 00 00 D4 C1")
    bad_checksum = H("C0 29 44 02 00 02 00 32 D8 C1")
    bad_end = H("C0 10 41 01 00 00 2B C0")[:-1] + b"\x00"
    too_long = H("C0 10 41 01 10 00")  # 4096-byte payload announced
    garbage = b"\x11\x22\x33"
    decoder = FrameDecoder()
    frames = decoder.feed(garbage + bad_checksum + good + bad_end + good + too_long + good)
    assert frames == [Frame(0x28, 0x80, 0xFF)] * 3
    s = decoder.stats
    assert (s.bad_checksum, s.bad_end_marker, s.too_long, s.frames) == (1, 1, 1, 3)
    assert s.bytes_in == s.frame_bytes + s.garbage_bytes + s.pending_bytes
    assert s.frame_bytes == 3 * len(good)


def test_decoder_finds_frame_hidden_inside_a_rejected_candidate() -> None:
    hidden = encode_frame(0x0E, 0x01, 0x07, b"ok")
    # A candidate whose length field swallows the hidden frame and whose end marker is wrong.
    fake_header = b"\xc0\x01\x02\x03\x00" + bytes([len(hidden) + 4])
    stream = fake_header + hidden + b"\x00\x00\x00\x00\x00\x00" + encode_frame(1, 2, 3)
    for split in range(len(stream) + 1):  # also across feed calls (the buffered path)
        decoder = FrameDecoder()
        got = decoder.feed(stream[:split]) + decoder.feed(stream[split:])
        assert got == [Frame(0x0E, 0x01, 0x07, b"ok"), Frame(1, 2, 3)], split
        assert decoder.stats.bad_end_marker == 1


def test_decoder_zero_checksum_policy() -> None:
    unchecked = encode_frame(0x0E, 0x01, 0x01, b"abc", checksum=False)
    lenient = FrameDecoder()
    assert lenient.feed(unchecked) == [Frame(0x0E, 0x01, 0x01, b"abc")]
    assert lenient.stats.unchecked == 1
    strict = FrameDecoder(accept_zero_checksum=False)
    assert strict.feed(unchecked) == []
    assert strict.stats.bad_checksum == 1


def test_decoder_max_payload_is_configurable_and_rejects_early() -> None:
    big = encode_frame(0x27, 0x6C, 1, bytes(100), max_payload=100)
    small = FrameDecoder(max_payload=99)
    assert small.feed(big[:6]) == []  # rejected as soon as the header is seen
    assert small.stats.too_long == 1 and small.pending_bytes == 0
    assert FrameDecoder(max_payload=100).feed(big) == [Frame(0x27, 0x6C, 1, bytes(100))]
    with pytest.raises(ValueError, match="max_payload"):
        FrameDecoder(max_payload=70000)


def test_decoder_reset_drops_partial_frame_and_counters() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x00" + STARTUP[:5])
    assert decoder.pending_bytes == 5
    decoder.reset()
    assert decoder.stats == FrameDecoder().stats
    assert decoder.feed(STARTUP[5:]) == FrameDecoder().feed(STARTUP[5:])


def test_batch_api_arrays_and_small_batches() -> None:
    frames = [Frame(0x27, i, i, bytes([i]) * i) for i in range(50)]
    stream = b"".join(f.to_bytes() for f in frames)
    decoder = FrameDecoder(batch_frames=7)
    batches = list(decoder.feed_batches(stream))
    assert [b.count for b in batches] == [7] * 7 + [1]
    first = batches[-1]  # views are reused: only the last batch is still intact
    assert first.module_ids.tolist() == [0x27]
    assert first.sub_ids.tolist() == [49] and first.request_ids.tolist() == [49]
    off, n = first.payload_offsets[0], first.payload_lengths[0]
    assert bytes(first.payload[off:off + n]) == bytes([49]) * 49
    assert first.checksums[0] == frames[49].to_bytes()[-2]
    # A batch that fills up in the middle of the internal buffer (after a rescan) resumes.
    one = FrameDecoder(batch_frames=1)
    hidden = encode_frame(1, 1, 1) + encode_frame(2, 2, 2)
    stream = b"\xc0\x05\x05\x05\x00" + bytes([len(hidden) + 2]) + hidden + b"\x00\x00" + encode_frame(3, 3, 3)
    got = one.feed(stream[:10]) + one.feed(stream[10:])
    assert [f.module_id for f in got] == [1, 2, 3]


def test_decoder_accepts_bytearray_and_memoryview_and_empty() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(bytearray(STARTUP[:20])) + decoder.feed(memoryview(STARTUP)[20:]) == FrameDecoder().feed(STARTUP)


def test_decoder_refuses_nested_feed_while_batches_are_read() -> None:
    decoder = FrameDecoder(batch_frames=1)
    batches = decoder.feed_batches(STARTUP)
    next(batches)
    with pytest.raises(RuntimeError, match="already being fed"):
        decoder.feed(STARTUP)
    with pytest.raises(RuntimeError, match="reset"):
        decoder.reset()
    rest = sum(batch.count for batch in batches)
    assert rest == 12 and decoder.feed(b"") == []  # usable again once the generator finished
