"""Hypothesis properties of the C frame codec (whitebeet-hci.md 2.1, 2.2, 2.8).

tests/sanitizer/run.sh runs this file again against an AddressSanitizer + UBSan build of the
same C sources (FREEV2G_CORE_MODULE picks that module). The pure-Python decoder in
bench/baseline_decoder.py serves as an independent oracle.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freev2g import framing
from freev2g.framing import Frame, FrameDecoder, encode_frame

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("baseline_decoder", ROOT / "bench" / "baseline_decoder.py")
baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(baseline)

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL_MAX = 48  # a small max_payload makes "too long" candidates common

octet = st.integers(0, 255)
# Bytes biased towards the markers and zero so that candidates and resyncs happen often.
wire_byte = st.one_of(st.sampled_from([0xC0, 0xC1, 0x00, 0xFF]), octet)
noise = st.lists(wire_byte, max_size=40).map(bytes)
frames = st.builds(Frame, octet, octet, octet, st.binary(max_size=SMALL_MAX + 16))
small_frames = st.builds(Frame, octet, octet, octet, st.binary(max_size=SMALL_MAX))


@st.composite
def segments(draw) -> bytes:
    """One piece of a hostile stream: a valid frame, noise, or a damaged frame."""
    frame = draw(frames)
    raw = bytearray(frame.to_bytes(checksum=draw(st.booleans()), max_payload=1000))
    kind = draw(st.sampled_from(["frame", "noise", "flip", "truncate"]))
    if kind == "noise":
        return draw(noise)
    if kind == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        raw[at] ^= draw(st.integers(1, 255))
    if kind == "truncate":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    return bytes(raw)


streams = st.lists(segments(), max_size=12).map(b"".join)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def feed_all(decoder: FrameDecoder, chunks: list[bytes]) -> list[Frame]:
    return [frame for chunk in chunks for frame in decoder.feed(chunk)]


def test_runs_against_the_requested_core_module() -> None:
    assert framing.CORE_MODULE_NAME == (os.environ.get("FREEV2G_CORE_MODULE") or "freev2g._core")


@PROPS
@given(frame=frames, checksum=st.booleans())
def test_round_trip(frame: Frame, checksum: bool) -> None:
    data = frame.to_bytes(checksum=checksum)
    assert Frame.from_bytes(data) == frame
    assert FrameDecoder().feed(data) == [frame]
    assert (data[-2] == 0) == (not checksum)


@PROPS
@given(data=st.lists(wire_byte, max_size=600).map(bytes), accept_zero=st.booleans())
def test_arbitrary_bytes_never_yield_a_frame_that_is_not_in_the_input(data: bytes, accept_zero: bool) -> None:
    decoder = FrameDecoder(max_payload=SMALL_MAX, accept_zero_checksum=accept_zero)
    for frame in decoder.feed(data):
        checked = frame.to_bytes(checksum=True) in data
        unchecked = accept_zero and frame.to_bytes(checksum=False) in data
        assert checked or unchecked
    s = decoder.stats
    assert s.bytes_in == len(data) == s.frame_bytes + s.garbage_bytes + s.pending_bytes
    assert s.pending_bytes < SMALL_MAX + 8


@PROPS
@given(garbage=st.lists(wire_byte, max_size=200).map(bytes), frame=small_frames,
       cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_valid_frame_after_garbage_is_always_found(garbage: bytes, frame: Frame, cuts: list[int]) -> None:
    # Zero filler as long as the longest candidate: whatever a garbage candidate announces ends
    # inside the filler on a 0x00 where its end marker should be, so it is rejected.
    stream = garbage + bytes(SMALL_MAX + 8) + frame.to_bytes()
    decoder = FrameDecoder(max_payload=SMALL_MAX)
    got = feed_all(decoder, chunked(stream, cuts))
    assert got and got[-1] == frame
    assert decoder.pending_bytes == 0


@PROPS
@given(stream=streams, cuts=st.lists(st.integers(0, 10_000), max_size=20),
       accept_zero=st.booleans())
def test_chunking_never_changes_the_result(stream: bytes, cuts: list[int], accept_zero: bool) -> None:
    whole = FrameDecoder(max_payload=SMALL_MAX, accept_zero_checksum=accept_zero)
    pieces = FrameDecoder(max_payload=SMALL_MAX, accept_zero_checksum=accept_zero)
    assert whole.feed(stream) == feed_all(pieces, chunked(stream, cuts))
    assert whole.stats == pieces.stats


@PROPS
@given(stream=streams, batch_frames=st.integers(1, 5), cuts=st.lists(st.integers(0, 10_000), max_size=5))
def test_batch_equals_streaming(stream: bytes, batch_frames: int, cuts: list[int]) -> None:
    batched = FrameDecoder(max_payload=SMALL_MAX, batch_frames=batch_frames)
    from_batches = []
    for chunk in chunked(stream, cuts):
        for batch in batched.feed_batches(chunk):
            assert 1 <= batch.count <= batch_frames
            from_batches.extend(batch.frames())
    byte_by_byte = FrameDecoder(max_payload=SMALL_MAX)
    assert from_batches == feed_all(byte_by_byte, [stream[i:i + 1] for i in range(len(stream))])
    assert batched.stats == byte_by_byte.stats


@PROPS
@given(stream=streams, cuts=st.lists(st.integers(0, 10_000), max_size=8), accept_zero=st.booleans())
def test_c_decoder_matches_the_python_reference(stream: bytes, cuts: list[int], accept_zero: bool) -> None:
    c_decoder = FrameDecoder(max_payload=SMALL_MAX, accept_zero_checksum=accept_zero)
    reference = baseline.BaselineDecoder(max_payload=SMALL_MAX, accept_zero_checksum=accept_zero)
    for chunk in chunked(stream, cuts):
        expected = [Frame(*fields) for fields in reference.feed(chunk)]
        assert c_decoder.feed(chunk) == expected
    stats = c_decoder.stats
    assert {k: getattr(stats, k) for k in reference.stats} == reference.stats
    assert stats.pending_bytes == reference.pending_bytes


@PROPS
@given(module=octet, sub=octet, request=octet, payload=st.binary(max_size=300))
def test_checksum_verifies_by_folding_to_ff(module: int, sub: int, request: int, payload: bytes) -> None:
    data = encode_frame(module, sub, request, payload)
    total = sum(data)
    while total >> 8:
        total = (total & 0xFF) + (total >> 8)
    assert total == 0xFF and data[-2] != 0
