"""`[uplinks.ocpi]` of the station TOML -> OcpiConfig (structured by freev2g.config).

Every OCPI fact that is an operator's choice (supported profile types, capabilities, raw-token
tolerance, retry pacing) is a setting here; uplinks.md 2.1 marks raw-token tolerance as
something implementations disagree on.
"""
from __future__ import annotations

import re

from attrs import field, frozen

CAPABILITIES = (
    "CHARGING_PREFERENCES_CAPABLE",
    "CHARGING_PROFILE_CAPABLE",
)
PROFILE_TYPES = ("CHEAP", "FAST", "GREEN", "REGULAR")


def _match(pattern: str, what: str):
    rx = re.compile(pattern)

    def check(instance, attribute, value):
        if value is not None and not rx.fullmatch(value):
            raise ValueError(f"{attribute.name} must be {what}, got {value!r}")

    return check


def _subset(allowed: tuple[str, ...]):
    def check(instance, attribute, value):
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ValueError(f"{attribute.name}: unknown {bad}; allowed: {', '.join(allowed)}")

    return check


def _range(lo: float, hi: float):
    def check(instance, attribute, value):
        if not lo <= value <= hi:
            raise ValueError(f"{attribute.name} must be within {lo}..{hi}, got {value!r}")

    return check


def _token(instance, attribute, value):
    if value is None:
        return
    if not 1 <= len(value) <= 64 or not all(33 <= ord(c) <= 126 for c in value):
        raise ValueError(f"{attribute.name} must be 1..64 printable ASCII characters without spaces")


@frozen(kw_only=True)
class TariffConfig:
    """One `[[uplinks.ocpi.tariffs]]` table: prices excl. VAT in the uplink's currency."""

    id: str = field(validator=_match(r"[!-~]{1,36}", "1..36 printable ASCII"))
    energy_price_per_kWh: float = field(default=0.0, validator=_range(0, 1e6))
    time_price_per_hour: float = field(default=0.0, validator=_range(0, 1e6))  # over the whole session
    flat_price: float = field(default=0.0, validator=_range(0, 1e6))  # once per session
    vat_pct: float = field(default=0.0, validator=_range(0, 100))
    energy_step_Wh: int = field(default=1, validator=_range(1, 1_000_000))  # billed in whole steps
    time_step_s: int = field(default=1, validator=_range(1, 86_400))
    evses: tuple[int, ...] = field(default=(), converter=tuple)  # EVSE indexes; empty: every EVSE


def _tariff_tables(value) -> tuple[TariffConfig, ...]:
    """TOML tables (dicts) or TariffConfig objects -> a tuple of TariffConfig."""
    return tuple(t if isinstance(t, TariffConfig) else TariffConfig(**t) for t in value)


def _unique_ids(instance, attribute, value):
    ids = [t.id for t in value]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"{attribute.name}: tariff id {dup[0]!r} is used twice")


@frozen(kw_only=True)
class OcpiConfig:
    """Settings of the OCPI uplink. Times in seconds of the station clock."""

    country_code: str = field(default="DE", validator=_match(r"[A-Z]{2}", "2 capital letters (ISO 3166-1)"))
    party_id: str = field(default="FV2", validator=_match(r"[A-Z0-9]{3}", "3 capital letters or digits"))
    business_name: str = "freev2g CPO"
    listen_host: str = "127.0.0.1"
    listen_port: int = field(default=8090, validator=_range(0, 65535))  # 0 = any free port
    # Base URL the peer uses to reach us, e.g. "https://cpo.example.com/ocpi/cpo". Empty: derived
    # from listen_host and the bound port. The routes live under its path.
    public_url: str = ""
    peer_versions_url: str | None = None  # default URL for `freev2g ocpi register`
    token_a: str | None = field(default=None, validator=_token)  # lets a peer register with us
    accept_raw_tokens: bool = True  # also accept `Authorization: Token <raw token>` (pre-2.2 peers)
    capabilities: tuple[str, ...] = field(default=CAPABILITIES, converter=tuple, validator=_subset(CAPABILITIES))
    profile_types: tuple[str, ...] = field(default=("REGULAR", "FAST"), converter=tuple, validator=_subset(PROFILE_TYPES))
    outbox_path: str = "freev2g-ocpi.sqlite"  # registrations, records and the push outbox
    location_id: str = field(default="LOC1", validator=_match(r"[!-~]{1,36}", "1..36 printable ASCII"))
    location_name: str = "freev2g station"
    address: str = "Unknown"
    city: str = "Unknown"
    postal_code: str = "00000"
    country: str = field(default="DEU", validator=_match(r"[A-Z]{3}", "3 capital letters (ISO 3166-1 alpha-3)"))
    latitude: str = "0.000000"
    longitude: str = "0.000000"
    currency: str = field(default="EUR", validator=_match(r"[A-Z]{3}", "an ISO 4217 code"))
    time_zone: str = field(default="Europe/Berlin", validator=_match(r"[A-Za-z_+-]+(/[A-Za-z0-9_+-]+)*", "an IANA zone name"))
    publish_location: bool = True
    tariffs: tuple[TariffConfig, ...] = field(default=(), converter=_tariff_tables, validator=_unique_ids)
    page_limit_max: int = field(default=100, validator=_range(1, 10_000))
    profile_result_timeout_s: int = field(default=30, validator=_range(1, 3600))
    profile_stack_level: int = field(default=1, validator=_range(0, 1000))
    session_update_interval_s: float = field(default=60.0, validator=_range(0, 86_400))
    retry_initial_s: float = field(default=1.0, validator=_range(0.001, 3600))
    retry_max_s: float = field(default=300.0, validator=_range(0.001, 86_400))
    request_timeout_s: float = field(default=10.0, validator=_range(0.1, 600))
