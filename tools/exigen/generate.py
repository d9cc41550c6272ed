"""EXI generator: V2G XSDs -> C grammar tables (core/cext/exi_tables*.c/h) and Python type
descriptions (core/exi/_schema_*.py). Run by `make exi-gen`.

    python tools/exigen/generate.py [--xsd build/xsd] [--out-c core/cext] [--out-py core/exi]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import emit  # noqa: E402
import fetch_xsd  # noqa: E402
import xsd  # noqa: E402
from grammar import Builder  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

# protocol name -> root XSD (relative to the schema folder of the wheel). Order = grammar id.
PROTOCOLS: tuple[tuple[str, str], ...] = (
    ("sap", "V2G_CI_AppProtocol.xsd"),
    ("din", "din_spec/V2G_CI_MsgDef.xsd"),
    ("iso2", "iso15118_2/V2G_CI_MsgDef.xsd"),
    ("iso20-common", "iso15118_20/V2G_CI_CommonMessages.xsd"),
    ("iso20-dc", "iso15118_20/V2G_CI_DC.xsd"),
    ("iso20-ac", "iso15118_20/V2G_CI_AC.xsd"),
    ("iso20-acdp", "iso15118_20/V2G_CI_ACDP.xsd"),
    ("iso20-wpt", "iso15118_20/V2G_CI_WPT.xsd"),
    ("xmldsig", "xmldsig-core-schema.xsd"),     # fragments of SignedInfo (sheet §1.7)
)


def generate(schemas: Path, out_c: Path, out_py: Path) -> list[Path]:
    written = []
    version = fetch_xsd.VERSION
    for index, (proto, root) in enumerate(PROTOCOLS):
        g = Builder(xsd.load(schemas / root)).build()
        mod = proto.replace("-", "_")
        written.append(_write(out_c / f"exi_tables_{mod}.c", emit.c_tables(proto, g, version)))
        written.append(_write(out_py / f"_schema_{mod}.py", emit.py_schema(proto, index, g, version)))
    h, c = emit.c_registry([p for p, _ in PROTOCOLS], version)
    written.append(_write(out_c / "exi_tables.h", h))
    written.append(_write(out_c / "exi_tables.c", c))
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="generate the EXI grammar tables and Python types")
    ap.add_argument("--xsd", type=Path, default=ROOT / "build" / "xsd", help="XSD cache folder")
    ap.add_argument("--out-c", type=Path, default=ROOT / "core" / "cext")
    ap.add_argument("--out-py", type=Path, default=ROOT / "core" / "exi")
    args = ap.parse_args(argv)
    schemas = fetch_xsd.fetch(args.xsd)
    for path in generate(schemas, args.out_c, args.out_py):
        print(f"exigen: wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
