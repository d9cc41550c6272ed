"""encode/decode between message dicts (keys = XSD element names) and EXI bytes.

A message is ``{root_name: content}``; complex content is a dict of child names, repeated
elements (maxOccurs > 1) are lists, attributes use their XSD names, a simple-content value is
under ``"value"``. Values: int, bool, str (strings and enumerations), bytes (hexBinary /
base64Binary). The C core (core/cext/exi_runtime.c) interprets the generated grammar tables;
this module only walks the message and the event tape.
"""
from __future__ import annotations

from typing import Any

from ..cext.loader import load_core
from .errors import STATUS_TEXT, ExiDecodeError, ExiEncodeError
from .schemas import ATTR, BINARY, BOOL, COMPLEX, ENUM, LIST, STRING, UINT, VALUE, Schema, schema

_core = load_core()
ffi, lib = _core.ffi, _core.lib

EV_SE, EV_EE, EV_AT, EV_CH = 1, 2, 3, 4
MAX_MESSAGE_BYTES = 1 << 16      # V2GTP payloads of real messages stay far below this
MAX_EVENTS = 1 << 16
_MASK64 = (1 << 64) - 1
_I64 = (-(1 << 63), (1 << 63) - 1)


class _Scratch:
    """Reusable C buffers (one set per thread is enough for the codec's synchronous calls)."""

    def __init__(self) -> None:
        self.tape = ffi.new("int64_t[]", MAX_EVENTS * 3)
        self.arena = ffi.new("uint8_t[]", MAX_MESSAGE_BYTES * 4)
        self.out = ffi.new("uint8_t[]", MAX_MESSAGE_BYTES)
        self.res = ffi.new("fv2g_exi_result *")


_scratch = _Scratch()


# -- decode ---------------------------------------------------------------------------------
def decode(protocol: str, data: bytes, *, any_root: bool = False) -> dict[str, Any]:
    """Decode one EXI document of `protocol` into a message dict; ExiDecodeError if invalid.

    Only message roots are accepted (DIN/-2 V2G_Message, SAP req/res, -20 *Req/*Res) unless
    any_root: the document grammar also lists every other global element (e.g. a bare
    xmldsig Signature)."""
    sch = schema(protocol)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ExiDecodeError(f"EXI data must be bytes, not {type(data).__name__}", protocol=sch.name)
    data = bytes(data)
    if len(data) > MAX_MESSAGE_BYTES:
        raise ExiDecodeError(f"{len(data)} bytes is above the {MAX_MESSAGE_BYTES}-byte limit",
                             protocol=sch.name, bit_offset=0)
    tape, arena = decode_tape(sch.name, data)
    msg = _Reader(sch, tape, arena).message()
    if not any_root and next(iter(msg)) not in sch.message_roots:
        raise ExiDecodeError(f"{next(iter(msg))} is a global element but not a message", protocol=sch.name,
                             message=next(iter(msg)), bit_offset=8)
    return msg


def decode_tape(protocol: str, data: bytes) -> tuple[list[int], bytes]:
    """The C decoder's raw output: event tape (3 ints per event) and value arena."""
    sch = schema(protocol)
    s = _scratch
    rc = lib.fv2g_exi_decode(sch.index, data, len(data), s.tape, MAX_EVENTS, s.arena,
                             MAX_MESSAGE_BYTES * 4, s.res)
    res = s.res
    if rc != 0:
        raise ExiDecodeError(STATUS_TEXT.get(rc, f"status {rc}"), protocol=sch.name,
                             message=sch.local(res.root) if res.root >= 0 else None,
                             element=sch.local(res.qname) if res.qname >= 0 else None,
                             bit_offset=res.bit_offset, status=rc)
    tape = memoryview(ffi.buffer(s.tape, res.n_events * 24)).cast("q").tolist()
    return tape, bytes(ffi.buffer(s.arena, res.arena_used))


def encode_tape(protocol: str, tape: list[int], arena: bytes, *, allow_deviations: bool = False,
                message: dict[str, Any] | None = None) -> bytes:
    """Encode a raw event tape (see core/cext/exi_runtime.h) with the C encoder."""
    sch = schema(protocol)
    if len(tape) // 3 > MAX_EVENTS or len(arena) > MAX_MESSAGE_BYTES * 4:
        raise ExiEncodeError("message too large", protocol=sch.name)
    s = _scratch
    tape_c = ffi.new("int64_t[]", tape)
    rc = lib.fv2g_exi_encode(sch.index, tape_c, len(tape) // 3, ffi.from_buffer(arena), len(arena),
                             s.out, MAX_MESSAGE_BYTES,
                             lib.FV2G_EXI_ENC_ALLOW_DEVIATIONS if allow_deviations else 0, s.res)
    if rc < 0:
        res = s.res
        path = _Writer(sch, trace=True).path_of(message, res.event_index) if message else None
        raise ExiEncodeError(STATUS_TEXT.get(rc, f"status {rc}"), protocol=sch.name,
                             message=sch.local(res.root) if res.root >= 0 else None,
                             element=path or (sch.local(res.qname) if res.qname >= 0 else None),
                             bit_offset=res.bit_offset, status=rc)
    return bytes(ffi.buffer(s.out, rc))


class _Reader:
    def __init__(self, sch: Schema, tape: list[int], arena: bytes) -> None:
        self.sch, self.t, self.arena = sch, tape, arena

    def fail(self, text: str, pos: int) -> ExiDecodeError:
        return ExiDecodeError(f"decoded stream does not match the schema description: {text}",
                              protocol=self.sch.name, element=f"event {pos // 3}")

    def value(self, dt_id: int, v: int) -> Any:
        dt = self.sch.datatypes[dt_id]
        kind = dt[0]
        if kind == STRING:
            off, ln = v >> 32, v & 0xFFFFFFFF
            return self.arena[off:off + ln].decode("utf-8")
        if kind == BINARY:
            off, ln = v >> 32, v & 0xFFFFFFFF
            return self.arena[off:off + ln]
        if kind == BOOL:
            return bool(v)
        if kind == ENUM:
            return dt[6][v]
        if kind == UINT and dt[3] is None or (kind == UINT and dt[3] > _I64[1]):
            return v & _MASK64
        return v

    def message(self) -> dict[str, Any]:
        t = self.t
        q = t[0] & 0xFFFFFF
        name, tkey, dt = self.sch.roots_by_qname[q]
        if tkey is None:
            val, pos = self.simple(3)
        else:
            val, pos = self.complex(tkey, 3)
        return {name: val}

    def simple(self, pos: int) -> tuple[Any, int]:
        t = self.t
        if t[pos] >> 24 == EV_EE:       # second-level EE: element without its value
            return None, pos + 3
        if t[pos] >> 24 != EV_CH or t[pos + 3] >> 24 != EV_EE:
            raise self.fail("simple element without one value", pos)
        return self.value(t[pos + 1], t[pos + 2]), pos + 6

    def complex(self, tkey: str, pos: int) -> tuple[dict[str, Any], int]:
        t = self.t
        fields = self.sch.by_qname[tkey]
        obj: dict[str, Any] = {}
        while True:
            w = t[pos]
            kind = w >> 24
            if kind == EV_EE:
                return obj, pos + 3
            if kind == EV_SE:
                f = fields.get(w & 0xFFFFFF)
                if f is None:
                    raise self.fail(f"element {self.sch.local(w & 0xFFFFFF)} in {tkey}", pos)
                if f.flags & COMPLEX:
                    child, pos = self.complex(f.ref, pos + 3)
                else:
                    child, pos = self.simple(pos + 3)
                if f.flags & LIST:
                    obj.setdefault(f.key, []).append(child)
                else:
                    obj[f.key] = child
            elif kind == EV_AT:
                obj[self.sch.local(w & 0xFFFFFF)] = self.value(t[pos + 1], t[pos + 2])
                pos += 3
            elif kind == EV_CH:
                obj["value"] = self.value(t[pos + 1], t[pos + 2])
                pos += 3
            else:
                raise self.fail("unknown event", pos)


# -- encode ---------------------------------------------------------------------------------
def encode(protocol: str, message: dict[str, Any], *, allow_deviations: bool = False,
           any_root: bool = False) -> bytes:
    """Encode a message dict ``{root: content}``; ExiEncodeError if the schema does not allow it.

    allow_deviations: write a second-level EE for a simple element without value (None) or a
    simple-content element without "value" (what EXIficient writes for an empty
    SignatureValue). Off by default, so missing required content is an error.
    """
    sch = schema(protocol)
    w = _Writer(sch)
    w.message(message)
    if not any_root and w.root not in sch.message_roots:
        raise ExiEncodeError(f"{w.root} is a global element but not a message (any_root=True allows it)",
                             protocol=sch.name, message=w.root)
    return encode_tape(sch.name, w.tape, bytes(w.arena), allow_deviations=allow_deviations,
                       message=message)


class _Writer:
    def __init__(self, sch: Schema, trace: bool = False) -> None:
        self.sch = sch
        self.tape: list[int] = []
        self.arena = bytearray()
        self.root: str | None = None
        self.trace = trace
        self.paths: list[str] = []
        self._path: list[str] = []

    def fail(self, text: str) -> ExiEncodeError:
        return ExiEncodeError(text, protocol=self.sch.name, message=self.root,
                              element="/".join(self._path) or None)

    def ev(self, kind: int, q: int, dt: int = 0, v: int = 0) -> None:
        self.tape += ((kind << 24) | q, dt, v)
        if self.trace:
            self.paths.append("/".join(self._path))

    def path_of(self, message: dict[str, Any], index: int) -> str | None:
        try:
            self.message(message)
        except ExiEncodeError:
            pass
        return self.paths[index] if 0 <= index < len(self.paths) else None

    def message(self, message: dict[str, Any]) -> None:
        if not isinstance(message, dict) or len(message) != 1:
            raise ExiEncodeError("a message is a dict with exactly one key, the root element name",
                                 protocol=self.sch.name)
        (name, content), = message.items()
        self.root = name
        root = self.sch.roots.get(name)
        if root is None:
            raise self.fail(f"{name!r} is not a global element of this schema")
        q, tkey, dt = root
        self._path.append(name)
        self.ev(EV_SE, q)
        if tkey is None:
            self.simple_value(dt, content)
        else:
            self.complex(tkey, content)

    def simple_value(self, dt: int, v: Any) -> None:
        if v is not None:
            self.ev(EV_CH, 0, dt, self.value(dt, v))
        self.ev(EV_EE, 0)

    def complex(self, tkey: str, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise self.fail(f"expected a dict for {tkey}, got {type(obj).__name__}")
        extra = obj.keys() - self.sch.keys[tkey]
        if extra:
            raise self.fail(f"unknown field(s) {', '.join(sorted(map(str, extra)))} for {tkey}")
        for f in self.sch.types[tkey]:
            if f.key not in obj:
                continue
            v = obj[f.key]
            if f.flags & ATTR:
                self._path.append("@" + f.key)
                self.ev(EV_AT, f.qname, f.ref, self.value(f.ref, v))
                self._path.pop()
            elif f.flags & VALUE:
                if v is not None:
                    self.ev(EV_CH, 0, f.ref, self.value(f.ref, v))
            else:
                items = v
                if f.flags & LIST:
                    if not isinstance(v, (list, tuple)):
                        raise self.fail(f"{f.key} repeats: give a list")
                else:
                    items = (v,)
                for i, item in enumerate(items):
                    self._path.append(f"{f.key}[{i}]" if f.flags & LIST else f.key)
                    self.ev(EV_SE, f.qname)
                    if f.flags & COMPLEX:
                        self.complex(f.ref, item)
                    else:
                        self.simple_value(f.ref, item)
                    self._path.pop()
        self.ev(EV_EE, 0)

    def value(self, dt_id: int, v: Any) -> int:
        dt = self.sch.datatypes[dt_id]
        kind = dt[0]
        if kind == STRING:
            if not isinstance(v, str):
                raise self.fail(f"expected a string, got {type(v).__name__}")
            try:
                b = v.encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail("string is not valid Unicode") from None
            off = len(self.arena)
            self.arena += b
            return (off << 32) | len(b)
        if kind == BINARY:
            if not isinstance(v, (bytes, bytearray, memoryview)):
                raise self.fail(f"expected bytes, got {type(v).__name__}")
            off = len(self.arena)
            self.arena += v
            return (off << 32) | len(bytes(v))
        if kind == BOOL:
            if not isinstance(v, bool):
                raise self.fail(f"expected a boolean, got {type(v).__name__}")
            return int(v)
        if kind == ENUM:
            idx = self.sch.enum_index[dt_id].get(v) if isinstance(v, str) else None
            if idx is None:
                raise self.fail(f"{v!r} is not one of {', '.join(dt[6])}")
            return idx
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.fail(f"expected an integer, got {type(v).__name__}")
        lo, hi = dt[2], dt[3]
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise self.fail(f"{v} is outside {lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}")
        if kind == UINT and v > _I64[1]:
            if v > _MASK64:
                raise self.fail(f"{v} does not fit 64 bits")
            return v - (1 << 64)
        if not _I64[0] <= v <= _I64[1]:
            raise self.fail(f"{v} does not fit 64 bits")
        return v
