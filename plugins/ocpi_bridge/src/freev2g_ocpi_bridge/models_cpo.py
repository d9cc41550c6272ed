"""OCPI 2.2.1 objects of the modules locations and tariffs (CPO side).

Field names are the OCPI JSON names (mod_locations, mod_tariffs);
structuring is strict (convert.py). Only the fields the bridge serves or reads are modelled;
unknown fields of a peer's object are ignored by the converter.
"""
from __future__ import annotations

import math
from datetime import datetime
from enum import Enum

from attrs import field, frozen

from .models import _max_len, _non_negative


def _finite_positive(instance, attribute, value):
    if value is None:
        return
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


# --- locations -------------------------------------------------------------------------------


class EvseStatus(str, Enum):
    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


@frozen(kw_only=True)
class GeoPoint:
    latitude: str
    longitude: str


@frozen(kw_only=True)
class Connector:
    """max_voltage in V, max_amperage in A, max_electric_power in W."""

    id: str
    standard: str
    format: str
    power_type: str
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[str] | None = None
    last_updated: datetime


@frozen(kw_only=True)
class Evse:
    uid: str
    evse_id: str | None = None
    status: EvseStatus
    capabilities: list[str] | None = None
    connectors: list[Connector]
    last_updated: datetime


@frozen(kw_only=True)
class Location:
    country_code: str
    party_id: str
    id: str
    publish: bool
    name: str | None = None
    address: str
    city: str
    postal_code: str | None = None
    country: str
    coordinates: GeoPoint
    evses: list[Evse] | None = None
    time_zone: str
    last_updated: datetime


# --- tariffs ---------------------------------------------------------------------------------


class TariffDimensionType(str, Enum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


@frozen(kw_only=True)
class PriceComponent:
    """price excl. VAT per unit (kWh for ENERGY, hour for TIME / PARKING_TIME, once for FLAT);
    vat in %; step_size in Wh (ENERGY) or s (TIME)."""

    type: TariffDimensionType
    price: float = field(validator=_non_negative)
    vat: float | None = field(default=None, validator=_non_negative)
    step_size: int = field(validator=_finite_positive)


@frozen(kw_only=True)
class TariffElement:
    price_components: list[PriceComponent]


@frozen(kw_only=True)
class Tariff:
    country_code: str
    party_id: str
    id: str = field(validator=_max_len(36))
    currency: str
    type: str | None = None
    elements: list[TariffElement]
    last_updated: datetime
