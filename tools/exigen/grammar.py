"""Schema-informed, non-strict EXI grammars for one schema set (EXI 1.0 §8.5, fact sheet §2).

Per complex type: attribute states (sorted by local name, then URI) in front of the content
states; the content states are the deterministic automaton of the particle (Glushkov positions
+ subset construction; bounded maxOccurs unrolled, unbounded loops). Productions in a state:
AT(qname) sorted, SE(qname) in schema order, SE(*), EE, CH[untyped]; then the escape. Every
state records how many second-level entries it has so a decoder can read a second-level EE.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

import datatypes as D
from automaton import analyse as _analyse
from xsd import UNBOUNDED, XS, ComplexType, Element, Particle, SchemaSet, SimpleType, XsdError

# Production kinds; shared with core/cext/exi_runtime.h (FV2G_EXI_P_*).
P_SE, P_AT, P_CH, P_EE, P_SE_ANY, P_CH_UNTYPED = range(6)
# State roles (second-level entry count, EXI §8.5.4.4.1).
ROLE_FIRST, ROLE_START_TAG, ROLE_CONTENT = range(3)

FLAG_ATTR, FLAG_LIST, FLAG_COMPLEX, FLAG_VALUE, FLAG_ABSTRACT = 1, 2, 4, 8, 16
AMBIGUOUS = 0xFFFFFFFF

# A bounded maxOccurs is unrolled into nested optional sequences (one level per occurrence, e.g.
# 1024 for SalesTariffEntry), and the particle walk recurses once per level: whoever builds a
# grammar (generate.py, the generator tests) needs more than Python's default 1000 frames.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))


@dataclass
class Prod:
    kind: int
    qname: int = 0
    arg: int = 0            # SE: child grammar's first state; AT/CH: datatype
    next: int = 0
    child_key: object = None


@dataclass
class State:
    role: int
    prods: list[Prod] = field(default_factory=list)

    @property
    def has_ee(self) -> bool:
        return any(p.kind == P_EE for p in self.prods)

    def second_level_entries(self) -> int:
        base = {ROLE_FIRST: 6, ROLE_START_TAG: 4, ROLE_CONTENT: 2}[self.role]
        return base + (0 if self.has_ee else 1)


@dataclass
class Field:
    key: str
    qname: int
    flags: int
    ref: object             # datatype id (simple) or type key (complex)


@dataclass
class Grammar:
    schemas: SchemaSet
    qnames: list[tuple[str, str]] = field(default_factory=list)
    datatypes: list[D.Datatype] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    roots: list[tuple[int, int, str]] = field(default_factory=list)   # (qname, first state, type key)
    # fragment grammar (EXI §8.5.2): every element qname declared anywhere, sorted; state
    # AMBIGUOUS where declarations of one qname have different types (e.g. -2 eMAID)
    fragments: list[tuple[int, int, str]] = field(default_factory=list)
    types: dict[str, list[Field]] = field(default_factory=dict)      # complex type key -> fields
    simple_of: dict[str, int] = field(default_factory=dict)          # root/simple type key -> dt


class Builder:
    def __init__(self, schemas: SchemaSet) -> None:
        self.g = Grammar(schemas=schemas)
        self.s = schemas
        self._qn: dict[tuple[str, str], int] = {}
        self._dt: dict[tuple, int] = {}
        self._start: dict[object, int] = {}        # grammar key -> first state
        self._tkey: dict[int, str] = {}            # id(type object) -> type key
        self._used_keys: set[str] = set()
        self._pending: list[tuple[object, object]] = []
        self._serial: dict[int, int] = {}

    # -- tables -------------------------------------------------------------------------------
    def qname(self, ns: str, name: str) -> int:
        key = (ns, name)
        if key not in self._qn:
            self._qn[key] = len(self.g.qnames)
            self.g.qnames.append(key)
        return self._qn[key]

    def datatype(self, t: tuple[str, str] | SimpleType) -> int:
        dt = D.resolve(self.s, t)
        k = dt.key()
        if k not in self._dt:
            self._dt[k] = len(self.g.datatypes)
            self.g.datatypes.append(dt)
        return self._dt[k]

    def new_state(self, role: int) -> int:
        self.g.states.append(State(role=role))
        return len(self.g.states) - 1

    # -- types --------------------------------------------------------------------------------
    def type_of(self, el: Element) -> ComplexType | SimpleType | tuple[str, str]:
        t = el.type
        if isinstance(t, tuple):
            if t[0] == XS:
                if t[1] == "anyType":
                    raise XsdError(f"element {el.name} has xs:anyType (unsupported)")
                return t
            return self.s.named_type(t)
        if t is None:
            raise XsdError(f"element {el.name} has no type")
        return t

    def type_key(self, t: ComplexType, hint: str) -> str:
        if id(t) in self._tkey:
            return self._tkey[id(t)]
        base = t.name[1] if t.name else f"{hint}@"
        key, n = base, 2
        while key in self._used_keys:
            key, n = f"{base}{n}", n + 1
        self._used_keys.add(key)
        self._tkey[id(t)] = key
        return key

    def element_grammar(self, el: Element) -> tuple[int, object]:
        """First state of the element's type grammar and its key (type key or datatype id)."""
        t = self.type_of(el)
        if isinstance(t, ComplexType):
            key = self.type_key(t, el.name)
            if key not in self._start:
                self._start[key] = -1
                self._start[key] = self.complex_grammar(t, key)
            return self._start[key], key
        dt = self.datatype(t)
        gkey = ("simple", dt)
        if gkey not in self._start:
            s0 = self.new_state(ROLE_FIRST)
            s1 = self.new_state(ROLE_CONTENT)
            self.g.states[s0].prods.append(Prod(P_CH, arg=dt, next=s1))
            self.g.states[s1].prods.append(Prod(P_EE))
            self._start[gkey] = s0
        return self._start[gkey], dt

    def flatten(self, ct: ComplexType, depth: int = 0):
        if depth > 32:
            raise XsdError(f"derivation chain too deep at {ct.where}")
        attrs, parts, simple, mixed = [], [], None, ct.mixed
        if ct.ext_base is not None and ct.ext_base[0] != XS:
            base = self.s.named_type(ct.ext_base)
            if isinstance(base, ComplexType):
                b_attrs, b_parts, b_simple, b_mixed = self.flatten(base, depth + 1)
                if ct.derivation == "extension":
                    attrs, parts, simple = list(b_attrs), list(b_parts), b_simple
                    mixed = mixed or b_mixed
                else:
                    simple = b_simple
            elif ct.simple is not None:
                simple = ct.simple
        elif ct.simple is not None:
            simple = ct.simple
        attrs = attrs + list(ct.attrs)
        if ct.particle is not None:
            parts.append(ct.particle)
        return attrs, parts, simple, mixed

    def complex_grammar(self, ct: ComplexType, key: str) -> int:
        attrs, parts, simple, mixed = self.flatten(ct)
        attrs = sorted(attrs, key=lambda a: (a.name, a.ns))
        fields: list[Field] = []
        self.g.types[key] = fields
        for a in attrs:
            fields.append(Field(a.name, self.qname(a.ns, a.name), FLAG_ATTR, self.datatype(a.type)))
        first_role = ROLE_FIRST if not attrs else ROLE_START_TAG
        if simple is not None:
            dt = self.datatype(simple)
            fields.append(Field("value", -1, FLAG_VALUE, dt))
            c0 = self.new_state(first_role)
            c1 = self.new_state(ROLE_CONTENT)
            self.g.states[c0].prods.append(Prod(P_CH, arg=dt, next=c1))
            self.g.states[c1].prods.append(Prod(P_EE))
        elif not parts:
            c0 = self.new_state(first_role)
            self.g.states[c0].prods.append(Prod(P_EE))
        else:
            top = Particle(kind="seq", children=parts) if len(parts) > 1 else parts[0]
            c0 = self.content_dfa(top, first_role, mixed, fields)
        if not attrs:
            return c0
        # Attribute states A_0..A_{n-1}; A_n is the content start c0.
        a_states = [self.new_state(ROLE_START_TAG) for _ in attrs]
        self.g.states[a_states[0]].role = ROLE_FIRST
        targets = a_states[1:] + [c0]
        for i, si in enumerate(a_states):
            prods = self.g.states[si].prods
            reached_content = True
            for j in range(i, len(attrs)):
                prods.append(Prod(P_AT, qname=self.qname(attrs[j].ns, attrs[j].name),
                                  arg=fields[j].ref, next=targets[j]))
                if attrs[j].required:
                    reached_content = False
                    break
            if reached_content:
                prods.extend(Prod(p.kind, p.qname, p.arg, p.next, p.child_key)
                             for p in self.g.states[c0].prods)
        return a_states[0]

    # -- particles ----------------------------------------------------------------------------
    def content_dfa(self, top: Particle, first_role: int, mixed: bool, fields: list[Field]) -> int:
        self._serial = {}
        self._keep = top  # keeps every numbered particle alive while its id() is a key
        self._number(top, [0])
        positions: list[tuple[object, int, tuple, Element | None]] = []  # (symbol, qname, order, elem)
        node = self._expand(top, positions)
        nullable, first, last, follow = _analyse(node, len(positions))
        self._fields(top, fields, 1)
        dfa: dict[frozenset, int] = {}
        start_key = frozenset({-1})
        todo = [start_key]
        dfa[start_key] = self.new_state(first_role)
        while todo:
            cur = todo.pop()
            sid = dfa[cur]
            if cur == start_key:
                cand, accept = first, nullable
            else:
                cand = set().union(*(follow[p] for p in cur))
                accept = any(p in last for p in cur)
            by_sym: dict[object, set[int]] = {}
            for p in cand:
                by_sym.setdefault(positions[p][0], set()).add(p)
            items = sorted(by_sym.items(), key=lambda kv: (
                kv[0] == "*", min(positions[p][2] for p in kv[1])))
            prods = []
            for sym, pset in items:
                nk = frozenset(pset)
                if nk not in dfa:
                    dfa[nk] = self.new_state(ROLE_CONTENT)
                    todo.append(nk)
                if sym == "*":
                    prods.append(Prod(P_SE_ANY, next=dfa[nk]))
                else:
                    el = positions[min(pset)][3]
                    prods.append(Prod(P_SE, qname=positions[min(pset)][1], next=dfa[nk], child_key=el))
            if accept:
                prods.append(Prod(P_EE))
            if mixed:
                prods.append(Prod(P_CH_UNTYPED, next=sid))
            self.g.states[sid].prods = prods
            self._pending.append(sid)  # child grammars resolved after this type is complete
        return dfa[start_key]

    def _number(self, p: Particle, counter: list[int]) -> None:
        if id(p) in self._serial:
            return
        self._serial[id(p)] = counter[0]
        counter[0] += 1
        for c in p.children:
            self._number(c, counter)

    def _members(self, p: Particle) -> list[Element]:
        if p.ref is not None:
            return self.s.substitutes(p.ref)
        assert p.elem is not None
        return [p.elem]

    def _expand(self, p: Particle, positions: list) -> tuple:
        def body() -> tuple:
            if p.kind == "elem":
                leaves = []
                for i, el in enumerate(self._members(p)):
                    positions.append((self.qname(el.ns, el.name), self.qname(el.ns, el.name),
                                      (self._serial[id(p)], i), el))
                    leaves.append(("leaf", len(positions) - 1))
                return leaves[0] if len(leaves) == 1 else ("alt", leaves)
            if p.kind == "any":
                positions.append(("*", 0, (self._serial[id(p)], 0), None))
                return ("leaf", len(positions) - 1)
            kids = [self._expand(c, positions) for c in p.children]
            return ("seq" if p.kind == "seq" else "alt", kids)

        if p.max == 0:
            return ("seq", [])
        parts = [body() for _ in range(p.min)]
        if p.max == UNBOUNDED:
            parts.append(("star", body()))
        else:
            # optional copies nested, opt(c1 opt(c2 ...)): the same language as c1? c2? ...,
            # but each automaton state holds one copy's positions (linear, not cubic, for 1024)
            copies = [body() for _ in range(p.max - p.min)]
            if copies:
                node = ("opt", copies[-1])
                for c in reversed(copies[:-1]):
                    node = ("opt", ("seq", [c, node]))
                parts.append(node)
        return parts[0] if len(parts) == 1 else ("seq", parts)

    def _fields(self, p: Particle, fields: list[Field], mult: int) -> None:
        m = mult * (1 << 20 if p.max == UNBOUNDED else p.max)
        if p.kind == "elem":
            for el in self._members(p):
                qid = self.qname(el.ns, el.name)
                t = self.type_of(el)
                if isinstance(t, ComplexType):
                    flags, ref = FLAG_COMPLEX, self.type_key(t, el.name)
                else:
                    flags, ref = 0, self.datatype(t)
                if m > 1:
                    flags |= FLAG_LIST
                if el.abstract:   # in the EXI grammar (sheet §2.6), never in a valid instance
                    flags |= FLAG_ABSTRACT
                old = next((f for f in fields if f.qname == qid), None)
                if old is not None:
                    if old.ref != ref:
                        raise XsdError(f"element {el.name} appears twice with different types")
                    old.flags |= FLAG_LIST
                    continue
                if any(f.key == el.name for f in fields):
                    raise XsdError(f"two children named {el.name} in one type")
                fields.append(Field(el.name, qid, flags, ref))
        for c in p.children:
            self._fields(c, fields, m)

    # -- whole set ----------------------------------------------------------------------------
    def resolve_children(self) -> None:
        while self._pending:
            sid = self._pending.pop()
            for pr in self.g.states[sid].prods:
                if pr.kind == P_SE and isinstance(pr.child_key, Element):
                    pr.arg, _ = self.element_grammar(pr.child_key)
            # attribute states copied productions before the children were known: fix them too
        for st in self.g.states:
            for pr in st.prods:
                if pr.kind == P_SE and isinstance(pr.child_key, Element):
                    pr.arg, _ = self.element_grammar(pr.child_key)
        if self._pending:
            self.resolve_children()

    def build(self) -> Grammar:
        globals_ = sorted(self.s.elements.values(), key=lambda e: (e.name, e.ns))
        for el in globals_:
            first, key = self.element_grammar(el)
            self.resolve_children()
            tkey = key if isinstance(key, str) else f"{el.name}#simple"
            if not isinstance(key, str):
                self.g.simple_of[tkey] = key
            self.g.roots.append((self.qname(el.ns, el.name), first, tkey))
        self.resolve_children()
        by_qname: dict[tuple[str, str], list[Element]] = {}
        for el in self._all_declarations():
            by_qname.setdefault((el.name, el.ns), []).append(el)
        for (name, ns), decls in sorted(by_qname.items()):
            firsts = {self.element_grammar(el) for el in decls}
            self.resolve_children()
            if len(firsts) == 1:
                first, key = next(iter(firsts))
                tkey = key if isinstance(key, str) else f"{name}#simple"
                if not isinstance(key, str):
                    self.g.simple_of[tkey] = key
            else:
                first, tkey = AMBIGUOUS, ""
            self.g.fragments.append((self.qname(ns, name), first, tkey))
        return self.g

    def _all_declarations(self) -> list[Element]:
        out: list[Element] = []
        seen: set[int] = set()

        def walk_type(t: object) -> None:
            if isinstance(t, ComplexType) and id(t) not in seen:
                seen.add(id(t))
                if t.particle is not None:
                    walk_particle(t.particle)

        def walk_particle(p: Particle) -> None:
            if p.kind == "elem" and p.elem is not None:
                out.append(p.elem)
                walk_type(p.elem.type)
            for c in p.children:
                walk_particle(c)

        for el in self.s.elements.values():
            out.append(el)
            walk_type(el.type)
        for t in self.s.types.values():
            walk_type(t)
        return out
