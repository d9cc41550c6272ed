"""JSON-lines codec of the socket medium: one message = {"type": tag, "body": {...}}, or for a
V2G message with `exi` (the default) {"type": tag, "grammar": g, "exi": hex} - real EXI bytes.

Tags are "<module>.<Class>" over the message modules (common, din, iso2, iso20); bodies are
cattrs unstructure/structure of the same attrs classes the in-process medium carries, so both
directions come from one definition. bytes travel as base64.

EXI: one codec serves one cable (one V2G connection at a time), so it follows the protocol
negotiation itself (exi_codec.ExiSession: supportedAppProtocol, then the chosen protocol).
SLAC / SDP (data link) and any V2G message before a protocol is negotiated travel as bodies.
Where a message's EXI form loses fields (exi_codec.ExiSession.carry), the line carries the
body too, with "lost" naming the fields; the receiver decodes the EXI and hands on the body.
"""
from __future__ import annotations

import base64
from typing import Any

import cattrs

from .exi_codec import ExiBridgeError, ExiSession
from .messages import common, din, iso2, iso20

_SAP = (common.SupportedAppProtocolReq, common.SupportedAppProtocolRes)


class CodecError(ValueError):
    """A line that is not a known message; the text names the tag or the field."""


class MessageCodec:
    def __init__(self, *, exi: bool = True) -> None:
        self.exi = ExiSession() if exi else None
        self._v2g = {*_SAP, *din.MESSAGES, *iso2.MESSAGES, *iso20.MESSAGES}
        self.conv = cattrs.Converter()
        self.conv.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
        self.conv.register_structure_hook(bytes, lambda v, _: base64.b64decode(v))
        self.by_tag: dict[str, type] = {}
        self.tag_of: dict[type, str] = {}
        for mod in (common, din, iso2, iso20):
            short = mod.__name__.rsplit(".", 1)[-1]
            for cls in mod.MESSAGES:
                tag = f"{short}.{cls.__name__}"
                self.by_tag[tag], self.tag_of[cls] = cls, tag

    def warm_up(self) -> None:
        """Generate the cattrs hooks of every message class now (about 50 ms), not on a first
        message inside a protocol timeout."""
        for cls in self.by_tag.values():
            self.conv.get_structure_hook(cls)
            self.conv.get_unstructure_hook(cls)

    def encode(self, message: Any) -> dict[str, Any]:
        tag = self.tag_of.get(type(message))
        if tag is None:
            raise CodecError(f"cannot encode {type(message).__name__}: not a virtual-link message")
        if self.exi is not None and type(message) in self._v2g and (
                isinstance(message, _SAP) or self.exi.protocol != "sap"):
            try:
                grammar, data, lost = self.exi.carry(message)
            except ExiBridgeError as exc:
                raise CodecError(f"{tag}: {exc}") from None
            line: dict[str, Any] = {"type": tag, "grammar": grammar, "exi": data.hex()}
            if lost:
                line.update(body=self.conv.unstructure(message), lost=lost)
            return line
        return {"type": tag, "body": self.conv.unstructure(message)}

    def decode(self, data: dict[str, Any]) -> Any:
        tag = data.get("type")
        cls = self.by_tag.get(tag)  # type: ignore[arg-type]
        if cls is None:
            raise CodecError(f"unknown message type {tag!r}")
        if "exi" in data:
            if self.exi is None:
                raise CodecError(f"{tag}: an EXI line, but this codec was made without exi")
            try:
                msg = self.exi.decode(str(data.get("grammar")), bytes.fromhex(str(data["exi"])))
            except (ValueError, ExiBridgeError) as exc:  # ExiDecodeError is a ValueError too
                raise CodecError(f"{tag}: {exc}") from None
            if type(msg) is not cls:
                raise CodecError(f"{tag}: the EXI holds a {type(msg).__name__}")
            if "body" not in data:
                return msg
        try:
            return self.conv.structure(data.get("body") or {}, cls)
        except Exception as exc:  # noqa: BLE001 - cattrs raises several kinds
            raise CodecError(f"{tag}: {'; '.join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else exc}") from None
