"""Per-protocol plans for the message walkers: the schema descriptions (schemas.py) turned
into nested tuples/dicts that the hot loops in reader.py / writer.py use without lookups."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from .schemas import ATTR, BINARY, BOOL, COMPLEX, ENUM, INT, LIST, STRING, UINT, VALUE, Schema, schema

EV_SE, EV_EE, EV_AT, EV_CH = 1, 2, 3, 4
BIG = 0x40000000
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
MASK64 = (1 << 64) - 1
# field kinds in an encode plan
K_ATTR, K_VALUE, K_COMPLEX, K_SIMPLE = range(4)


def big_from_arena(raw: bytes) -> int:
    """FV2G_EXI_BIG arena form: sign byte, then Unsigned Integer octets (LSB group first)."""
    mag = 0
    for i, octet in enumerate(raw[1:]):
        mag |= (octet & 0x7F) << (7 * i)
    return -mag - 1 if raw[0] else mag


def big_to_arena(v: int) -> bytes:
    sign, mag = (1, -v - 1) if v < 0 else (0, v)
    out = bytearray([sign])
    while True:
        octet = mag & 0x7F
        mag >>= 7
        out.append(octet | (0x80 if mag else 0))
        if not mag:
            return bytes(out)


class Plans:
    def __init__(self, sch: Schema) -> None:
        self.sch = sch
        dts = sch.datatypes
        # decode: per datatype a converter code: 0 int as is, 1 bool, 2 enum, 3 string, 4 binary, 5 uint64
        self.dconv: list[tuple[int, Any]] = []
        # encode: per datatype (kind, lo, hi, enum index)
        self.econv: list[tuple[int, int, int, dict[str, int] | None]] = []
        for i, dt in enumerate(dts):
            kind, lo, hi = dt[0], dt[2], dt[3]
            if kind == BOOL:
                self.dconv.append((1, None))
            elif kind == ENUM:
                self.dconv.append((2, dt[6]))
            elif kind == STRING:
                self.dconv.append((3, None))
            elif kind == BINARY:
                self.dconv.append((4, None))
            elif kind == UINT and (hi is None or hi > I64_MAX):
                self.dconv.append((5, None))
            else:
                self.dconv.append((0, None))
            lo_e = I64_MIN if lo is None else max(lo, I64_MIN)
            hi_e = I64_MAX if hi is None else min(hi, I64_MAX)
            self.econv.append((kind, lo_e, hi_e, sch.enum_index.get(i)))
        self.dec: dict[str, dict[int, tuple]] = {k: {} for k in sch.types}
        # encode plan per type: (fields in schema order, key -> (order, field)); the index lets
        # small dicts (a Body with one message of 36 choices) skip the fields they do not use
        self.enc: dict[str, tuple[list[tuple], dict[str, tuple[int, tuple]]]] = {
            k: ([], {}) for k in sch.types}
        for tkey, fields in sch.types.items():
            d, e = self.dec[tkey], self.enc[tkey][0]
            for f in fields:
                if f.flags & ATTR:
                    e.append((f.key, K_ATTR, (EV_AT << 24) | f.qname, f.flags, f.ref))
                elif f.flags & VALUE:
                    e.append((f.key, K_VALUE, EV_CH << 24, f.flags, f.ref))
                elif f.flags & COMPLEX:
                    d[f.qname] = (f.key, bool(f.flags & LIST), self.dec[f.ref])
                    e.append((f.key, K_COMPLEX, (EV_SE << 24) | f.qname, f.flags, self.enc[f.ref]))
                else:
                    d[f.qname] = (f.key, bool(f.flags & LIST), None)
                    e.append((f.key, K_SIMPLE, (EV_SE << 24) | f.qname, f.flags, f.ref))
        for fields, index in self.enc.values():
            index.update((f[0], (i, f)) for i, f in enumerate(fields))
        self.roots = {q: (name, self.dec[t] if t is not None else None) for name, (q, t, d) in sch.roots.items()}
        self.enc_roots = {name: ((EV_SE << 24) | q, self.enc[t] if t is not None else None, d)
                          for name, (q, t, d) in sch.roots.items()}
        self.attr_names = {q: sch.local(q) for q in range(len(sch.qnames))}
        self.frag_roots = {q: (name, self.dec[t] if t else None) for name, (q, t, d) in sch.fragments.items()
                           if t != ""}
        self.frag_enc_roots = {name: ((EV_SE << 24) | q, self.enc[t] if t else None, d)
                               for name, (q, t, d) in sch.fragments.items() if t != ""}


@lru_cache(maxsize=None)
def plans(protocol: str) -> Plans:
    return Plans(schema(protocol))


__all__ = ["INT", "Plans", "plans"]
