"""Message dict -> event tape for the C encoder.

`fast_tape` is the hot path: no path bookkeeping; anything unusual (wrong type, unknown key,
value out of range, big integer) makes it give up, and `traced_tape` walks the message again
with full paths to build the tape or raise an ExiEncodeError that names the field."""
from __future__ import annotations

from typing import Any

from .errors import ExiEncodeError
from .plans import (BIG, EV_AT, EV_CH, EV_EE, EV_SE, I64_MAX, I64_MIN, K_ATTR, K_COMPLEX, K_SIMPLE,
                    MASK64, Plans, big_to_arena)
from .schemas import ABSTRACT, BINARY, BOOL, ENUM, INT, LIST, STRING, UINT

_EE = EV_EE << 24
_CH = EV_CH << 24
_MISSING = object()


class _Slow(Exception):
    pass


def fast_tape(p: Plans, message: Any, fragment: bool = False) -> tuple[list[int], bytearray] | None:
    econv = p.econv
    tp: list[int] = []
    arena = bytearray()
    ext = tp.extend
    app = tp.append

    def val(dt: int, v: Any) -> int:
        kind, lo, hi, enums = econv[dt]
        tv = type(v)
        if tv is int:
            if kind <= INT and kind != BOOL and lo <= v <= hi:
                return v
            raise _Slow
        if tv is str:
            if kind == ENUM:
                idx = enums.get(v)  # type: ignore[union-attr]
                if idx is None:
                    raise _Slow
                return idx
            if kind != STRING:
                raise _Slow
            b = v.encode("utf-8")
            off = len(arena)
            arena.extend(b)
            return (off << 32) | len(b)
        if tv is bool:
            if kind != BOOL:
                raise _Slow
            return 1 if v else 0
        if tv is bytes and kind == BINARY:
            off = len(arena)
            arena.extend(v)
            return (off << 32) | len(v)
        raise _Slow

    def field(entry: tuple, v: Any) -> None:
        key, kind, w0, flags, ref = entry
        if flags & ABSTRACT:
            raise _Slow
        if kind == K_COMPLEX:
            if flags & LIST:
                if type(v) is not list:
                    raise _Slow
                for item in v:
                    app(w0)
                    cplx(ref, item)
            else:
                app(w0)
                cplx(ref, v)
        elif kind == K_SIMPLE:
            if flags & LIST:
                if type(v) is not list:
                    raise _Slow
                for item in v:
                    ext((w0, _CH, ref, val(ref, item), _EE))
            elif v is None:
                raise _Slow
            else:
                ext((w0, _CH, ref, val(ref, v), _EE))
        elif kind == K_ATTR:
            ext((w0, ref, val(ref, v)))
        else:
            if v is None:
                raise _Slow
            ext((_CH, ref, val(ref, v)))

    def cplx(plan: tuple[list[tuple], dict[str, tuple[int, tuple]]], obj: Any) -> None:
        if type(obj) is not dict:
            raise _Slow
        fields, index = plan
        n = len(obj)
        if n == 1:
            (k, v), = obj.items()
            hit = index.get(k)
            if hit is None:
                raise _Slow
            field(hit[1], v)
        elif n * 3 < len(fields):
            try:
                hits = sorted(index[k] for k in obj)
            except KeyError:
                raise _Slow from None
            for _, entry in hits:
                field(entry, obj[entry[0]])
        else:
            seen = 0
            for entry in fields:
                v = obj.get(entry[0], _MISSING)
                if v is not _MISSING:
                    seen += 1
                    field(entry, v)
            if seen != n:
                raise _Slow
        app(_EE)

    if type(message) is not dict or len(message) != 1:
        return None
    (name, content), = message.items()
    root = (p.frag_enc_roots if fragment else p.enc_roots).get(name)
    if root is None:
        return None
    try:
        app(root[0])
        if root[1] is None:
            if content is None:
                raise _Slow
            ext((_CH, root[2], val(root[2], content), _EE))
        else:
            cplx(root[1], content)
    except _Slow:
        return None
    return tp, arena


class TracedWriter:
    """The slow path: same tape, with the field path of every event (for error messages)."""

    def __init__(self, p: Plans, fragment: bool = False, abstract_ok: bool = False) -> None:
        self.p = p
        self.fragment = fragment
        self.abstract_ok = abstract_ok
        self.sch = p.sch
        self.tape: list[int] = []
        self.arena = bytearray()
        self.root: str | None = None
        self.paths: list[str] = []
        self._path: list[str] = []

    def fail(self, text: str) -> ExiEncodeError:
        return ExiEncodeError(text, protocol=self.sch.name, message=self.root,
                              element="/".join(self._path) or None)

    def ev(self, *words: int) -> None:
        self.tape.extend(words)
        self.paths.append("/".join(self._path))

    def path_of(self, event_index: int) -> str | None:
        return self.paths[event_index] if 0 <= event_index < len(self.paths) else None

    def message(self, message: Any) -> None:
        if not isinstance(message, dict) or len(message) != 1:
            raise ExiEncodeError("a message is a dict with exactly one key, the root element name",
                                 protocol=self.sch.name)
        (name, content), = message.items()
        self.root = name
        root = (self.p.frag_enc_roots if self.fragment else self.p.enc_roots).get(name)
        if root is None:
            if self.fragment:
                why = "declared with different types (ambiguous)" if name in self.sch.fragments else "not declared"
                raise self.fail(f"{name!r} cannot be a fragment of this schema: {why}")
            raise self.fail(f"{name!r} is not a global element of this schema")
        self._path.append(name)
        self.ev(root[0])
        if root[1] is None:
            self.simple(root[2], content)
        else:
            self.complex(root[1], content, name)

    def simple(self, dt: int, v: Any) -> None:
        if v is not None:
            self.ev(_CH, *self.value(dt, v))
        self.ev(_EE)

    def complex(self, plan: tuple[list[tuple], dict], obj: Any, where: str) -> None:
        plan = plan[0]
        if not isinstance(obj, dict):
            raise self.fail(f"expected a dict, got {type(obj).__name__}")
        extra = obj.keys() - {f[0] for f in plan}
        if extra:
            raise self.fail(f"unknown field(s) {', '.join(sorted(map(str, extra)))}; allowed: "
                            f"{', '.join(f[0] for f in plan)}")
        for key, kind, w0, flags, ref in plan:
            if key not in obj:
                continue
            v = obj[key]
            if flags & ABSTRACT and not self.abstract_ok:
                self._path.append(key)
                raise self.fail(f"{key} is an abstract element: give one of its substitutes")
            if kind == K_ATTR:
                self._path.append("@" + key)
                self.ev(w0, *self.value(ref, v))
                self._path.pop()
            elif kind not in (K_COMPLEX, K_SIMPLE):
                if v is not None:
                    self.ev(_CH, *self.value(ref, v))
            else:
                if flags & LIST:
                    if not isinstance(v, (list, tuple)):
                        raise self.fail(f"{key} repeats: give a list")
                    items = v
                else:
                    items = (v,)
                for i, item in enumerate(items):
                    self._path.append(f"{key}[{i}]" if flags & LIST else key)
                    self.ev(w0)
                    if kind == K_COMPLEX:
                        self.complex(ref, item, key)
                    else:
                        self.simple(ref, item)
                    self._path.pop()
        self.ev(_EE)

    def value(self, dt_id: int, v: Any) -> tuple[int, int]:
        dt = self.sch.datatypes[dt_id]
        kind = dt[0]
        if kind == STRING:
            if not isinstance(v, str):
                raise self.fail(f"expected a string, got {type(v).__name__}")
            try:
                b = v.encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail("string is not valid Unicode") from None
            return dt_id, self._put(b)
        if kind == BINARY:
            if not isinstance(v, (bytes, bytearray, memoryview)):
                raise self.fail(f"expected bytes, got {type(v).__name__}")
            return dt_id, self._put(bytes(v))
        if kind == BOOL:
            if not isinstance(v, bool):
                raise self.fail(f"expected a boolean, got {type(v).__name__}")
            return dt_id, int(v)
        if kind == ENUM:
            idx = self.sch.enum_index[dt_id].get(v) if isinstance(v, str) else None
            if idx is None:
                raise self.fail(f"{v!r} is not one of {', '.join(dt[6])}")
            return dt_id, idx
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.fail(f"expected an integer, got {type(v).__name__}")
        lo, hi = dt[2], dt[3]
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise self.fail(f"{v} is outside {lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}")
        if kind == UINT and v > I64_MAX:
            if v > MASK64:
                raise self.fail(f"{v} does not fit 64 bits")
            return dt_id, v - (1 << 64)
        if not I64_MIN <= v <= I64_MAX:
            if kind == INT and lo is None and hi is None:
                raw = big_to_arena(v)
                if len(raw) > 41:
                    raise self.fail("integer longer than 40 EXI octets")
                return dt_id | BIG, self._put(raw)
            raise self.fail(f"{v} does not fit 64 bits")
        return dt_id, v

    def _put(self, b: bytes) -> int:
        off = len(self.arena)
        self.arena += b
        return (off << 32) | len(b)


__all__ = ["EV_AT", "EV_SE", "TracedWriter", "fast_tape"]
