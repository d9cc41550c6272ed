"""Hostile HCI byte streams for the decoder's resync (whitebeet-hci.md 2.1, 2.2, 2.8).

A near-frame is a start marker 0xC0 with a plausible header whose length field makes the frame
end on a 0xC1 that belongs to a later near-frame, so the decoder must read the whole announced
frame before the checksum rejects it, then resume one byte after that start marker. Repeated,
every near-frame's tail overlaps dozens or hundreds of later candidates.

Used by bench/bench_resync.py (throughput against valid traffic) and by
tests/core/test_framing_resync_linear.py (work counters). Not a benchmark script itself.
"""
from __future__ import annotations

import random

START, END = 0xC0, 0xC1
UNIT = 8  # C0 | module | sub | request | length (2) | filler | C1


def checksum(frame: bytes) -> int:
    """Section 2.2 (one's-complement sum, own checksum byte counted as 0x00); never 0x00."""
    total = sum(frame) - frame[-2]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFF) + (total >> 8)
    total = (total & 0xFF) + (total >> 8)
    return 0xFF if total == 0xFF else (~total & 0xFF)


def _unit(length: int, filler: int) -> bytes:
    return bytes([START, 0x11, 0x22, 0x33, length >> 8, length & 0xFF, filler, END])


def repeated(size: int, length: int = 4088) -> bytes:
    """`size` bytes of one 8-byte near-frame repeated; `length` (a multiple of 8) is announced.

    The filler byte is the checksum byte of every candidate (the frame is a whole number of
    units); it is chosen so that the checksum is always wrong.
    """
    if length % UNIT or length < 0:
        raise ValueError(f"length must be a non-negative multiple of {UNIT}, got {length}")
    units = (length + 8) // UNIT
    for filler in range(1, 0xC0):
        frame = _unit(length, filler) * units
        if checksum(frame) != filler:
            return _unit(length, filler) * (size // UNIT)
    raise AssertionError("no filler gives a wrong checksum")  # cannot happen: 191 tries


def mixed(size: int, max_payload: int = 4088, seed: int = 61851) -> bytes:
    """Near-frames whose lengths vary (long, short, zero): each candidate ends on a 0xC1 of a
    later unit, at a different distance, with contents that differ from candidate to candidate.

    A random checksum matches about one time in 255, so a few candidates are real frames; the
    decoder must still find them and skip their bytes as a real frame's.
    """
    rng = random.Random(seed)
    top = max_payload - max_payload % UNIT
    choices = [0, UNIT, 16 * UNIT, top // 2 - (top // 2) % UNIT, top]
    out = bytearray()
    while len(out) + UNIT <= size:
        out += _unit(rng.choice(choices), rng.choice((0x01, 0x5A, 0xA5, 0xFE)))
    return bytes(out)
