"""Typed errors of the EXI codec: which protocol, which message, where (bit offset / field)."""
from __future__ import annotations

STATUS_TEXT = {
    -100: "unknown grammar", -101: "not an EXI stream without options (first byte must be 0x80)",
    -102: "stream ends inside an event (truncated)", -103: "event code has no production here",
    -104: "unsupported event (second-level event other than EE, wildcard or untyped content)",
    -105: "value outside the range of its type", -106: "length outside the facets of its type",
    -107: "integer does not fit 64 bits", -108: "string table reference (the V2G profile has none)",
    -109: "invalid character", -110: "too many events", -111: "value buffer full",
    -112: "output buffer full (message too large)", -113: "nesting too deep",
    -114: "bytes or non-zero padding after the end of the document",
    -115: "element/attribute/value not allowed here by the schema",
    -116: "not a root element of this schema", -117: "internal tape error",
    -118: "message ends before the document does",
}


class ExiError(ValueError):
    """An EXI stream or message that the codec cannot handle, with the place it failed.

    ``protocol``: grammar name; ``message``: root element (None if not known yet);
    ``element``: innermost element or the field path; ``bit_offset``: bits from byte 0 where
    decoding/encoding stopped (None for errors found before any bit was written); ``status``:
    the C core's code (None for errors found in Python).
    """

    def __init__(self, text: str, *, protocol: str, message: str | None = None,
                 element: str | None = None, bit_offset: int | None = None,
                 status: int | None = None) -> None:
        where = [f"protocol {protocol}"]
        if message:
            where.append(f"message {message}")
        if element:
            where.append(f"at {element}")
        if bit_offset is not None:
            where.append(f"bit {bit_offset}")
        super().__init__(f"{text} ({', '.join(where)})")
        self.text = text
        self.protocol = protocol
        self.message = message
        self.element = element
        self.bit_offset = bit_offset
        self.status = status
        self.event_index: int | None = None   # encoder: index of the failing tape event


class ExiDecodeError(ExiError):
    """Bytes that are not a valid EXI document of the protocol's schema."""


class ExiEncodeError(ExiError):
    """A message that the protocol's schema does not allow (structure, range, length)."""
