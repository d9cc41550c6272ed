"""Physical values: value = mantissa x 10^exponent, with a unit.

ISO 15118-2 / DIN 70121 PhysicalValue (charging-domain.md 3.2) and the WHITE beet HCI `exp`
type (whitebeet-hci.md 4.1: s16 mantissa, s8 exponent, both two's complement) are the same
idea. One frozen type serves both; conversions are explicit so no bare float has to guess
whether it holds kW or W.
"""
from __future__ import annotations

import math
import struct
from decimal import Decimal
from enum import Enum

from attrs import field, frozen, validators

MANTISSA_MIN, MANTISSA_MAX = -32768, 32767
EXPONENT_MIN, EXPONENT_MAX = -128, 127
ISO_MULTIPLIER_MIN, ISO_MULTIPLIER_MAX = -3, 3


class Unit(str, Enum):
    """Units of ISO 15118-2 (h, m, s, A, V, W, Wh) plus DIN's extras."""

    HOUR = "h"
    MINUTE = "m"
    SECOND = "s"
    AMPERE = "A"
    VOLT = "V"
    WATT = "W"
    WATT_HOUR = "Wh"
    AMPERE_HOUR = "Ah"
    VOLT_AMPERE = "VA"
    PERCENT = "%"
    NONE = ""


class PhysicalValueError(ValueError):
    """A value that cannot be represented as mantissa x 10^exponent in the asked range."""


def _check_int_range(lo: int, hi: int, name: str):
    def check(instance, attribute, value):
        if not isinstance(value, int) or isinstance(value, bool):
            raise PhysicalValueError(f"{name} must be an int, got {value!r}")
        if not lo <= value <= hi:
            raise PhysicalValueError(f"{name} {value} outside {lo}..{hi}")

    return check


@frozen
class PhysicalValue:
    """mantissa x 10^exponent in `unit`. Frozen; build with `from_number`."""

    mantissa: int = field(validator=_check_int_range(MANTISSA_MIN, MANTISSA_MAX, "mantissa"))
    exponent: int = field(validator=_check_int_range(EXPONENT_MIN, EXPONENT_MAX, "exponent"))
    unit: Unit = field(default=Unit.NONE, converter=Unit)

    @classmethod
    def from_number(
        cls,
        value: float | int | Decimal,
        unit: Unit | str = Unit.NONE,
        *,
        min_exponent: int = ISO_MULTIPLIER_MIN,
        max_exponent: int = ISO_MULTIPLIER_MAX,
    ) -> PhysicalValue:
        """The exponent that needs no more decimals than the value has (never above 0 for
        the start), raised until the mantissa fits in s16 (charging-domain.md 3.2: 150 kW ->
        15000 x 10^1, 920 V -> 920 x 10^0, 0.5 A -> 5 x 10^-1). Values with more decimals than
        `min_exponent` allows are rounded at `min_exponent`.
        """
        if isinstance(value, float) and not math.isfinite(value):
            raise PhysicalValueError(f"{value!r} is not a finite number")
        dec = Decimal(str(value)) if not isinstance(value, Decimal) else value
        decimals_exp = dec.normalize().as_tuple().exponent if dec != 0 else 0
        start = max(min_exponent, min(0, int(decimals_exp)))
        for exp in range(start, max_exponent + 1):
            mant = int((dec / (Decimal(10) ** exp)).to_integral_value(rounding="ROUND_HALF_EVEN"))
            if MANTISSA_MIN <= mant <= MANTISSA_MAX:
                return cls(mant, exp, Unit(unit))
        raise PhysicalValueError(
            f"{value} {Unit(unit).value} does not fit a 16-bit mantissa with exponent "
            f"{min_exponent}..{max_exponent}"
        )

    @property
    def value(self) -> float:
        return float(Decimal(self.mantissa) * (Decimal(10) ** self.exponent))

    def __float__(self) -> float:
        return self.value

    def to_hci_exp(self) -> bytes:
        """HCI `exp` encoding: s16 mantissa then s8 exponent, big-endian (whitebeet-hci.md 4.1)."""
        return struct.pack(">hb", self.mantissa, self.exponent)

    @classmethod
    def from_hci_exp(cls, data: bytes, unit: Unit | str = Unit.NONE) -> PhysicalValue:
        if len(data) != 3:
            raise PhysicalValueError(f"exp value needs 3 bytes, got {len(data)}")
        mant, exp = struct.unpack(">hb", data)
        return cls(mant, exp, Unit(unit))

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit.value}".rstrip()


def kwh_to_wh(kwh: float) -> float:
    """EVerest's start_charging takes EAmount in kWh; ISO uses Wh (charging-domain.md 10)."""
    return kwh * 1000.0
