"""Regenerate tests/interop/fixtures/josev_<scenario>.json from live Josev EVCC <-> SECC sessions.

    sudo .venv/bin/python tests/interop/capture_fixtures.py [scenario ...]

Each fixture holds one example of every message type the session exchanged, as received and
decoded by Josev (its Java EXIficient decoder): protocol short name, namespace URN, message
name, which side sent it, the EXI hex and Josev's decoded JSON. These are messages, not Josev
code; the codec's byte-identical re-encode test and the oracle test read them.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import josev as J  # noqa: E402
from test_josev_sessions import SCENARIOS  # noqa: E402

FIXTURES = Path(__file__).with_name("fixtures")
# Sessions captured for fixtures only (not run in make test): -20 AC covers the AC namespace.
EXTRA = {
    "iso20_ac_eim_tcp": (J.SeccSettings(protocols=(J.ISO20_AC,)),
                         J.EvccSettings(protocols=(J.ISO20_AC,), energy_services=("AC",)),
                         False, "iso20-ac", "AC_ChargeLoopReq"),
}
ALL = {**SCENARIOS, **EXTRA}


def capture(name: str, work: Path) -> Path:
    secc_cfg, evcc_cfg, tls, _, _ = ALL[name]
    pki = J.make_pki(work / "pki") if tls else None
    run = J.run_pair(secc_cfg, evcc_cfg, work / name, pki)
    if run.evcc_rc != 0:
        raise SystemExit(f"{name}: Josev EVCC exited with {run.evcc_rc}; logs in {run.run_dir}")
    seen: set[tuple[str, str]] = set()
    entries = []
    for sender, received in (("evcc", run.secc), ("secc", run.evcc)):
        for m in received:
            if m.direction != "rx" or (m.protocol, m.name) in seen:
                continue
            seen.add((m.protocol, m.name))
            entries.append({"protocol": m.protocol, "namespace": m.namespace, "name": m.name,
                            "sent_by": f"josev-{sender}", "exi": m.exi.hex(), "json": m.json})
    out = FIXTURES / f"josev_{name}.json"
    out.write_text(json.dumps({"source": "Josev iso15118 0.31.1 EVCC <-> SECC, decoded by Josev",
                               "scenario": name, "messages": entries}, indent=1) + "\n")
    return out


def main(argv: list[str]) -> int:
    names = argv or list(ALL)
    unknown = [n for n in names if n not in ALL]
    if unknown:
        print(f"unknown scenario(s) {unknown}; known: {list(ALL)}", file=sys.stderr)
        return 2
    FIXTURES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="josev-capture-") as tmp:
        for name in names:
            print(capture(name, Path(tmp)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
