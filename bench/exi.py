"""EXI codec speed through the Python API (freev2g.exi): encode + decode of a DIN 70121 and an
ISO 15118-2 CurrentDemandReq and an ISO 15118-20 DC_ChargeLoopReq, µs per message.

Target (issue #18): encode + decode <= 5 µs per message. Figures only; nothing is asserted.
Also shows the C core alone (event tape in/out, no Python message building) for comparison.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from freev2g import exi
from freev2g.exi import codec

N = 20_000
REPEATS = 5

_PV = {"Multiplier": 0, "Value": 0}


def pv(unit: str, value: int, mult: int = 0) -> dict:
    return {"Multiplier": mult, "Unit": unit, "Value": value}


MESSAGES = {
    "din CurrentDemandReq": ("din", bytes.fromhex(
        "809A0203AF96E35A4FB8DE50D1401240C0C0B460018105804" "80C08360100C1433408 00".replace(" ", ""))),
    "iso2 CurrentDemandReq": ("iso2", exi.encode("iso2", {"V2G_Message": {
        "Header": {"SessionID": bytes.fromhex("0EBE5B8D693EE379")},
        "Body": {"CurrentDemandReq": {
            "DC_EVStatus": {"EVReady": True, "EVErrorCode": "NO_ERROR", "EVRESSSOC": 73},
            "EVTargetCurrent": pv("A", 45), "EVMaximumVoltageLimit": pv("V", 450),
            "EVMaximumCurrentLimit": pv("A", 125), "EVMaximumPowerLimit": pv("W", 50, 3),
            "BulkChargingComplete": False, "ChargingComplete": False,
            "RemainingTimeToFullSoC": pv("s", 1200), "RemainingTimeToBulkSoC": pv("s", 600),
            "EVTargetVoltage": pv("V", 333)}}}})),
    "iso20-dc DC_ChargeLoopReq": ("iso20-dc", bytes.fromhex(
        "8034042D166F29FB80EA560AEBDBFB306281001200616400 0A02002400C800".replace(" ", ""))),
}


def best_us(fn, n: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def main() -> int:
    print(f"EXI encode+decode through freev2g.exi, best of {REPEATS} x {N} (target <= 5 µs per message)")
    worst = 0.0
    totals: dict[str, float] = {}
    for label, (proto, data) in MESSAGES.items():
        msg = exi.decode(proto, data)
        assert exi.encode(proto, msg) == data, label
        dec = best_us(lambda: exi.decode(proto, data), N)
        enc = best_us(lambda: exi.encode(proto, msg), N)
        tape, arena = codec.decode_tape(proto, data)
        c_dec = best_us(lambda: codec.decode_tape(proto, data), N)
        c_enc = best_us(lambda: codec.encode_tape(proto, tape, arena), N)
        total = dec + enc
        worst = max(worst, total)
        totals[label] = total
        print(f"  {label:28s} {len(data):3d} B  decode {dec:6.2f} µs  encode {enc:6.2f} µs  "
              f"total {total:6.2f} µs   (C tape only: decode {c_dec:5.2f} µs, encode {c_enc:5.2f} µs)")
    verdict = "meets" if worst <= 5.0 else "MISSES"
    print(f"worst encode+decode {worst:.2f} µs per message: {verdict} the 5 µs target")
    _josev_ratio(totals)
    return 0


def _josev_ratio(totals: dict[str, float]) -> None:
    """Josev's codec in the same run (bench/josev_exi.py; needs `make interop-env`)."""
    spec = importlib.util.spec_from_file_location("josev_exi_bench", Path(__file__).with_name("josev_exi.py"))
    try:
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        figures = mod.measure()
    except Exception as exc:  # noqa: BLE001 - the ratio is optional; say why it is missing
        print(f"Josev ratio: not measured ({exc})")
        return
    if figures is None:
        print("Josev ratio: not measured (no .venv-josev; `make interop-env`)")
        return
    for (label, ours), (jlabel, seconds) in zip(totals.items(), figures.items()):
        print(f"  Josev {jlabel:32s} {seconds * 1e3:8.3f} ms  -> freev2g is {seconds * 1e6 / ours:,.0f}x faster")


if __name__ == "__main__":
    raise SystemExit(main())
