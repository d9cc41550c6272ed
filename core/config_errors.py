"""Config error lines: cattrs errors -> 'key.path: message' strings (config.structure).

A validator's error names its own key, an unknown key or table gets "did you mean" the closest
known name, a type error names the value it got.
"""
from __future__ import annotations

import difflib
from typing import Any

import cattrs
from attrs import fields
from attrs import has as attrs_has
from cattrs.errors import ForbiddenExtraKeysError


class KeyValueError(ValueError):
    """A bad value of one key (raised by the field validators); `key` is the field name, so the
    error line can name the full key path ("evse.ac_nominal_voltage must be > 0, got 0.0")."""

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"{key} {message}")


_MARK = "\x00"


def did_you_mean(name: str, known: Any) -> str:
    """'; did you mean 'x'?' for the closest known name, or ''."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def error_paths(exc: BaseException, root: str = "", data: Any = None) -> list[str]:
    """cattrs errors as 'key.path: message' lines: a validator's error names its own key, extra
    keys get one line each ("evse.bogus: unknown key; did you mean ...?"), a type error names the
    value it got."""

    def fmt(e: BaseException, type_: Any) -> str:
        if isinstance(e, KeyValueError):
            return f"{_MARK}{e.key}{_MARK}{e.message}"
        if isinstance(e, ForbiddenExtraKeysError):
            known = {f.name for f in fields(e.cl)} if attrs_has(e.cl) else set()
            return f"{_MARK}{_MARK}" + ",".join(f"{k}{_MARK}{did_you_mean(k, known)}" for k in sorted(e.extra_fields))
        if isinstance(e, TypeError) and str(e).startswith("expected "):
            return str(e)  # _strict's "expected float, got str '32'"
        if isinstance(e, ValueError) and not isinstance(e, cattrs.errors.BaseValidationError):
            first, _, rest = str(e).partition(" ")
            if first.isidentifier() and rest.startswith("must "):
                return f"{_MARK}{first}{_MARK}{rest}"  # a plugin's validator "name must ..., got ..."
            return str(e)
        return cattrs.v.format_exception(e, type_)

    problems = []
    for msg in cattrs.transform_error(exc, path="$", format_exception=fmt):
        text, _, path = msg.rpartition(" @ ")
        path = path[2:] if path.startswith("$.") else "" if path == "$" else path
        if root:
            path = f"{root}.{path}" if path else root
        if text.startswith(_MARK):
            key, message = text[1:].split(_MARK, 1)
            if not key:  # extra keys: one line per key
                for item in message.split(","):
                    k, _, hint = item.partition(_MARK)
                    full = f"{path + '.' if path else ''}{k}"
                    what = "unknown table" if isinstance(_lookup(data, full, root), dict) else "unknown key"
                    problems.append(f"{full}: {what}{hint}")
                continue
            problems.append(f"{path + '.' if path else ''}{key} {message}")  # "evse.x must be > 0, got 0"
            continue
        problems.append(f"{path}: {text}" if path else text)
    return problems


def _lookup(data: Any, path: str, root: str) -> Any:
    """The value at a dotted error path inside `data` (None when it cannot be followed)."""
    if root and path.startswith(root + "."):
        path = path[len(root) + 1:]
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
