"""Declarative field types for HCI payloads (whitebeet-hci.md 0.3, 4.1).

A message is a table of (name, type). The same table drives encoding and decoding, so the two
directions cannot drift (STYLE.md practice 6). All multi-byte integers are big-endian.
Decoded records are frozen attrs instances generated from the table.
"""
from __future__ import annotations

import struct
from typing import Any, Callable, Sequence

import attrs

from freev2g.model.units import PhysicalValue, PhysicalValueError, Unit


class HciCodecError(ValueError):
    """Base of HCI payload errors."""


class HciDecodeError(HciCodecError):
    """A payload that does not match its table; names message, field and byte offset."""

    def __init__(self, where: str, offset: int, reason: str):
        super().__init__(f"{where}: byte offset {offset}: {reason}")
        self.where = where
        self.offset = offset
        self.reason = reason


class HciEncodeError(HciCodecError):
    """A value that cannot be put on the wire; names message and field."""


class _Cursor:
    __slots__ = ("data", "pos", "where")

    def __init__(self, data: bytes, where: str):
        self.data = data
        self.pos = 0
        self.where = where

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise HciDecodeError(
                self.where, self.pos, f"{what} needs {n} bytes, only {len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos


class FieldType:
    """One wire type. `encode(value, path)` -> bytes; `decode(cursor, path)` -> value."""

    label = "?"
    default_none = False  # value may be None (optional/conditional)

    def encode(self, value: Any, path: str) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    def decode(self, cur: _Cursor, path: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


class _Int(FieldType):
    def __init__(self, label: str, fmt: str):
        self.label = label
        self.fmt = ">" + fmt
        self.size = struct.calcsize(self.fmt)

    def encode(self, value: Any, path: str) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int):
            raise HciEncodeError(f"{path}: {self.label} needs an int, got {value!r}")
        try:
            return struct.pack(self.fmt, value)
        except struct.error:
            raise HciEncodeError(f"{path}: {value} does not fit {self.label}") from None

    def decode(self, cur: _Cursor, path: str) -> int:
        return struct.unpack(self.fmt, cur.take(self.size, f"{self.label} field {path!r}"))[0]


u8, u16, u32, u64 = _Int("u8", "B"), _Int("u16", "H"), _Int("u32", "I"), _Int("u64", "Q")
s8, s16, s64 = _Int("s8", "b"), _Int("s16", "h"), _Int("s64", "q")


class _Bool(FieldType):
    label = "bool"

    def encode(self, value: Any, path: str) -> bytes:
        if not isinstance(value, bool):
            raise HciEncodeError(f"{path}: bool needs True/False, got {value!r}")
        return b"\x01" if value else b"\x00"

    def decode(self, cur: _Cursor, path: str) -> bool:
        # FreeV2G treats any non-zero byte as true (whitebeet-hci.md 5.8, presence flags).
        return cur.take(1, f"bool field {path!r}")[0] != 0


boolean = _Bool()


class Exp(FieldType):
    """`exp`: s16 mantissa, s8 exponent, both signed (4.1). Values are PhysicalValue."""

    label = "exp"

    def __init__(self, unit: Unit | str = Unit.NONE):
        self.unit = Unit(unit)

    def encode(self, value: Any, path: str) -> bytes:
        if not isinstance(value, PhysicalValue):
            value = to_physical(value, self.unit, path)
        return value.to_hci_exp()

    def decode(self, cur: _Cursor, path: str) -> PhysicalValue:
        return PhysicalValue.from_hci_exp(cur.take(3, f"exp field {path!r}"), self.unit)


def to_physical(value: Any, unit: Unit | str, path: str = "value") -> PhysicalValue:
    """Number -> PhysicalValue: exponent -3..3 first (ISO range, 4.1), then the full s8 range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise HciEncodeError(f"{path}: exp needs a number or PhysicalValue, got {value!r}")
    try:
        return PhysicalValue.from_number(value, unit)
    except PhysicalValueError:
        pass
    try:
        return PhysicalValue.from_number(value, unit, min_exponent=-128, max_exponent=127)
    except PhysicalValueError as exc:
        raise HciEncodeError(f"{path}: {exc}") from None


# The largest power an `exp` field carries within the ISO multiplier range -3..3 (4.1).
SCHEDULE_POWER_MAX_W = 32_767 * 1000.0


def schedule_power(value_W: float, where: str, *, limit_W: float | None = None, log_to=None) -> PhysicalValue:
    """A schedule / profile entry's power for an `exp` field (0xA8, 0x6C, 0xC3, 0x89): the
    smallest exponent in -3..3 whose mantissa fits s16 (whitebeet-hci.md 4.1), never a bare
    16-bit integer, so no power is too big for the field (issue #12 item 11). A value that
    loses digits on the way (123 456.7 W -> 12 346 x 10^1 W), or that is above `limit_W` (a
    peer's narrower field) or above 32 767 kW and so is capped, is logged with both values."""
    import logging
    import math

    logger = log_to or logging.getLogger("freev2g_whitebeet.codec")
    if isinstance(value_W, bool) or not isinstance(value_W, (int, float)) or not math.isfinite(value_W):
        raise HciEncodeError(f"{where}: schedule power must be a finite number of W, got {value_W!r}")
    ceiling = SCHEDULE_POWER_MAX_W if limit_W is None else min(limit_W, SCHEDULE_POWER_MAX_W)
    wanted = float(value_W)
    capped = max(-ceiling, min(ceiling, wanted))
    pv = PhysicalValue.from_number(capped, Unit.WATT)
    if abs(pv.value) > ceiling:  # rounding to the mantissa went past the cap: one step back
        pv = PhysicalValue(pv.mantissa - (1 if pv.mantissa > 0 else -1), pv.exponent, Unit.WATT)
    if capped != wanted:
        logger.warning("%s: power %g W does not fit the field (at most %g W); sent as %g W (%d x 10^%d)",
                       where, wanted, ceiling, pv.value, pv.mantissa, pv.exponent)
    elif pv.value != wanted:
        logger.info("%s: power %g W rounded to %g W (%d x 10^%d) for the exp field",
                    where, wanted, pv.value, pv.mantissa, pv.exponent)
    return pv


class Opt(FieldType):
    """`opt(T)`: presence byte (0 absent, else present) then T. Absent decodes to None."""

    default_none = True

    def __init__(self, inner: FieldType):
        self.inner = inner
        self.label = f"opt({inner.label})"

    def encode(self, value: Any, path: str) -> bytes:
        if value is None:
            return b"\x00"
        return b"\x01" + self.inner.encode(value, path)

    def decode(self, cur: _Cursor, path: str) -> Any:
        if cur.take(1, f"presence flag of {path!r}")[0] == 0:
            return None
        return self.inner.decode(cur, path)


class _LenPrefixed(FieldType):
    def __init__(self, label: str, len_type: _Int, max_len: int | None, text: bool):
        self.label, self.len_type, self.max_len, self.text = label, len_type, max_len, text

    def encode(self, value: Any, path: str) -> bytes:
        if self.text:
            if not isinstance(value, str):
                raise HciEncodeError(f"{path}: {self.label} needs str, got {value!r}")
            raw = value.encode("utf-8")
        else:
            if not isinstance(value, (bytes, bytearray)):
                raise HciEncodeError(f"{path}: {self.label} needs bytes, got {value!r}")
            raw = bytes(value)
        limit = self.max_len if self.max_len is not None else (1 << (8 * self.len_type.size)) - 1
        if len(raw) > limit:
            raise HciEncodeError(f"{path}: {len(raw)} bytes exceed the {self.label} limit of {limit}")
        return self.len_type.encode(len(raw), path) + raw

    def decode(self, cur: _Cursor, path: str) -> Any:
        n = self.len_type.decode(cur, f"{path}.length")
        start = cur.pos
        raw = cur.take(n, f"{self.label} field {path!r}")
        if not self.text:
            return bytes(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HciDecodeError(cur.where, start + exc.start, f"field {path!r} is not UTF-8") from None


def str8(max_len: int | None = None) -> FieldType:
    return _LenPrefixed("str8", u8, max_len, text=True)


def bin8(max_len: int | None = None) -> FieldType:
    return _LenPrefixed("bin8", u8, max_len, text=False)


def bin16(max_len: int | None = None) -> FieldType:
    return _LenPrefixed("bin16", u16, max_len, text=False)


class Bytes(FieldType):
    """`bytes[n]`: fixed size, no prefix."""

    def __init__(self, size: int):
        self.size = size
        self.label = f"bytes[{size}]"

    def encode(self, value: Any, path: str) -> bytes:
        if not isinstance(value, (bytes, bytearray)) or len(value) != self.size:
            raise HciEncodeError(f"{path}: {self.label} needs exactly {self.size} bytes, got {value!r}")
        return bytes(value)

    def decode(self, cur: _Cursor, path: str) -> bytes:
        return bytes(cur.take(self.size, f"{self.label} field {path!r}"))


class Rest(FieldType):
    """All remaining payload bytes (opaque data: ping echo, firmware data, undocumented layouts)."""

    label = "rest"

    def encode(self, value: Any, path: str) -> bytes:
        if not isinstance(value, (bytes, bytearray)):
            raise HciEncodeError(f"{path}: needs bytes, got {value!r}")
        return bytes(value)

    def decode(self, cur: _Cursor, path: str) -> bytes:
        return bytes(cur.take(cur.remaining, path))


class ListOf(FieldType):
    """`list8(T)` / `list16(T)`: element count then elements; `to_end`: elements until the end."""

    def __init__(self, inner: FieldType, count_type: _Int | None, min_count: int = 0, max_count: int | None = None):
        self.inner, self.count_type = inner, count_type
        self.min_count, self.max_count = min_count, max_count
        kind = "repeat" if count_type is None else f"list{8 * count_type.size}"
        self.label = f"{kind}({inner.label})"

    def encode(self, value: Any, path: str) -> bytes:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise HciEncodeError(f"{path}: {self.label} needs a sequence, got {value!r}")
        n = len(value)
        if n < self.min_count or (self.max_count is not None and n > self.max_count):
            raise HciEncodeError(f"{path}: {n} elements, {self.label} allows {self.min_count}..{self.max_count}")
        head = b"" if self.count_type is None else self.count_type.encode(n, f"{path}.count")
        return head + b"".join(self.inner.encode(v, f"{path}[{i}]") for i, v in enumerate(value))

    def decode(self, cur: _Cursor, path: str) -> tuple:
        if self.count_type is None:
            out = []
            while cur.remaining:
                out.append(self.inner.decode(cur, f"{path}[{len(out)}]"))
            return tuple(out)
        at = cur.pos
        n = self.count_type.decode(cur, f"{path}.count")
        if n < self.min_count or (self.max_count is not None and n > self.max_count):
            raise HciDecodeError(cur.where, at, f"{path}: count {n} outside {self.min_count}..{self.max_count}")
        return tuple(self.inner.decode(cur, f"{path}[{i}]") for i in range(n))


def list8(inner: FieldType, min_count: int = 0, max_count: int | None = None) -> ListOf:
    return ListOf(inner, u8, min_count, max_count)


def list16(inner: FieldType, min_count: int = 0, max_count: int | None = None) -> ListOf:
    return ListOf(inner, u16, min_count, max_count)


def repeat(inner: FieldType) -> ListOf:
    return ListOf(inner, None)


class When(FieldType):
    """A field present only when `condition(earlier_values)` holds (e.g. 0x68 ports, 0x83 DC tail)."""

    default_none = True

    def __init__(self, condition: Callable[[dict[str, Any]], bool], inner: FieldType, why: str = ""):
        self.condition, self.inner, self.why = condition, inner, why
        self.label = f"when({inner.label})"


class Trailing(FieldType):
    """A field present only if payload bytes remain (e.g. the FWU buffer size of mode 2)."""

    default_none = True

    def __init__(self, inner: FieldType):
        self.inner = inner
        self.label = f"trailing({inner.label})"

    def encode(self, value: Any, path: str) -> bytes:
        return b"" if value is None else self.inner.encode(value, path)

    def decode(self, cur: _Cursor, path: str) -> Any:
        return self.inner.decode(cur, path) if cur.remaining else None


class Record(FieldType):
    """A nested record: fields in order; decoded as a frozen attrs instance of `cls`."""

    def __init__(self, name: str, fields: Sequence[tuple[str, FieldType]]):
        self.name = name
        self.label = name
        self.fields = tuple(fields)
        names = [n for n, _ in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"record {name}: duplicate field names {names}")
        attrs_fields = {}
        for n, t in self.fields:
            attrs_fields[n] = attrs.field(default=None) if t.default_none else attrs.field()
        # Required fields first is not needed with kw_only.
        self.cls = attrs.make_class(name, attrs_fields, frozen=True, kw_only=True, slots=True)

    def make(self, **values: Any) -> Any:
        try:
            return self.cls(**values)
        except TypeError as exc:
            raise HciEncodeError(f"{self.name}: {exc}") from None

    def _values(self, value: Any, path: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if isinstance(value, self.cls):
            return attrs.asdict(value, recurse=False)
        raise HciEncodeError(f"{path}: needs a {self.name} (or dict), got {type(value).__name__}")

    def encode(self, value: Any, path: str = "") -> bytes:
        path = path or self.name
        values = self._values(value, path)
        unknown = set(values) - {n for n, _ in self.fields}
        if unknown:
            raise HciEncodeError(f"{path}: unknown fields {sorted(unknown)}")
        out = []
        for n, t in self.fields:
            v = values.get(n)
            if isinstance(t, When):
                if t.condition(values):
                    if v is None:
                        raise HciEncodeError(f"{path}.{n}: required here ({t.why})")
                    out.append(t.inner.encode(v, f"{path}.{n}"))
                continue
            if v is None and not t.default_none:
                raise HciEncodeError(f"{path}.{n}: missing ({t.label})")
            out.append(t.encode(v, f"{path}.{n}"))
        return b"".join(out)

    def decode(self, cur: _Cursor, path: str = "") -> Any:
        path = path or self.name
        values: dict[str, Any] = {}
        for n, t in self.fields:
            if isinstance(t, When):
                values[n] = t.inner.decode(cur, f"{path}.{n}") if t.condition(values) else None
            else:
                values[n] = t.decode(cur, f"{path}.{n}")
        return self.cls(**values)

    def decode_payload(self, payload: bytes, where: str, *, strict: bool = True) -> Any:
        cur = _Cursor(bytes(payload), where)
        value = self.decode(cur, self.name)
        if strict and cur.remaining:
            raise HciDecodeError(where, cur.pos, f"{cur.remaining} unexpected trailing bytes")
        return value


EMPTY = ()
