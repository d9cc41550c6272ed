"""Random walks over the generated grammar tables (read from the C core) that produce valid
event tapes, with values drawn inside (or, on request, just outside) each type's facets.
Used by the Hypothesis properties in test_props.py."""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from freev2g.cext.loader import load_core
from freev2g.exi import schemas as S

lib = load_core().lib
P_SE, P_AT, P_CH, P_EE = 0, 1, 2, 3
EV_SE, EV_EE, EV_AT, EV_CH = 1, 2, 3, 4
BOOL, NBIT, UINT, INT, ENUM, STRING, BINARY = range(7)
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass
class Tables:
    states: list[tuple[int, int]]
    prods: list[tuple[int, int, int, int]]
    dts: list[tuple]
    roots: list[tuple[int, int]]
    frags: list[tuple[int, int]]


_cache: dict[int, Tables] = {}


def tables(protocol: str) -> Tables:
    idx = S.schema(protocol).index
    if idx not in _cache:
        g = lib.fv2g_exi_grammar_get(idx)
        states = [(g.states[i].first, g.states[i].count) for i in range(g.n_states)]
        prods = [(g.prods[i].kind, g.prods[i].qname, g.prods[i].arg, g.prods[i].next) for i in range(g.n_prods)]
        dts = [(d.kind, d.nbits, d.has_min, d.has_max, d.min, d.max, d.minlen, d.maxlen, d.n_enum)
               for d in (g.dts[i] for i in range(g.n_dts))]
        roots = [(g.root_qname[i], g.root_state[i]) for i in range(g.n_roots)]
        frags = [(g.frag_qname[i], g.frag_state[i]) for i in range(g.n_frag)]
        _cache[idx] = Tables(states, prods, dts, roots, frags)
    return _cache[idx]


@dataclass
class Walk:
    tape: list[int] = field(default_factory=list)
    arena: bytearray = field(default_factory=bytearray)
    values: list[object] = field(default_factory=list)   # decoded-form value per AT/CH event
    violations: int = 0


def abstract_names(protocol: str) -> frozenset[str]:
    """Elements declared abstract: EXI-encodable, but refused by encode() without deviations."""
    sch = S.schema(protocol)
    return frozenset(f.key for fields in sch.types.values() for f in fields if f.flags & S.ABSTRACT)


def _value(draw, dt: tuple, violate: bool):
    kind, nbits, has_min, has_max, lo, hi, minlen, maxlen, n_enum = dt
    if kind == BOOL:
        return draw(st.booleans()), False
    if kind == ENUM:
        if violate and (1 << nbits) > n_enum:
            return n_enum, True
        return draw(st.integers(0, n_enum - 1)), False
    if kind in (NBIT, UINT, INT):
        lo_ = lo if has_min else (0 if kind == UINT else I64_MIN)
        hi_ = hi if has_max else (I64_MAX if kind != UINT else I64_MAX)
        if violate and has_max and hi_ < I64_MAX:
            return hi_ + 1, True
        if violate and has_min and lo_ > I64_MIN and (kind != UINT or lo_ > 0):
            return lo_ - 1, True
        return draw(st.one_of(st.sampled_from([lo_, hi_]), st.integers(lo_, hi_))), False
    cap = 0xFFFFFFFF
    if violate and maxlen != cap and maxlen < 300:
        n = maxlen + 1
        return ("x" * n) if kind == STRING else bytes(n), True
    if violate and minlen > 0:
        n = minlen - 1
        return ("x" * n) if kind == STRING else bytes(n), True
    hi_len = min(maxlen, minlen + 24) if maxlen != cap else minlen + 24
    if kind == STRING:
        return draw(st.text(min_size=minlen, max_size=hi_len)), False
    return draw(st.binary(min_size=minlen, max_size=hi_len)), False


def walk(draw, protocol: str, *, avoid: frozenset[str] = frozenset(), violate: bool = False,
         budget: int = 120, ee_bias: int = 2, fragment: bool = False,
         only_roots: frozenset[str] | None = None) -> Walk | None:
    """One valid event tape (None if the walk ran out of budget); `violate` puts the first
    value that can be outside its facets just outside them."""
    t = tables(protocol)
    sch = S.schema(protocol)
    avoid_q = {i for i, (_, local) in enumerate(sch.qnames) if local in avoid}
    if fragment:
        complex_frags = {v[0] for v in sch.fragments.values() if v[1]}
        roots = [r for r in t.frags if r[0] in complex_frags and r[0] not in avoid_q]
    else:
        roots = [r for r in t.roots if r[0] not in avoid_q and sch.roots_by_qname[r[0]][1] is not None
                 and (only_roots is None or sch.local(r[0]) in only_roots)]
    q, cur = draw(st.sampled_from(roots))
    w = Walk()
    w.tape.append((EV_SE << 24) | q)
    stack = [None]
    events = 1
    while True:
        first, count = t.states[cur]
        opts = [i for i in range(count) if t.prods[first + i][0] in (P_SE, P_AT, P_CH, P_EE)
                and not (t.prods[first + i][0] == P_SE and t.prods[first + i][1] in avoid_q)]
        if not opts:
            return None
        ee = [i for i in opts if t.prods[first + i][0] == P_EE]
        if ee and (events > budget or len(stack) > 12 or draw(st.integers(0, ee_bias)) == 0):
            choice = ee[0]
        else:
            choice = draw(st.sampled_from(opts))
        kind, qn, arg, nxt = t.prods[first + choice]
        events += 1
        if events > budget * 8:
            return None
        if kind == P_EE:
            w.tape.append(EV_EE << 24)
            back = stack.pop()
            if back is None:
                return w
            cur = back
        elif kind == P_SE:
            w.tape.append((EV_SE << 24) | qn)
            stack.append(nxt)
            cur = arg
        else:
            v, bad = _value(draw, t.dts[arg], violate and w.violations == 0)
            w.violations += bad
            dtk = t.dts[arg][0]
            if dtk in (STRING, BINARY):
                b = v.encode("utf-8") if dtk == STRING else v
                word = (len(w.arena) << 32) | len(b)
                w.arena += b
            elif dtk == BOOL:
                word = int(v)
            elif v > I64_MAX:
                word = v - (1 << 64)
            else:
                word = v
            w.values.append(v)
            w.tape += [((EV_AT if kind == P_AT else EV_CH) << 24) | (qn if kind == P_AT else 0), arg, word]
            cur = nxt


def normalise(protocol: str, tape: list[int], arena: bytes) -> list[tuple]:
    """Events as comparable tuples (CH/EE carry no qname on input; string/binary values are
    resolved from the arena). Tape format: core/cext/exi_runtime.h."""
    dts = tables(protocol).dts
    out: list[tuple] = []
    i = 0
    while i < len(tape):
        k = tape[i]
        kind = k >> 24
        if kind == EV_SE:
            out.append((kind, k & 0xFFFFFF))
            i += 1
        elif kind == EV_EE:
            out.append((kind,))
            i += 1
        else:
            dt, v = tape[i + 1], tape[i + 2]
            q = (k & 0xFFFFFF) if kind == EV_AT else 0
            if dts[dt & 0xFFFF][0] in (STRING, BINARY) or dt & 0x40000000:
                off, ln = (v >> 32) & 0xFFFFFFFF, v & 0xFFFFFFFF
                v = bytes(arena[off:off + ln])
            out.append((kind, q, dt, v))
            i += 3
    return out
