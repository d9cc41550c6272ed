"""EXI value representation of XSD simple types (EXI 1.0 §7.1, fact sheet §3)."""
from __future__ import annotations

from dataclasses import dataclass

from xsd import XS, SchemaSet, SimpleType, XsdError

# Kinds; the numbers are shared with core/cext/exi_runtime.h (FV2G_EXI_DT_*).
BOOL, NBIT, UINT, INT, ENUM, STRING, BINARY = range(7)
KIND_NAMES = ("bool", "nbit", "uint", "int", "enum", "string", "binary")

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1

_INT_BOUNDS: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None), "long": (INT64_MIN, INT64_MAX), "int": (-(1 << 31), (1 << 31) - 1),
    "short": (-32768, 32767), "byte": (-128, 127), "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None), "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "unsignedLong": (0, UINT64_MAX), "unsignedInt": (0, (1 << 32) - 1), "unsignedShort": (0, 65535),
    "unsignedByte": (0, 255),
}
_STRINGS = {"string", "normalizedString", "token", "anyURI", "ID", "IDREF", "NCName", "Name",
            "language", "NMTOKEN", "anySimpleType"}
_BINARIES = {"hexBinary", "base64Binary"}


@dataclass(frozen=True)
class Datatype:
    kind: int
    nbits: int = 0
    min: int | None = None      # integers: lower bound (nbit: the offset)
    max: int | None = None
    minlen: int = 0             # strings (characters) / binaries (bytes)
    maxlen: int | None = None
    enums: tuple[str, ...] = ()
    binary_form: str = ""       # "hex" | "base64" (JSON form only; same bits)

    def key(self) -> tuple:
        return (self.kind, self.nbits, self.min, self.max, self.minlen, self.maxlen, self.enums,
                self.binary_form)


def _bits(n_values: int) -> int:
    return max(0, (n_values - 1).bit_length())


def resolve(schemas: SchemaSet, t: tuple[str, str] | SimpleType) -> Datatype:
    """Walk a simple type's restriction chain to its built-in and apply the facets."""
    facets: dict[str, str] = {}
    enums: list[str] | None = None
    cur: tuple[str, str] | SimpleType = t
    for _ in range(64):
        if isinstance(cur, tuple):
            if cur[0] == XS:
                return _builtin(cur[1], facets, enums)
            st = schemas.named_type(cur)
            if not isinstance(st, SimpleType):
                raise XsdError(f"{cur[1]} is a complex type where a simple type is needed")
            cur = st
        assert isinstance(cur, SimpleType)
        for k, v in cur.facets.items():
            facets.setdefault(k, v)  # the most derived facet wins
        if cur.enums and enums is None:
            enums = list(cur.enums)
        nxt = cur.base if cur.base is not None else cur.base_anon
        if nxt is None:
            raise XsdError(f"simple type {cur.where} has no base")
        cur = nxt
    raise XsdError("simple type chain too deep")


def _builtin(name: str, facets: dict[str, str], enums: list[str] | None) -> Datatype:
    if enums is not None:
        if name not in _STRINGS:
            raise XsdError(f"enumeration on xs:{name} is not supported")
        return Datatype(kind=ENUM, nbits=_bits(len(enums)), enums=tuple(enums))
    if name == "boolean":
        return Datatype(kind=BOOL)
    lens = _lengths(facets)
    if name in _STRINGS:
        return Datatype(kind=STRING, minlen=lens[0], maxlen=lens[1])
    if name in _BINARIES:
        return Datatype(kind=BINARY, minlen=lens[0], maxlen=lens[1],
                        binary_form="hex" if name == "hexBinary" else "base64")
    if name in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[name]
        if "minInclusive" in facets:
            lo = _max(lo, int(facets["minInclusive"]))
        if "minExclusive" in facets:
            lo = _max(lo, int(facets["minExclusive"]) + 1)
        if "maxInclusive" in facets:
            hi = _min(hi, int(facets["maxInclusive"]))
        if "maxExclusive" in facets:
            hi = _min(hi, int(facets["maxExclusive"]) - 1)
        if lo is not None and hi is not None and hi - lo + 1 <= 4096:
            return Datatype(kind=NBIT, nbits=_bits(hi - lo + 1), min=lo, max=hi)
        if lo is not None and lo >= 0:
            return Datatype(kind=UINT, min=lo, max=hi)
        return Datatype(kind=INT, min=lo, max=hi)
    raise XsdError(f"xs:{name} is not supported by this codec")


def _lengths(facets: dict[str, str]) -> tuple[int, int | None]:
    if "length" in facets:
        n = int(facets["length"])
        return n, n
    return int(facets.get("minLength", "0")), (int(facets["maxLength"]) if "maxLength" in facets else None)


def _max(a: int | None, b: int) -> int:
    return b if a is None else max(a, b)


def _min(a: int | None, b: int) -> int:
    return b if a is None else min(a, b)
