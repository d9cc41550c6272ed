"""HCI decoder resync: crafted near-frame streams vs valid traffic, same API, same run.

Valid: frames with 40-byte payloads and computed checksums (as bench_framing.py).
Crafted (near_frames.py): repeated 8-byte near-frames, each announcing a 4096-byte frame that
ends on a later near-frame's 0xC1 with a wrong checksum; and near-frames of mixed lengths.
Both go through FrameDecoder.feed_batches (the batch API), whole and cut into 64 KiB and
1500-byte chunks. Target (issue #10): crafted streams decode at no less than half the valid
traffic's byte rate (ratio valid/crafted <= 2). Prints figures only; the work counters that
prove linearity are asserted in tests/core/test_framing_resync_linear.py.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import near_frames  # noqa: E402

from freev2g.framing import FrameDecoder, encode_frame  # noqa: E402

STREAM_BYTES = 4 * 1024 * 1024
CHUNKS = {"whole stream": None, "64 KiB chunks": 64 * 1024, "1500 B chunks": 1500}
REPEATS = 7
TARGET = 2.0


def valid_stream(size: int, seed: int = 15118) -> bytes:
    rng = random.Random(seed)
    frames = []
    while (len(frames) + 1) * 48 <= size:
        frames.append(encode_frame(rng.randrange(256), rng.randrange(256), rng.randrange(255),
                                   rng.randbytes(40)))
    return b"".join(frames)


def decode_seconds(stream: bytes, chunk: int | None) -> tuple[float, FrameDecoder]:
    decoder = FrameDecoder(batch_frames=4096)
    view = memoryview(stream)
    step = chunk or len(stream)
    t0 = time.perf_counter()
    for start in range(0, len(stream), step):
        for _batch in decoder.feed_batches(view[start:start + step]):
            pass
    return time.perf_counter() - t0, decoder


def main() -> None:
    streams = {
        "valid (40-byte payloads)": valid_stream(STREAM_BYTES),
        "repeated near-frames": near_frames.repeated(STREAM_BYTES),
        "mixed-length near-frames": near_frames.mixed(STREAM_BYTES),
    }
    print(f"{STREAM_BYTES // (1024 * 1024)} MiB per stream, FrameDecoder.feed_batches, best of {REPEATS} "
          f"(repeats interleaved)")
    worst = 0.0
    for label, chunk in CHUNKS.items():
        best = dict.fromkeys(streams, float("inf"))
        decoders: dict[str, FrameDecoder] = {}
        for _ in range(REPEATS):
            for name, stream in streams.items():
                seconds, decoders[name] = decode_seconds(stream, chunk)
                best[name] = min(best[name], seconds)
        valid_rate = len(streams["valid (40-byte payloads)"]) / best["valid (40-byte payloads)"]
        print(f"\n  {label}")
        for name, stream in streams.items():
            rate = len(stream) / best[name]
            work, stats = decoders[name].work, decoders[name].stats
            line = (f"    {name:26s} {rate / 1e6:9.1f} MB/s  examined {work.examined_bytes / len(stream):4.2f} B/B"
                    f"  frames {stats.frames:7d}  rejected {stats.errors:7d}")
            if not name.startswith("valid"):
                ratio = valid_rate / rate
                worst = max(worst, ratio)
                line += f"  valid/crafted {ratio:4.2f}x"
            print(line)
    print(f"\n  worst valid/crafted ratio {worst:.2f}x (target <= {TARGET:.0f}x): "
          f"{'met' if worst <= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
