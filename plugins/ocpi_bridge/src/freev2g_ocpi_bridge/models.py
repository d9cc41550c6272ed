"""OCPI 2.2.1 objects used by the CPO side (uplinks.md 2.2-2.5), as attrs value objects.

Field names are the OCPI JSON names; units follow OCPI (kWh, hours, seconds) and are named in
the docstrings. Structuring from JSON is strict (see convert.py): a wrong type or an invalid
value is rejected with the field path, before any record changes.
"""
from __future__ import annotations

import math
from datetime import datetime
from enum import Enum

from attrs import field, frozen


def _max_len(n: int):
    def check(instance, attribute, value):
        if value is not None and not 1 <= len(value) <= n:
            raise ValueError(f"{attribute.name} must have 1..{n} characters, got {len(value)}")

    return check


def _ascii_len(n: int):
    def check(instance, attribute, value):
        if value is None:
            return
        if not 1 <= len(value) <= n or not all(32 < ord(c) < 127 for c in value):
            raise ValueError(f"{attribute.name} must be 1..{n} printable ASCII characters, got {value!r}")

    return check


def _non_negative(instance, attribute, value):
    if value is None:
        return
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


# --- enumerations (types.asciidoc and the module files) -----------------------------------


class Role(str, Enum):
    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class InterfaceRole(str, Enum):
    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class SessionStatus(str, Enum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"


class AuthMethod(str, Enum):
    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class TokenType(str, Enum):
    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    OTHER = "OTHER"
    RFID = "RFID"


class ProfileType(str, Enum):
    CHEAP = "CHEAP"
    FAST = "FAST"
    GREEN = "GREEN"
    REGULAR = "REGULAR"


class ChargingPreferencesResponse(str, Enum):
    ACCEPTED = "ACCEPTED"
    DEPARTURE_REQUIRED = "DEPARTURE_REQUIRED"
    ENERGY_NEED_REQUIRED = "ENERGY_NEED_REQUIRED"
    NOT_POSSIBLE = "NOT_POSSIBLE"
    PROFILE_TYPE_NOT_SUPPORTED = "PROFILE_TYPE_NOT_SUPPORTED"


class ChargingRateUnit(str, Enum):
    W = "W"
    A = "A"


class ChargingProfileResponseType(str, Enum):
    ACCEPTED = "ACCEPTED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TOO_OFTEN = "TOO_OFTEN"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class ChargingProfileResultType(str, Enum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"


class CdrDimensionType(str, Enum):
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    MAX_POWER = "MAX_POWER"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


# --- versions and credentials (version_information_endpoint, credentials) -----------------


@frozen(kw_only=True)
class Version:
    version: str
    url: str


@frozen(kw_only=True)
class Endpoint:
    identifier: str  # ModuleID; kept as a string so unknown modules of a peer are tolerated
    role: InterfaceRole
    url: str


@frozen(kw_only=True)
class VersionDetails:
    version: str
    endpoints: list[Endpoint]


@frozen(kw_only=True)
class BusinessDetails:
    name: str = field(validator=_max_len(100))
    website: str | None = None


@frozen(kw_only=True)
class CredentialsRole:
    role: Role
    business_details: BusinessDetails
    party_id: str = field(validator=_ascii_len(3))
    country_code: str = field(validator=_ascii_len(2))


@frozen(kw_only=True)
class Credentials:
    """credentials.asciidoc: `token` is a printable-ASCII string of at most 64 characters."""

    token: str = field(validator=_ascii_len(64))
    url: str = field(validator=_max_len(255))
    roles: list[CredentialsRole] = field()

    @roles.validator
    def _roles(self, attribute, value):
        if not value:
            raise ValueError("roles must list at least one role")


# --- sessions and cdrs (mod_sessions, mod_cdrs) --------------------------------------------


@frozen(kw_only=True)
class CdrToken:
    country_code: str
    party_id: str
    uid: str = field(validator=_max_len(36))
    type: TokenType
    contract_id: str = field(validator=_max_len(36))


@frozen(kw_only=True)
class CdrDimension:
    type: CdrDimensionType
    volume: float  # kWh for ENERGY*, hours for TIME, W for MAX_POWER, % for STATE_OF_CHARGE


@frozen(kw_only=True)
class ChargingPeriod:
    start_date_time: datetime
    dimensions: list[CdrDimension]
    tariff_id: str | None = None


@frozen(kw_only=True)
class Price:
    excl_vat: float
    incl_vat: float | None = None


@frozen(kw_only=True)
class Session:
    """mod_sessions Session object; `kwh` is the energy charged so far in kWh."""

    country_code: str
    party_id: str
    id: str = field(validator=_max_len(36))
    start_date_time: datetime
    end_date_time: datetime | None = None
    kwh: float = field(validator=_non_negative)
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: str | None = None
    location_id: str
    evse_uid: str
    connector_id: str
    meter_id: str | None = None
    currency: str
    charging_periods: list[ChargingPeriod] = field(factory=list)
    total_cost: Price | None = None
    status: SessionStatus
    last_updated: datetime


@frozen(kw_only=True)
class GeoLocation:
    latitude: str
    longitude: str


@frozen(kw_only=True)
class CdrLocation:
    id: str
    name: str | None = None
    address: str
    city: str
    postal_code: str | None = None
    country: str
    coordinates: GeoLocation
    evse_uid: str
    evse_id: str
    connector_id: str
    connector_standard: str
    connector_format: str
    connector_power_type: str


@frozen(kw_only=True)
class Cdr:
    """mod_cdrs CDR; `total_energy` in kWh, `total_time` in hours. Id is a CiString(39)."""

    country_code: str
    party_id: str
    id: str = field(validator=_max_len(39))
    start_date_time: datetime
    end_date_time: datetime
    session_id: str | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    cdr_location: CdrLocation
    currency: str
    tariffs: list[dict] | None = None  # the Tariff objects used (as served by the tariffs module)
    charging_periods: list[ChargingPeriod]
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: float = field(validator=_non_negative)
    total_energy_cost: Price | None = None
    total_time: float = field(validator=_non_negative)
    total_time_cost: Price | None = None
    last_updated: datetime


# --- smart charging (mod_sessions ChargingPreferences, mod_charging_profiles) --------------


@frozen(kw_only=True)
class ChargingPreferences:
    """Body of PUT sessions/{id}/charging_preferences; `energy_need` in kWh."""

    profile_type: ProfileType
    departure_time: datetime | None = None
    energy_need: float | None = field(default=None, validator=_non_negative)
    discharge_allowed: bool | None = None


@frozen(kw_only=True)
class ChargingProfilePeriod:
    start_period: int = field(validator=_non_negative)  # s from the profile start
    limit: float = field(validator=_non_negative)  # W total or A per phase


@frozen(kw_only=True)
class ChargingProfile:
    start_date_time: datetime | None = None
    duration: int | None = field(default=None, validator=_non_negative)  # s
    charging_rate_unit: ChargingRateUnit
    min_charging_rate: float | None = field(default=None, validator=_non_negative)
    charging_profile_period: list[ChargingProfilePeriod] | None = None


@frozen(kw_only=True)
class SetChargingProfile:
    charging_profile: ChargingProfile
    response_url: str = field(validator=_max_len(2048))


@frozen(kw_only=True)
class ActiveChargingProfile:
    start_date_time: datetime
    charging_profile: ChargingProfile


@frozen(kw_only=True)
class ChargingProfileResponse:
    result: ChargingProfileResponseType
    timeout: int  # s to wait for the asynchronous result


@frozen(kw_only=True)
class ActiveChargingProfileResult:
    result: ChargingProfileResultType
    profile: ActiveChargingProfile | None = None


@frozen(kw_only=True)
class ChargingProfileResult:
    """Also the shape of ClearProfileResult."""

    result: ChargingProfileResultType
