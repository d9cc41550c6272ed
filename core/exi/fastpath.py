"""Straight-line Python per complex type, compiled once per protocol from its schema
description: one encode function (dict -> event tape) and one decode function (tape -> dict)
per type, with the field names, event words, ranges and enum tables as constants.

Both are the hot path only: anything they do not expect (a wrong type, an unknown key, a
value out of range, a big integer, events in another order than the schema's) raises _Slow,
and the caller falls back to the generic walkers (writer.py, reader.py), which give the same
result or the precise error. Types whose fields repeat an element name are left to the
generic walkers.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from .plans import EV_AT, EV_CH, EV_EE, EV_SE, K_ATTR, K_COMPLEX, K_SIMPLE, K_VALUE, MASK64, plans
from .schemas import ABSTRACT, ATTR, BINARY, BOOL, COMPLEX, ENUM, LIST, STRING, VALUE

_EE = EV_EE << 24
_CH = EV_CH << 24
_INLINE_FIELDS = 10     # bigger types (a Body choice of 36 messages) dispatch by key instead
_LEAF_FIELDS = 4


class _Slow(Exception):
    pass


class _Src:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}

    def const(self, value: Any) -> str:
        name = f"K{len(self.consts)}"
        self.consts[name] = value
        return name

    def add(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)


def _enc_value(src: _Src, econv: list, dt: int, v: str, out: str, ind: int) -> str:
    """Lines that check `v` against datatype `dt`; returns the name holding its tape word."""
    kind, lo, hi, enums = econv[dt]
    if kind == BOOL:
        src.add(ind, f"if type({v}) is not bool: raise _Slow")
        src.add(ind, f"{out} = 1 if {v} else 0")
    elif kind == ENUM:
        src.add(ind, f"{out} = {src.const(enums)}.get({v})")   # str keys: other types miss
        src.add(ind, f"if {out} is None: raise _Slow")
    elif kind == STRING:
        src.add(ind, f"if type({v}) is not str: raise _Slow")
        src.add(ind, f"b = {v}.encode('utf-8')")
        src.add(ind, f"{out} = (len(ar) << 32) | len(b)")
        src.add(ind, "ar += b")
    elif kind == BINARY:
        src.add(ind, f"if type({v}) is not bytes: raise _Slow")
        src.add(ind, f"{out} = (len(ar) << 32) | len({v})")
        src.add(ind, f"ar += {v}")
    else:
        src.add(ind, f"if type({v}) is not int or not {lo} <= {v} <= {hi}: raise _Slow")
        return v
    return out


def _leaf(fields: Any) -> bool:
    """A small type without complex children: its walker is written inline into its parents."""
    return len(fields) <= _LEAF_FIELDS and not any(f[1] == K_COMPLEX or f[3] & ABSTRACT for f in fields)


def _enc_field(src: _Src, p: Any, names: dict[int, str], entry: tuple, ind: int, v: str = "v",
               d: int = 0) -> None:
    key, kind, w0, flags, ref = entry
    if flags & ABSTRACT:
        src.add(ind, "raise _Slow")
        return
    if kind == K_COMPLEX:
        fn = names[id(ref)]
        if flags & LIST:
            src.add(ind, f"if type({v}) is not list: raise _Slow")
            src.add(ind, f"for x in {v}:")
            src.add(ind + 1, f"tp.append({w0})")
            src.add(ind + 1, f"{fn}(x, tp, ar)")
        elif _leaf(ref[0]):
            src.add(ind, f"tp.append({w0})")
            _enc_body(src, p, names, ref[0], ind, v, d + 1)
        else:
            src.add(ind, f"tp.append({w0})")
            src.add(ind, f"{fn}({v}, tp, ar)")
    elif kind == K_SIMPLE:
        if flags & LIST:
            src.add(ind, f"if type({v}) is not list: raise _Slow")
            src.add(ind, f"for x in {v}:")
            w = _enc_value(src, p.econv, ref, "x", "w", ind + 1)
            src.add(ind + 1, f"tp += ({w0}, {_CH}, {ref}, {w}, {_EE})")
        else:
            w = _enc_value(src, p.econv, ref, v, "w", ind)
            src.add(ind, f"tp += ({w0}, {_CH}, {ref}, {w}, {_EE})")
    elif kind == K_ATTR:
        w = _enc_value(src, p.econv, ref, v, "w", ind)
        src.add(ind, f"tp += ({w0}, {ref}, {w})")
    else:
        assert kind == K_VALUE
        w = _enc_value(src, p.econv, ref, v, "w", ind)
        src.add(ind, f"tp += ({_CH}, {ref}, {w})")


def _enc_body(src: _Src, p: Any, names: dict[int, str], fields: list, ind: int, o: str, d: int) -> None:
    """Lines writing the events of dict `o` (fields in schema order) and its EE."""
    v, m = f"v{d}", f"m{d}"
    src.add(ind, f"if type({o}) is not dict: raise _Slow")
    src.add(ind, f"{m} = 0")
    for entry in fields:
        src.add(ind, f"{v} = {o}.get({entry[0]!r}, _M)")
        src.add(ind, f"if {v} is not _M:")
        src.add(ind + 1, f"{m} += 1")
        _enc_field(src, p, names, entry, ind + 1, v, d)
    src.add(ind, f"if {m} != len({o}): raise _Slow")
    src.add(ind, f"tp.append({_EE})")


def _emit_encoder(src: _Src, p: Any, names: dict[int, str], fn: str, plan: tuple) -> None:
    fields, _index = plan
    if len(fields) <= _INLINE_FIELDS:
        src.add(0, f"def {fn}(o, tp, ar):")
        _enc_body(src, p, names, fields, 1, "o", 0)
        return
    table: dict[str, str] = {}
    for i, entry in enumerate(fields):
        sub = f"{fn}_{i}"
        table[entry[0]] = sub
        src.add(0, f"def {sub}(v, tp, ar):")
        _enc_field(src, p, names, entry, 1)
    order = {entry[0]: i for i, entry in enumerate(fields)}
    disp = "{" + ", ".join(f"{k!r}: {v}" for k, v in table.items()) + "}"
    src.add(0, f"{fn}_T = {disp}")
    src.add(0, f"def {fn}(o, tp, ar):")
    src.add(1, "if type(o) is not dict: raise _Slow")
    src.add(1, "if len(o) == 1:")
    src.add(2, "(k, v), = o.items()")
    src.add(2, f"f = {fn}_T.get(k)")
    src.add(2, "if f is None: raise _Slow")
    src.add(2, "f(v, tp, ar)")
    src.add(1, "else:")
    src.add(2, "try:")
    src.add(3, f"ks = sorted(o, key={src.const(order)}.__getitem__)")
    src.add(2, "except (KeyError, TypeError):")
    src.add(3, "raise _Slow from None")
    src.add(2, "for k in ks:")
    src.add(3, f"{fn}_T[k](o[k], tp, ar)")
    src.add(1, f"tp.append({_EE})")


def _dec_value(src: _Src, p: Any, dt: int, w: str) -> str:
    """Expression converting tape value word `w` of datatype `dt` (arena `ar`)."""
    code, extra = p.dconv[dt]
    if code == 0:
        return w
    if code == 1:
        return f"{w} == 1"
    if code == 2:
        return f"{src.const(tuple(extra))}[{w}]"
    if code == 3:
        return f"ar[{w} >> 32:({w} >> 32) + ({w} & 0xFFFFFFFF)].decode('utf-8')"
    if code == 4:
        return f"ar[{w} >> 32:({w} >> 32) + ({w} & 0xFFFFFFFF)]"
    return f"{w} & {MASK64}"


def _dec_leaf(fields: tuple) -> bool:
    return len(fields) <= _LEAF_FIELDS and _plain(fields) and not any(f.flags & COMPLEX for f in fields)


def _emit_decoder(src: _Src, p: Any, tnames: dict[str, str], types: dict, fn: str, fields: tuple) -> None:
    src.add(0, f"def {fn}(t, pos, ar):")
    _dec_body(src, p, tnames, types, fields, 1, "o", 0)
    src.add(1, "return o, pos")


def _dec_body(src: _Src, p: Any, tnames: dict[str, str], types: dict, fields: tuple, ind: int, o: str,
              d: int) -> None:
    """Lines reading the events of one element's content (after its SE) into dict `o`."""
    src.add(ind, f"{o} = {{}}")
    for f in fields:
        if f.flags & ATTR:
            src.add(ind, f"if t[pos] == {(EV_AT << 24) | f.qname}:")
            src.add(ind + 1, f"if t[pos + 1] != {f.ref}: raise _Slow")
            src.add(ind + 1, f"{o}[{p.attr_names[f.qname]!r}] = {_dec_value(src, p, f.ref, 't[pos + 2]')}")
            src.add(ind + 1, "pos += 3")
        elif f.flags & VALUE:
            src.add(ind, f"if t[pos] >> 24 == {EV_CH}:")
            src.add(ind + 1, f"if t[pos + 1] != {f.ref}: raise _Slow")
            src.add(ind + 1, f"{o}['value'] = {_dec_value(src, p, f.ref, 't[pos + 2]')}")
            src.add(ind + 1, "pos += 3")
        else:
            se = (EV_SE << 24) | f.qname
            if f.flags & COMPLEX and not f.flags & LIST and _dec_leaf(types[f.ref]):
                src.add(ind, f"if t[pos] == {se}:")
                src.add(ind + 1, "pos += 1")
                _dec_body(src, p, tnames, types, types[f.ref], ind + 1, f"o{d + 1}", d + 1)
                src.add(ind + 1, f"{o}[{f.key!r}] = o{d + 1}")
                continue
            if f.flags & COMPLEX:
                item = [f"x, pos = {tnames[f.ref]}(t, pos + 1, ar)"]
            else:
                item = [f"if t[pos + 1] != {_CH | f.qname} or t[pos + 2] != {f.ref} or t[pos + 4] != {_EE | f.qname}:",
                        "    raise _Slow",
                        f"x = {_dec_value(src, p, f.ref, 't[pos + 3]')}", "pos += 5"]
            src.add(ind, f"if t[pos] == {se}:")
            if f.flags & LIST:
                src.add(ind + 1, f"{o}[{f.key!r}] = lst = []")
                src.add(ind + 1, f"while t[pos] == {se}:")
                for line in item:
                    src.add(ind + 2, line)
                src.add(ind + 2, "lst.append(x)")
            else:
                for line in item:
                    src.add(ind + 1, line)
                src.add(ind + 1, f"{o}[{f.key!r}] = x")
    src.add(ind, f"if t[pos] >> 24 != {EV_EE}: raise _Slow")
    src.add(ind, "pos += 1")


def _plain(fields: tuple) -> bool:
    """True if the straight-line decoder gives what the generic reader gives."""
    elems = [f for f in fields if not f.flags & (ATTR | VALUE)]
    return (len({f.qname for f in elems}) == len(elems)
            and len({f.key for f in fields}) == len(fields)
            and not any(f.key == "value" for f in fields if not f.flags & VALUE))


class Fast:
    """Compiled walkers of one protocol: `encode(message, fragment)` -> (tape, arena) or None,
    `decode(tape, arena, fragment)` -> message dict or None (None: use the generic walker)."""

    def __init__(self, protocol: str) -> None:
        p = plans(protocol)
        sch = p.sch
        src = _Src()
        enc_names = {id(plan): f"e{i}" for i, plan in enumerate(p.enc.values())}
        for tkey, plan in p.enc.items():
            _emit_encoder(src, p, enc_names, enc_names[id(plan)], plan)
        dec_names = {tkey: f"d{i}" for i, tkey in enumerate(sch.types)}
        for tkey, fields in sch.types.items():
            if _plain(fields):
                _emit_decoder(src, p, dec_names, sch.types, dec_names[tkey], fields)
            else:
                src.add(0, f"def {dec_names[tkey]}(t, pos, ar):")
                src.add(1, "raise _Slow")
        env: dict[str, Any] = {"_Slow": _Slow, "_M": object(), **src.consts}
        exec(compile("\n".join(src.lines), f"<exi fast path {sch.name}>", "exec"), env)  # noqa: S102
        self._enc_roots = [
            {name: (w0, env[enc_names[id(plan)]] if plan is not None else None)
             for name, (w0, plan, _d) in roots.items()}
            for roots in (p.enc_roots, p.frag_enc_roots)]
        frag = {n: r for n, r in sch.fragments.items() if r[1] != ""}
        self._dec_roots = [{q: (name, env[dec_names[t]]) for name, (q, t, _d) in table.items() if t}
                           for table in (sch.roots, frag)]

    def encode(self, message: Any, fragment: bool = False) -> tuple[list[int], bytearray] | None:
        if type(message) is not dict or len(message) != 1:
            return None
        (name, content), = message.items()
        root = self._enc_roots[fragment].get(name)
        if root is None or root[1] is None:
            return None
        tp = [root[0]]
        ar = bytearray()
        try:
            root[1](content, tp, ar)
        except (_Slow, UnicodeEncodeError, TypeError):   # TypeError: an unhashable enum value
            return None
        return tp, ar

    def decode(self, t: list[int], ar: bytes, fragment: bool = False) -> dict[str, Any] | None:
        root = self._dec_roots[fragment].get(t[0] & 0xFFFFFF)
        if root is None:
            return None
        try:
            obj = root[1](t, 1, ar)[0]
        except (_Slow, IndexError, UnicodeDecodeError):
            return None
        return {root[0]: obj}


fast: Callable[[str], Fast] = lru_cache(maxsize=None)(Fast)
