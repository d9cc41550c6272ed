"""Josev's EXI codec time per message, for the ratio against freev2g's codec (issue #18).

Encode + decode of a DIN and an ISO 15118-2 CurrentDemandReq and an ISO 15118-20
DC_ChargeLoopReq (messages captured from live Josev sessions, tests/interop/fixtures), timed
through Josev's Python API to its codec (iso15118.shared.exificient_exi_codec.ExificientEXICodec,
EXIficient in Java via py4j) inside .venv-josev, in one long-lived process after a warm-up.
Needs `make interop-env`; without it this prints why and measures nothing.

Other benchmarks can call measure() for the same run's figures. Prints figures only.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "interop"))

from josev_oracle import JosevExi, JosevUnavailable, josev_venv  # noqa: E402

FIXTURES = ROOT / "tests" / "interop" / "fixtures"
# (label, protocol, fixture file, message name)
MESSAGES = [
    ("DIN CurrentDemandReq", "din", "josev_din_dc_eim_tcp.json", "CurrentDemandReq"),
    ("ISO 15118-2 CurrentDemandReq", "iso2", "josev_iso2_dc_eim_tcp.json", "CurrentDemandReq"),
    ("ISO 15118-20 DC_ChargeLoopReq", "iso20-dc", "josev_iso20_dc_eim_tcp.json", "DC_ChargeLoopReq"),
]
WARMUP = 60  # per message, all messages warmed before any is timed (the JIT needs it)
N = 100


def message(fixture: str, name: str) -> dict:
    for m in json.loads((FIXTURES / fixture).read_text())["messages"]:
        if m["name"] == name:
            return m["json"]
    raise LookupError(f"{name} not in {fixture}")


def measure(warmup: int = WARMUP, n: int = N) -> dict[str, float] | None:
    """Seconds per encode+decode for each message label, or None without .venv-josev."""
    if not (josev_venv() / "bin" / "python").exists():
        return None
    cases = [(label, protocol, message(fixture, name)) for label, protocol, fixture, name in MESSAGES]
    with JosevExi() as josev:
        for _, protocol, msg in cases:
            josev.bench(protocol, msg, warmup)
        return {label: josev.bench(protocol, msg, n) for label, protocol, msg in cases}


def main() -> int:
    try:
        figures = measure()
    except JosevUnavailable as exc:
        print(f"Josev codec: not measured: {exc}")
        return 1
    if figures is None:
        print(f"Josev codec: not measured: {josev_venv()} is missing (make interop-env)")
        return 0
    print(f"Josev EXI codec (EXIficient via py4j), encode+decode, mean of {N} each after {WARMUP} warm-up each:")
    for label, seconds in figures.items():
        print(f"  {label:32s} {seconds * 1e3:8.3f} ms per message")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
