"""Limits from any source (configuration, OCPP charging profiles, OCPI profiles and
ChargingPreferences), the inputs of core/schedule.py. uplinks.md 3.1-3.4.
"""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from attrs import field, frozen

from ._validate import finite, non_negative
from .enums import RateUnit


class ProfilePurpose(str, Enum):
    STATION_MAX = "ChargingStationMaxProfile"
    EXTERNAL_CONSTRAINTS = "ChargingStationExternalConstraints"
    TX_DEFAULT = "TxDefaultProfile"
    TX = "TxProfile"


class ProfileKind(str, Enum):
    ABSOLUTE = "Absolute"
    RELATIVE = "Relative"
    RECURRING = "Recurring"


@frozen
class LimitPeriod:
    start_s: int = field(validator=non_negative)  # from the profile's start
    limit: float = field(validator=finite)  # in the profile's unit (A per phase, or W)
    number_phases: int | None = None


@frozen(kw_only=True)
class ChargingLimitProfile:
    """One charging profile (a single schedule). Re-setting the same (source, profile_id)
    replaces it. `evse_index` 0 means the whole station."""

    source: str  # "config" | "ocpp" | "ocpi" | plugin name
    profile_id: int
    purpose: ProfilePurpose
    stack_level: int = 0
    kind: ProfileKind = ProfileKind.ABSOLUTE
    unit: RateUnit = RateUnit.W
    periods: tuple[LimitPeriod, ...] = field(converter=tuple)
    start: datetime | None = None  # Absolute/Recurring: schedule start; Relative: None
    duration_s: int | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None  # TxProfile only
    evse_index: int = 0
    recurrency: str | None = None  # "Daily" | "Weekly"
    min_rate: float | None = None
    schedule_id: int | None = None  # becomes the SAScheduleTupleID where 1..255

    def __attrs_post_init__(self):
        if not self.periods:
            raise ValueError("ChargingLimitProfile.periods must not be empty")
        if self.periods[0].start_s != 0:
            raise ValueError(f"ChargingLimitProfile.periods[0].start_s must be 0, got {self.periods[0].start_s}")
        starts = [p.start_s for p in self.periods]
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"ChargingLimitProfile.periods start_s must increase, got {starts}")
        if self.kind is ProfileKind.RELATIVE and self.start is not None:
            raise ValueError("ChargingLimitProfile: a Relative profile must not have a start")
        if self.kind in (ProfileKind.ABSOLUTE, ProfileKind.RECURRING) and self.start is None:
            raise ValueError(f"ChargingLimitProfile: a {self.kind.value} profile needs a start")
        if self.purpose is ProfilePurpose.TX and not self.transaction_id:
            raise ValueError("ChargingLimitProfile: a TxProfile needs a transaction_id")


@frozen(kw_only=True)
class ChargingPreferences:
    """OCPI 2.2.1 ChargingPreferences for one session (energy_need converted kWh -> Wh)."""

    session_id: str
    profile_type: str = "REGULAR"  # CHEAP | FAST | GREEN | REGULAR
    departure: datetime | None = None
    energy_need_Wh: float | None = field(default=None, validator=non_negative)
    discharge_allowed: bool = False


@frozen(kw_only=True)
class CompositeSchedule:
    """The effective limit over time: periods relative to `start`, in `unit`."""

    evse_index: int
    start: datetime
    duration_s: int
    unit: RateUnit
    periods: tuple[LimitPeriod, ...] = field(converter=tuple)
