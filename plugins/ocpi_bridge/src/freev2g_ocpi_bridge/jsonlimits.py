"""Limits checked before a request body or header is decoded (issue #13 item 2).

json.loads recurses once per nesting level, so a body of "[" * 100000 would reach Python's
recursion limit (and 1 KB of it used to give HTTP 500). `nesting_depth` scans the raw bytes
without recursion; the bridge refuses a body nested deeper than MAX_JSON_DEPTH with the OCPI
envelope (HTTP 400 / 2001). No OCPI 2.2.1 object nests deeper than about 6 levels, so 32 is a
wide margin (our choice). Header limits: aiohttp's parser answers an over-long header with a
plain-text 400 before any middleware runs, so the parser is given PARSER_FIELD_LIMIT and the
middleware enforces the smaller MAX_HEADER_BYTES with an envelope.
"""
from __future__ import annotations

MAX_JSON_DEPTH = 32
MAX_HEADER_BYTES = 8190  # per header value, as aiohttp's own default
MAX_TRACE_ID_CHARS = 255  # X-Request-ID / X-Correlation-ID echoed back; longer ones get a new id
PARSER_FIELD_LIMIT = 64 * 1024  # past this aiohttp itself still answers (plain text)
PARSER_MAX_HEADERS = 256

_OPEN, _CLOSE, _QUOTE, _BACKSLASH = frozenset(b"[{"), frozenset(b"]}"), 0x22, 0x5C


def nesting_depth(raw: bytes, limit: int) -> int:
    """Deepest array/object nesting in `raw` (brackets inside strings ignored), stopping as
    soon as it passes `limit` (then the value returned is limit + 1)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == _BACKSLASH:
                escaped = True
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in _CLOSE:
            depth -= 1
    return deepest
