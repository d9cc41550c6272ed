"""JSON form of messages: the dict shape of codec.py with bytes as text.

hexBinary values become upper-case hex strings, base64Binary values base64 strings, the
lexical forms of XML Schema, as in the EXI/JSON message logs of Josev and EVerest
(e.g. {"V2G_Message": {"Header": {"SessionID": "0EBE5B8D693EE379"}, "Body": {...}}}).
"""
from __future__ import annotations

import base64
import binascii
from typing import Any, Callable

from .errors import ExiEncodeError
from .schemas import ATTR, BINARY, COMPLEX, LIST, VALUE, Schema, schema


def to_json(protocol: str, message: dict[str, Any]) -> dict[str, Any]:
    sch = schema(protocol)
    return _walk(sch, message, lambda form, v: v.hex().upper() if form == "hex" else
                 base64.b64encode(v).decode("ascii"))


def from_json(protocol: str, doc: dict[str, Any]) -> dict[str, Any]:
    sch = schema(protocol)

    def conv(form: str, v: Any) -> bytes:
        if isinstance(v, (bytes, bytearray)):
            return bytes(v)
        if not isinstance(v, str):
            raise ExiEncodeError(f"binary value must be a {form} string, got {type(v).__name__}",
                                 protocol=sch.name)
        try:
            return bytes.fromhex(v) if form == "hex" else base64.b64decode(v, validate=True)
        except (ValueError, binascii.Error):
            raise ExiEncodeError(f"{v[:40]!r} is not valid {form}", protocol=sch.name) from None

    return _walk(sch, doc, conv)


def _walk(sch: Schema, message: dict[str, Any], conv: Callable[[str, Any], Any]) -> dict[str, Any]:
    if not isinstance(message, dict) or len(message) != 1:
        raise ExiEncodeError("a message is a dict with exactly one key, the root element name",
                             protocol=sch.name)
    (name, content), = message.items()
    root = sch.roots.get(name)
    if root is None:
        raise ExiEncodeError(f"{name!r} is not a global element of this schema", protocol=sch.name)
    _, tkey, dt = root
    if tkey is None:
        return {name: _simple(sch, dt, content, conv)}
    return {name: _complex(sch, tkey, content, conv)}


def _simple(sch: Schema, dt: int, v: Any, conv: Callable[[str, Any], Any]) -> Any:
    d = sch.datatypes[dt]
    if d[0] == BINARY and v is not None:
        return conv(d[7], v)
    return v


def _complex(sch: Schema, tkey: str, obj: Any, conv: Callable[[str, Any], Any]) -> Any:
    if not isinstance(obj, dict):
        return obj  # the encoder reports the wrong shape with its path
    out: dict[str, Any] = {}
    fields = {f.key: f for f in sch.types[tkey]}
    for key, v in obj.items():
        f = fields.get(key)
        if f is None:
            out[key] = v
        elif f.flags & (ATTR | VALUE) or not f.flags & COMPLEX:
            if f.flags & LIST and isinstance(v, list):
                out[key] = [_simple(sch, f.ref, x, conv) for x in v]
            else:
                out[key] = _simple(sch, f.ref, v, conv)
        elif f.flags & LIST and isinstance(v, list):
            out[key] = [_complex(sch, f.ref, x, conv) for x in v]
        else:
            out[key] = _complex(sch, f.ref, v, conv)
    return out
