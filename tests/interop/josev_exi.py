"""Josev's EXI codec as a long-lived oracle process: JSON lines on stdin, JSON lines on stdout.

Runs inside .venv-josev (``make interop-env``), never in freev2g's own virtualenv: it drives
Josev's EXIficient gateway (``iso15118.shared.exificient_exi_codec``, Java through py4j), so the
JVM starts once per process and not once per message.

Requests (one JSON object per line; ``id`` is echoed back):
  {"id": 1, "op": "decode", "ns": "din", "hex": "809a02..."}
  {"id": 2, "op": "encode", "ns": "iso20-dc", "json": {"DC_ChargeLoopReq": {...}}}
  {"id": 3, "op": "version"}
  {"id": 4, "op": "bench", "ns": "din", "json": {...}, "n": 200}   (mean s per encode+decode)
Answers: {"id": 1, "ok": true, "json": {...}} / {"id": 2, "ok": true, "hex": "80..."} /
  {"id": 3, "ok": true, "version": "1.55"} / {"id": .., "ok": false, "error": "what went wrong"}.
``ns`` is a short name (NAMESPACES below) or a full namespace URN.

The first line written is {"ready": true, "version": ...} once the JVM is up.
"""
from __future__ import annotations

import json
import os
import sys
import time

NAMESPACES = {
    "sap": "urn:iso:15118:2:2010:AppProtocol",
    "din": "urn:din:70121:2012:MsgDef",
    "iso2": "urn:iso:15118:2:2013:MsgDef",
    "iso20-common": "urn:iso:std:iso:15118:-20:CommonMessages",
    "iso20-dc": "urn:iso:std:iso:15118:-20:DC",
    "iso20-ac": "urn:iso:std:iso:15118:-20:AC",
    "iso20-wpt": "urn:iso:std:iso:15118:-20:WPT",
    "iso20-acdp": "urn:iso:std:iso:15118:-20:ACDP",
}


def namespace(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"'ns' must be one of {sorted(NAMESPACES)} or a namespace URN, got {name!r}")
    if name in NAMESPACES:
        return NAMESPACES[name]
    if name in NAMESPACES.values():
        return name
    raise ValueError(f"unknown namespace {name!r}: expected one of {sorted(NAMESPACES)} or their URNs")


def handle(codec, req: dict) -> dict:
    op = req.get("op")
    if op == "version":
        return {"version": codec.get_version()}
    if op == "decode":
        data = bytes.fromhex(str(req.get("hex", "")))
        return {"json": json.loads(codec.decode(data, namespace(req.get("ns"))))}
    if op == "encode":
        msg = req.get("json")
        if not isinstance(msg, dict):
            raise ValueError("'json' must be an object with the message's root element as its key")
        return {"hex": bytes(codec.encode(json.dumps(msg), namespace(req.get("ns")))).hex()}
    if op == "bench":
        ns, text = namespace(req.get("ns")), json.dumps(req.get("json"))
        n = int(req.get("n", 100))
        t0 = time.perf_counter()
        for _ in range(n):
            codec.decode(bytes(codec.encode(text, ns)), ns)
        return {"seconds_per_message": (time.perf_counter() - t0) / n, "n": n}
    raise ValueError(f"unknown op {op!r}: expected decode, encode, version or bench")


def main() -> int:
    # Keep the protocol channel clean: whatever Josev, py4j or the JVM print goes to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        from iso15118.shared.exificient_exi_codec import ExificientEXICodec
        codec = ExificientEXICodec()
        version = codec.get_version()
    except Exception as exc:  # noqa: BLE001 - reported to the client as the reason
        out.write(json.dumps({"ready": False, "error": f"{type(exc).__name__}: {exc}"}) + "\n")
        return 1
    out.write(json.dumps({"ready": True, "version": version}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("a request must be a JSON object")
            rid = req.get("id")
            ans = {"id": rid, "ok": True, **handle(codec, req)}
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer, never a crash
            ans = {"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(ans) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
