"""Fetch the V2G XSD files (generator input only; never committed).

The schemas ship inside the ``iso15118`` wheel on PyPI. This downloads that wheel with pip into a
git-ignored cache (default build/xsd/) and unpacks only its ``.xsd`` files, keeping their
relative layout under ``<dest>/schemas/``. No Josev code is unpacked.

    python tools/exigen/fetch_xsd.py [--dest build/xsd]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = "iso15118"
VERSION = "0.31.1"
SCHEMA_PREFIX = "iso15118/shared/schemas/"
ROOT = Path(__file__).resolve().parents[2]


def schema_dir(dest: Path) -> Path:
    return dest / "schemas"


def fetch(dest: Path) -> Path:
    """Return the folder holding the unpacked XSDs, downloading the wheel if needed."""
    out = schema_dir(dest)
    if (out / "V2G_CI_AppProtocol.xsd").is_file():
        return out
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{PACKAGE}-{VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
               f"{PACKAGE}=={VERSION}", "-d", str(dest)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not wheel.is_file():
            raise SystemExit(f"exigen: could not download {PACKAGE}=={VERSION}: {proc.stderr.strip()}")
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith(SCHEMA_PREFIX) and name.endswith(".xsd"):
                target = out / name[len(SCHEMA_PREFIX):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=ROOT / "build" / "xsd")
    args = ap.parse_args(argv)
    print(fetch(args.dest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
