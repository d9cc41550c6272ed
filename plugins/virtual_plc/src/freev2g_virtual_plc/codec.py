"""JSON-lines codec of the socket medium: one message = {"type": tag, "body": {...}}.

Tags are "<module>.<Class>" over the message modules (common, din, iso2, iso20); bodies are
cattrs unstructure/structure of the same attrs classes the in-process medium carries, so both
directions come from one definition. bytes travel as base64.
"""
from __future__ import annotations

import base64
from typing import Any

import cattrs

from .messages import common, din, iso2, iso20


class CodecError(ValueError):
    """A line that is not a known message; the text names the tag or the field."""


class MessageCodec:
    def __init__(self) -> None:
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

    def encode(self, message: Any) -> dict[str, Any]:
        tag = self.tag_of.get(type(message))
        if tag is None:
            raise CodecError(f"cannot encode {type(message).__name__}: not a virtual-link message")
        return {"type": tag, "body": self.conv.unstructure(message)}

    def decode(self, data: dict[str, Any]) -> Any:
        tag = data.get("type")
        cls = self.by_tag.get(tag)  # type: ignore[arg-type]
        if cls is None:
            raise CodecError(f"unknown message type {tag!r}")
        try:
            return self.conv.structure(data.get("body") or {}, cls)
        except Exception as exc:  # noqa: BLE001 - cattrs raises several kinds
            raise CodecError(f"{tag}: {'; '.join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else exc}") from None
