"""HCI decoder throughput: the C core's batch API vs the pure-Python baseline, same run.

Stream: frames with 40-byte payloads and computed checksums (whitebeet-hci.md 2.1/2.2).
Targets: C batch >= 2,000,000 frames/s; C batch / Python baseline >= 15x. Prints figures only.
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baseline_decoder import BaselineDecoder  # noqa: E402

from freev2g.framing import FrameDecoder, encode_frame  # noqa: E402

PAYLOAD_BYTES = 40
C_FRAMES = 400_000
PY_FRAMES = 100_000
CHUNK_BYTES = 64 * 1024
REPEATS = 5


def make_stream(n: int, seed: int = 15118) -> bytes:
    rng = random.Random(seed)
    return b"".join(
        encode_frame(rng.randrange(256), rng.randrange(256), rng.randrange(255), rng.randbytes(PAYLOAD_BYTES))
        for _ in range(n)
    )


def best_rate(run, frames: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        got = run()
        elapsed = time.perf_counter() - t0
        if got != frames:
            raise SystemExit(f"decoded {got} frames, expected {frames}")
        best = min(best, elapsed)
    return frames / best


def c_batch_whole(stream: bytes) -> int:
    decoder = FrameDecoder(batch_frames=4096)
    return sum(batch.count for batch in decoder.feed_batches(stream))


def c_batch_chunked(stream: bytes) -> int:
    decoder = FrameDecoder(batch_frames=4096)
    view = memoryview(stream)
    return sum(batch.count for start in range(0, len(stream), CHUNK_BYTES)
               for batch in decoder.feed_batches(view[start:start + CHUNK_BYTES]))


def c_frames(stream: bytes) -> int:
    return len(FrameDecoder().feed(stream))


def python_baseline(stream: bytes) -> int:
    return len(BaselineDecoder().feed(stream))


def main() -> None:
    c_stream = make_stream(C_FRAMES)
    py_stream = c_stream[: PY_FRAMES * (PAYLOAD_BYTES + 8)]
    whole = best_rate(lambda: c_batch_whole(c_stream), C_FRAMES)
    chunked = best_rate(lambda: c_batch_chunked(c_stream), C_FRAMES)
    objects = best_rate(lambda: c_frames(py_stream), PY_FRAMES)
    baseline = best_rate(lambda: python_baseline(py_stream), PY_FRAMES)
    ratio = whole / baseline
    print(f"frames with {PAYLOAD_BYTES}-byte payloads, best of {REPEATS}")
    print(f"  C batch API, whole stream        {whole:14,.0f} frames/s  (target >= 2,000,000)")
    print(f"  C batch API, {CHUNK_BYTES // 1024} KiB chunks         {chunked:14,.0f} frames/s")
    print(f"  C decoder -> Frame objects       {objects:14,.0f} frames/s  (feed(), attrs objects)")
    print(f"  pure-Python baseline             {baseline:14,.0f} frames/s")
    print(f"  ratio C batch / baseline         {ratio:14.1f} x        (target >= 15)")
    met = whole >= 2_000_000 and ratio >= 15
    print(f"  targets {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
