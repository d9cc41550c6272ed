"""Run every benchmark script (bench/bench_*.py and plugins/*/bench/bench_*.py) and show its figures.

Benchmarks print figures and ratios against baselines measured in the same run; targets are
checked here, in `make bench`, never as timing assertions in tests.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    scripts = sorted(ROOT.glob("bench/bench_*.py")) + sorted(ROOT.glob("plugins/*/bench/bench_*.py"))
    scripts.append(ROOT / "bench" / "exi.py")  # EXI codec figures (issue #18)
    scripts.append(ROOT / "bench" / "josev_exi.py")  # Josev codec figures, for the ratio (issue #18)
    scripts.append(ROOT / "bench" / "stop_paths.py")  # fault -> de-energised per stop path (README)
    if not scripts:
        print("no benchmarks found")
        return 1
    failed = []
    for script in scripts:
        rel = script.relative_to(ROOT)
        print(f"\n=== {rel}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], cwd=ROOT)
        print(f"--- {rel}: exit {proc.returncode} in {time.monotonic() - t0:.1f} s", flush=True)
        if proc.returncode != 0:
            failed.append(str(rel))
    print()
    if failed:
        print("benchmarks that failed to run: " + ", ".join(failed))
        return 1
    print(f"{len(scripts)} benchmark scripts ran")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
