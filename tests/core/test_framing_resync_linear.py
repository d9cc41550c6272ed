"""The C stream decoder's resync stays linear in its input (issue #10, whitebeet-hci.md 2.8).

A crafted stream of repeated near-frames (bench/near_frames.py: a start marker, a header whose
length runs into later near-frames, an end marker where the length says, a wrong checksum)
makes every candidate announce up to 4096 bytes, and the search resumes one byte after each
rejected start marker. The decoder's own work counters (FrameDecoder.work) must stay within a
small constant times the bytes fed, however the stream is cut. Work is counted, not time
(timing is measured in bench/bench_resync.py). Nothing is faked: the real C core decodes real
byte strings.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from freev2g.framing import WIRE_MAX_PAYLOAD, Frame, FrameDecoder, encode_frame

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


near_frames = _load("near_frames")
baseline = _load("baseline_decoder")

GOOD = Frame(0x28, 0x42, 0x02, b"\x01")  # whitebeet-hci.md 1.2 worked example


def feed_in(decoder: FrameDecoder, data: bytes, chunk: int) -> list[Frame]:
    view = memoryview(data)
    return [f for start in range(0, len(data), chunk) for f in decoder.feed(view[start:start + chunk])]


def assert_linear(decoder: FrameDecoder, fed: int) -> None:
    """Bounds from hci_frame.c: a byte is searched once (a start marker at most once more, when
    the decoder goes back from its buffer to the caller's input); read for checksums at most
    twice (once as a fresh candidate, once into the running sums that later overlapping
    candidates reuse); copied at most three times (into the candidate buffer, when the buffer
    is compacted, and as a tail again after going back to the input). One frame of slack for a
    candidate judged again after a full batch. Before the fix these were hundreds of times the
    input for the near-frame streams."""
    work, frame = decoder.work, decoder.max_payload + 8
    assert work.scanned_bytes <= 2 * fed, work
    assert work.summed_bytes <= 2 * fed + frame, work
    assert work.copied_bytes <= 3 * fed + frame, work
    assert work.checks <= 3 * fed, work
    assert work.examined_bytes <= 7 * fed + 2 * frame, work


@pytest.mark.parametrize("chunk", [1 << 30, 65536, 1500, 7])
def test_repeated_near_frames_cost_linear_work_and_the_next_frame_is_found(chunk: int) -> None:
    crafted = near_frames.repeated(256 * 1024)
    # Zero filler longer than any candidate: whatever a near-frame announces ends on 0x00.
    stream = crafted + bytes(4096) + GOOD.to_bytes()
    decoder = FrameDecoder()
    assert feed_in(decoder, stream, chunk) == [GOOD]
    s = decoder.stats
    # Every near-frame is rejected: for its checksum, or (the last 511, ending in the filler)
    # for its end marker.
    assert s.frames == 1 and s.pending_bytes == 0
    assert (s.bad_checksum, s.bad_end_marker) == (len(crafted) // 8 - 511, 511)
    assert s.bytes_in == len(stream) == s.frame_bytes + s.garbage_bytes
    assert_linear(decoder, len(stream))


def test_one_byte_at_a_time() -> None:
    stream = near_frames.repeated(24 * 1024) + bytes(4096) + GOOD.to_bytes()
    decoder = FrameDecoder()
    assert feed_in(decoder, stream, 1) == [GOOD]
    assert_linear(decoder, len(stream))


@pytest.mark.parametrize("chunk", [1 << 30, 4096, 100])
def test_mixed_lengths_cost_linear_work_and_match_the_reference(chunk: int) -> None:
    # Lengths vary from candidate to candidate: a running sum that only slides forward would
    # have to be unwound for every short candidate after a long one.
    stream = near_frames.mixed(128 * 1024)
    decoder = FrameDecoder()
    got = feed_in(decoder, stream, chunk)
    reference = baseline.BaselineDecoder()
    assert got == [Frame(*fields) for fields in reference.feed(stream)]
    stats = decoder.stats
    assert {k: getattr(stats, k) for k in reference.stats} == reference.stats
    assert stats.bad_checksum > len(stream) // 8 // 3  # mostly near-frames, a few real frames
    assert_linear(decoder, len(stream))


def test_widest_length_field() -> None:
    crafted = near_frames.repeated(256 * 1024, length=WIRE_MAX_PAYLOAD - WIRE_MAX_PAYLOAD % 8)
    decoder = FrameDecoder(max_payload=WIRE_MAX_PAYLOAD)
    assert feed_in(decoder, crafted, 65536) == []
    assert decoder.stats.pending_bytes < WIRE_MAX_PAYLOAD + 8
    assert_linear(decoder, len(crafted))


def test_a_full_batch_does_not_restart_the_work() -> None:
    # One frame per C call: each call stops on a complete frame it cannot emit yet.
    stream = b"".join(encode_frame(1, 2, 3, bytes([i]) * 64) for i in range(256))
    decoder = FrameDecoder(batch_frames=1)
    batches = sum(1 for _ in decoder.feed_batches(near_frames.repeated(8192) + bytes(4096) + stream))
    assert batches == 256
    assert_linear(decoder, 8192 + 4096 + len(stream))


SMALL_MAX = 48
unit_lengths = st.sampled_from([0, 8, 16, 24, 40, 48])


@st.composite
def overlapping(draw) -> bytes:
    """Near-frames of random lengths and fillers with valid frames (checked or not) between."""
    out = bytearray()
    for _ in range(draw(st.integers(0, 40))):
        if draw(st.integers(0, 5)) == 0:
            payload = draw(st.binary(max_size=SMALL_MAX))
            out += encode_frame(1, 2, 3, payload, checksum=draw(st.booleans()), max_payload=SMALL_MAX)
        else:
            length = draw(unit_lengths)
            out += bytes([0xC0, 1, 2, 3, length >> 8, length, draw(st.integers(0, 255)), 0xC1])
    return bytes(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=overlapping(), cuts=st.lists(st.integers(0, 2000), max_size=10), accept_zero=st.booleans(),
       batch_frames=st.integers(1, 3))
def test_overlapping_candidates_match_the_reference(stream: bytes, cuts: list[int], accept_zero: bool,
                                                    batch_frames: int) -> None:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    edges = [0, *points, len(stream)]
    decoder = FrameDecoder(max_payload=SMALL_MAX, accept_zero_checksum=accept_zero, batch_frames=batch_frames)
    reference = baseline.BaselineDecoder(max_payload=SMALL_MAX, accept_zero_checksum=accept_zero)
    for a, b in zip(edges, edges[1:]):
        assert decoder.feed(stream[a:b]) == [Frame(*fields) for fields in reference.feed(stream[a:b])]
    stats = decoder.stats
    assert {k: getattr(stats, k) for k in reference.stats} == reference.stats
    assert stats.pending_bytes == reference.pending_bytes
    assert_linear(decoder, len(stream))
