"""The generated schema descriptions (core/exi/_schema_*.py), indexed for the codec.

A protocol name (``sap``, ``din``, ``iso2``, ``iso20-common``, ``iso20-dc``, ``iso20-ac``,
``iso20-acdp``, ``iso20-wpt``) selects one XSD set, i.e. one EXI grammar in the C core.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any

PROTOCOLS: tuple[str, ...] = ("sap", "din", "iso2", "iso20-common", "iso20-dc", "iso20-ac",
                              "iso20-acdp", "iso20-wpt", "xmldsig")
# V2GTP payload type of each message grammar (charging-domain.md 2.5, exi.md 6): 0x8001 is
# shared by supportedAppProtocol, DIN 70121 and ISO 15118-2 (the handshake tells which follows).
PAYLOAD_TYPES: dict[str, int] = {"sap": 0x8001, "din": 0x8001, "iso2": 0x8001, "iso20-common": 0x8002,
                                 "iso20-ac": 0x8003, "iso20-dc": 0x8004, "iso20-acdp": 0x8005,
                                 "iso20-wpt": 0x8006}
# "xmldsig" is the xmldsig-core schema alone: the fragment grammar Josev uses for SignedInfo.
# Other spellings users meet in logs and configs.
ALIASES = {
    "iso20": "iso20-common", "iso15118-2": "iso2", "din70121": "din", "apphand": "sap",
    "urn:iso:15118:2:2010:AppProtocol": "sap", "urn:din:70121:2012:MsgDef": "din",
    "urn:iso:15118:2:2013:MsgDef": "iso2", "urn:iso:std:iso:15118:-20:CommonMessages": "iso20-common",
    "urn:iso:std:iso:15118:-20:DC": "iso20-dc", "urn:iso:std:iso:15118:-20:AC": "iso20-ac",
    "urn:iso:std:iso:15118:-20:ACDP": "iso20-acdp", "urn:iso:std:iso:15118:-20:WPT": "iso20-wpt",
}

ATTR, LIST, COMPLEX, VALUE, ABSTRACT = 1, 2, 4, 8, 16
BOOL, NBIT, UINT, INT, ENUM, STRING, BINARY = range(7)


@dataclass(frozen=True)
class Field:
    key: str
    qname: int
    flags: int
    ref: Any          # type key (COMPLEX) or datatype id


@dataclass(frozen=True)
class Schema:
    name: str
    index: int
    qnames: tuple[tuple[str, str], ...]
    datatypes: tuple[tuple, ...]
    types: dict[str, tuple[Field, ...]]
    by_qname: dict[str, dict[int, Field]]       # type key -> qname id -> field (elements)
    keys: dict[str, frozenset[str]]              # type key -> allowed dict keys
    roots: dict[str, tuple[int, str | None, int | None]]
    roots_by_qname: dict[int, tuple[str, str | None, int | None]]
    enum_index: dict[int, dict[str, int]]        # datatype id -> value -> index
    message_roots: frozenset[str]                # roots that are messages (sheet §1.6 notes)
    fragments: dict[str, tuple[int, str | None, int | None]]  # fragment grammar elements

    def local(self, qname: int) -> str:
        return self.qnames[qname][1] if 0 <= qname < len(self.qnames) else "?"


def canonical(protocol: str) -> str:
    p = ALIASES.get(protocol, protocol)
    if p not in PROTOCOLS:
        raise ValueError(f"unknown EXI protocol {protocol!r}; one of: {', '.join(PROTOCOLS)}")
    return p


@lru_cache(maxsize=None)
def schema(protocol: str) -> Schema:
    name = canonical(protocol)
    mod = import_module(f"freev2g.exi._schema_{name.replace('-', '_')}")
    types = {k: tuple(Field(*f) for f in v) for k, v in mod.TYPES.items()}
    by_qname = {k: {f.qname: f for f in v if not f.flags & (ATTR | VALUE)} for k, v in types.items()}
    keys = {k: frozenset(f.key for f in v) for k, v in types.items()}
    enum_index = {i: {v: j for j, v in enumerate(dt[6])} for i, dt in enumerate(mod.DATATYPES) if dt[0] == ENUM}
    roots_by_qname = {q: (n, t, d) for n, (q, t, d) in mod.ROOTS.items()}
    return Schema(name=name, index=mod.INDEX, qnames=mod.QNAMES, datatypes=mod.DATATYPES, types=types,
                  by_qname=by_qname, keys=keys, roots=dict(mod.ROOTS), roots_by_qname=roots_by_qname,
                  enum_index=enum_index, message_roots=_message_roots(name, mod.ROOTS),
                  fragments=dict(mod.FRAGMENTS))


def _message_roots(name: str, roots: dict) -> frozenset[str]:
    """DIN/-2: V2G_Message; SAP: both globals; -20: the *Req/*Res elements."""
    if name in ("din", "iso2"):
        return frozenset({"V2G_Message"})
    if name == "sap":
        return frozenset(roots)
    if name == "xmldsig":
        return frozenset()
    return frozenset(r for r in roots if r.endswith(("Req", "Res")))
