"""OCPI smart-charging inputs -> freev2g limits (core/schedule.py), uplinks.md 2.3, 2.4 and 3.4.

* ChargingPreferences: energy_need kWh -> Wh; departure_time and discharge_allowed pass through.
  The answer follows mod_sessions ChargingPreferencesResponse: PROFILE_TYPE_NOT_SUPPORTED for a
  type this CPO does not offer (configurable), DEPARTURE_REQUIRED / ENERGY_NEED_REQUIRED when a
  smart type (all but FAST) lacks them, NOT_POSSIBLE when the energy cannot be delivered by the
  departure at the EVSE's maximum power, else ACCEPTED. Only ACCEPTED preferences are applied.
* ChargingProfile (mod_charging_profiles) -> a TxProfile of the session: start_date_time present
  = Absolute, absent = Relative (to the start of charging); W total or A per phase as sent.
* Composite schedule -> ActiveChargingProfile (W).
"""
from __future__ import annotations

from datetime import datetime

from freev2g.model.enums import RateUnit
from freev2g.model.limits import (
    ChargingLimitProfile,
    CompositeSchedule,
    LimitPeriod,
    ProfileKind,
    ProfilePurpose,
)
from freev2g.model.limits import ChargingPreferences as CorePreferences
from freev2g.schedule import check_profile_numbers

from .envelope import invalid
from .models import (
    ActiveChargingProfile,
    ChargingPreferences,
    ChargingPreferencesResponse,
    ChargingProfile,
    ChargingProfilePeriod,
    ChargingRateUnit,
    ProfileType,
)

SOURCE = "ocpi"


def evaluate_preferences(
    prefs: ChargingPreferences,
    *,
    now: datetime,
    max_power_W: float,
    supported_types: tuple[str, ...],
) -> ChargingPreferencesResponse:
    """The ChargingPreferencesResponse for valid preferences; OcpiError 2001 for a past departure."""
    if prefs.departure_time is not None and prefs.departure_time <= now:
        raise invalid(f"departure_time {prefs.departure_time.isoformat()} is not in the future (now {now.isoformat()})")
    if prefs.profile_type.value not in supported_types:
        return ChargingPreferencesResponse.PROFILE_TYPE_NOT_SUPPORTED
    smart = prefs.profile_type is not ProfileType.FAST
    if smart and prefs.departure_time is None:
        return ChargingPreferencesResponse.DEPARTURE_REQUIRED
    if smart and prefs.energy_need is None:
        return ChargingPreferencesResponse.ENERGY_NEED_REQUIRED
    if prefs.departure_time is not None and prefs.energy_need is not None:
        hours = (prefs.departure_time - now).total_seconds() / 3600.0
        if prefs.energy_need * 1000.0 > max_power_W * hours:
            return ChargingPreferencesResponse.NOT_POSSIBLE
    return ChargingPreferencesResponse.ACCEPTED


def to_core_preferences(session_id: str, prefs: ChargingPreferences) -> CorePreferences:
    return CorePreferences(
        session_id=session_id,
        profile_type=prefs.profile_type.value,
        departure=prefs.departure_time,
        energy_need_Wh=None if prefs.energy_need is None else prefs.energy_need * 1000.0,
        discharge_allowed=bool(prefs.discharge_allowed),
    )


def to_limit_profile(
    profile: ChargingProfile,
    *,
    session_id: str,
    evse_index: int,
    stack_level: int,
) -> ChargingLimitProfile:
    """One OCPI profile -> the session's TxProfile; OcpiError 2001 naming the field if unusable."""
    periods = profile.charging_profile_period or []
    if not periods:
        raise invalid("charging_profile.charging_profile_period must list at least one period")
    if periods[0].start_period != 0:
        raise invalid("charging_profile.charging_profile_period[0].start_period must be 0")
    for i in range(1, len(periods)):
        if periods[i].start_period <= periods[i - 1].start_period:
            raise invalid(f"charging_profile.charging_profile_period[{i}].start_period must be greater than the one before")
    try:
        limit_profile = ChargingLimitProfile(
            source=SOURCE,
            profile_id=evse_index,
            purpose=ProfilePurpose.TX,
            stack_level=stack_level,
            kind=ProfileKind.ABSOLUTE if profile.start_date_time is not None else ProfileKind.RELATIVE,
            unit=RateUnit(profile.charging_rate_unit.value),
            periods=[LimitPeriod(p.start_period, p.limit) for p in periods],
            start=profile.start_date_time,
            duration_s=profile.duration,
            transaction_id=session_id,
            evse_index=evse_index,
            min_rate=profile.min_charging_rate,
        )
        check_profile_numbers(limit_profile)
    except (ValueError, TypeError, OverflowError) as exc:
        raise invalid(f"charging_profile: {exc}") from None
    return limit_profile


def to_active_profile(composite: CompositeSchedule) -> ActiveChargingProfile:
    return ActiveChargingProfile(
        start_date_time=composite.start,
        charging_profile=ChargingProfile(
            start_date_time=composite.start,
            duration=composite.duration_s,
            charging_rate_unit=ChargingRateUnit(composite.unit.value),
            charging_profile_period=[
                ChargingProfilePeriod(start_period=p.start_s, limit=round(p.limit, 1)) for p in composite.periods
            ],
        ),
    )


