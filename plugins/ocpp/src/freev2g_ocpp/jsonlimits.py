"""Nesting bound checked before an OCPP-J frame is decoded (issue #13 item 2).

json.loads (in ocpp.messages.unpack) and the schema validator recurse once per nesting level:
a frame of "[" * 100000 raised RecursionError inside the library's receive loop and dropped
the connection. The station answers a frame nested deeper than MAX_JSON_DEPTH with a CALLERROR
FormatViolation (FormationViolation in 1.6, as the 1.6J error list names it) and keeps the
connection. 64 levels is far above any OCPP message with customData (our choice). The same
scan as freev2g_ocpi_bridge.jsonlimits (the plugins do not depend on each other).
"""
from __future__ import annotations

import re

MAX_JSON_DEPTH = 64

_OPEN, _CLOSE, _QUOTE, _BACKSLASH = frozenset("[{"), frozenset("]}"), '"', "\\"
_MESSAGE_ID = re.compile(r'^\s*\[\s*[0-9]+\s*,\s*"((?:[^"\\]|\\.){1,36})"')


def nesting_depth(raw: str | bytes, limit: int) -> int:
    """Deepest array/object nesting of `raw` (brackets inside strings ignored); stops once
    past `limit` and returns limit + 1 then."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == _BACKSLASH:
                escaped = True
            elif ch == _QUOTE:
                in_string = False
        elif ch == _QUOTE:
            in_string = True
        elif ch in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif ch in _CLOSE:
            depth -= 1
    return deepest


def frame_problem(raw: str | bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why `raw` must not be decoded, or None: nesting past `limit`, or a NaN / Infinity
    constant (not JSON; json.loads would accept it and the schema check fails on it with an
    InternalError)."""
    if nesting_depth(raw, limit) > limit:
        return f"frame nests JSON deeper than {limit} levels; not decoded"
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    if ("N" in text or "I" in text) and _bare_constant(text):
        return "frame holds NaN or Infinity, which are not JSON numbers"
    return None


def _bare_constant(text: str) -> bool:
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == _BACKSLASH:
                escaped = True
            elif ch == _QUOTE:
                in_string = False
        elif ch == _QUOTE:
            in_string = True
        elif ch in "NI":  # outside strings JSON has only true/false/null: these start NaN / Infinity
            return True
    return False


def message_id_prefix(raw: str | bytes) -> str | None:
    """The messageId of `[type, "id", ...` read without decoding the rest of the frame."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)
    m = _MESSAGE_ID.match(text[:200])
    return m.group(1) if m else None
