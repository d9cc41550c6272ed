"""JSON <-> OCPI objects with cattrs: strict types, RFC 3339 DateTime, errors that name the field.

transport_and_format (uplinks.md 2.1): DateTime is RFC 3339 in UTC, with `Z` or without a zone;
we write `Z`. Optional fields that are None are omitted on output. Unknown fields of a peer are
ignored on input (forward compatibility); wrong types are not coerced ("5" is no int).
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar

import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import BaseValidationError

T = TypeVar("T")


class InvalidObject(ValueError):
    """A JSON document that is not a valid OCPI object; `problems` name each field."""

    def __init__(self, what: str, problems: list[str]):
        self.what = what
        self.problems = problems
        super().__init__(f"invalid {what}: " + "; ".join(problems))


def parse_datetime(value: Any) -> datetime:
    """RFC 3339 -> aware UTC datetime; a value without a zone is UTC."""
    if not isinstance(value, str) or "T" not in value.upper() or len(value) > 40:
        raise ValueError(f"expected an RFC 3339 date-time string, got {value!r}")
    text = value.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected an RFC 3339 date-time string, got {value!r}") from None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def format_datetime(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    dt = dt.astimezone(timezone.utc)
    spec = "milliseconds" if dt.microsecond else "seconds"
    return dt.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _strict_str(value: Any, t: type) -> Any:
    if isinstance(t, type) and issubclass(t, Enum):
        return _strict_enum(value, t)
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_int(value: Any, _t: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _strict_float(value: Any, _t: type) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _strict_bool(value: Any, _t: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _strict_enum(value: Any, t: type[Enum]) -> Enum:
    try:
        return t(value)
    except ValueError:
        allowed = ", ".join(m.value for m in t)
        raise ValueError(f"expected one of {allowed}; got {value!r}") from None


def make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_structure_hook(str, _strict_str)  # str-based Enums land here too (MRO)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(datetime, lambda v, _t: parse_datetime(v))
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_structure_hook_factory(
        lambda t: getattr(t, "__origin__", None) is list,
        lambda t: _checked_list(list_structure_factory(t, conv)),
    )
    return conv


def _checked_list(inner):
    def structure(value: Any, t: Any) -> list:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {type(value).__name__}")
        return inner(value, t)

    return structure


def _format(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, (ValueError, TypeError)) and str(exc):
        return str(exc)
    return f"invalid value ({type(exc).__name__})"


_CONVERTER = make_converter()


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def dump(obj: Any) -> Any:
    """OCPI object -> JSON-ready dict (None fields omitted, DateTime as RFC 3339 `Z`)."""
    return _strip_none(_CONVERTER.unstructure(obj))


def load(data: Any, cls: type[T], *, what: str | None = None) -> T:
    """JSON value -> `cls`; raises InvalidObject naming every bad field (e.g. `energy_need`)."""
    name = what or cls.__name__
    if not isinstance(data, dict):
        raise InvalidObject(name, [f"expected a JSON object, got {type(data).__name__}"])
    try:
        return _CONVERTER.structure(data, cls)
    except BaseValidationError as exc:
        problems = [
            m.removesuffix(" @ $").replace("@ $.", "@ ", 1)
            for m in cattrs.transform_error(exc, path="$", format_exception=_format)
        ]
        raise InvalidObject(name, problems) from None
    except (ValueError, TypeError) as exc:
        raise InvalidObject(name, [str(exc)]) from None
