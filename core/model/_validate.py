"""Validators that name the field and the offending value."""
from __future__ import annotations

import math


def non_negative(instance, attribute, value):
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be a finite number, got {value!r}")
    if value < 0:
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be >= 0, got {value!r}")


def finite(instance, attribute, value):
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be a finite number, got {value!r}")


def percent(instance, attribute, value):
    if value is None:
        return
    finite(instance, attribute, value)
    if not 0 <= value <= 100:
        raise ValueError(f"{type(instance).__name__}.{attribute.name} must be within 0..100 %, got {value!r}")


def in_range(lo, hi):
    def check(instance, attribute, value):
        if value is None:
            return
        finite(instance, attribute, value)
        if not lo <= value <= hi:
            raise ValueError(f"{type(instance).__name__}.{attribute.name} must be within {lo}..{hi}, got {value!r}")

    return check
