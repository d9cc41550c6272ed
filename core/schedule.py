"""Limits from any source -> one composite schedule -> the SAScheduleList offered to the EV.

Composite rules follow OCPP 2.0.1 smart charging as summarised in shared/spec/uplinks.md 3.2:

* inside one purpose, the valid profile with the highest stack level supplies the limit of each
  time slot; where it has no period (outside its duration or validity) the next lower level does;
* a valid TxProfile (for the EVSE's running transaction) overrides the TxDefaultProfile;
* the result is capped by ChargingStationMaxProfile, ChargingStationExternalConstraints and the
  EVSE's own maximum (configuration); the lowest wins; where no profile applies the EVSE's own
  maximum is the limit;
* A and W limits are compared after P = U x I x phases (numberPhases of the period, else the
  default phase count).

The SAScheduleList built from it (charging-domain.md 6.1, uplinks.md 3.3) lives in sa_schedule.py.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Callable

from attrs import frozen

from .model.enums import RateUnit
from .model.limits import (
    ChargingLimitProfile,
    ChargingPreferences,
    CompositeSchedule,
    LimitPeriod,
    ProfileKind,
    ProfilePurpose,
)
from .sa_schedule import FULL_DAY_S, SAScheduleOffer, encodable_pmax_W

log = logging.getLogger(__name__)

_RECURRENCE_S = {"Daily": 86_400, "Weekly": 7 * 86_400}

ScheduleListener = Callable[[int], None]


class ScheduleInputError(ValueError):
    """A profile or query the ScheduleManager cannot use; the message names the field."""


# Bounds on the numbers of a profile (issue #13 item 1). Offsets and durations are OCPP
# `integer` (int32) seconds; a Recurring profile's periods must fall inside one recurrence.
# MAX_LIMIT bounds a limit in W or A: far above any charger (1 GW), small enough that every
# product with voltage and phases stays finite. Both are our choices, not from a standard.
MAX_PROFILE_S = 2**31 - 1
MAX_LIMIT = 1e9


def check_profile_numbers(profile: ChargingLimitProfile) -> None:
    """Every number of `profile` in range, finite and inside the profile's own duration;
    ScheduleInputError naming the field otherwise. Run before a profile reaches the schedule."""
    name = f"profile {profile.source}/{profile.profile_id}"
    duration = profile.duration_s
    if duration is not None and (not isinstance(duration, int) or not 0 < duration <= MAX_PROFILE_S):
        raise ScheduleInputError(f"{name}: duration {duration!r} must be an integer in 1..{MAX_PROFILE_S} s")
    span = duration if duration is not None else MAX_PROFILE_S
    if profile.kind is ProfileKind.RECURRING and profile.recurrency in _RECURRENCE_S:
        span = min(span, _RECURRENCE_S[profile.recurrency])
    for i, p in enumerate(profile.periods):
        where = f"{name}: period[{i}]"
        if not isinstance(p.start_s, int) or not 0 <= p.start_s < span:
            raise ScheduleInputError(f"{where}.startPeriod {p.start_s!r} must be an integer in 0..{span - 1} s "
                                     "(inside the profile's duration / recurrence)")
        if not isinstance(p.limit, (int, float)) or not math.isfinite(p.limit) or not 0 <= p.limit <= MAX_LIMIT:
            raise ScheduleInputError(f"{where}.limit {p.limit!r} must be a finite number in 0..{MAX_LIMIT:g}")
        if p.number_phases is not None and p.number_phases not in (1, 2, 3):
            raise ScheduleInputError(f"{where}.numberPhases {p.number_phases!r} must be 1, 2 or 3")
    rate = profile.min_rate
    if rate is not None and (not isinstance(rate, (int, float)) or not math.isfinite(rate) or not 0 <= rate <= MAX_LIMIT):
        raise ScheduleInputError(f"{name}: minChargingRate {rate!r} must be a finite number in 0..{MAX_LIMIT:g}")


@frozen
class EvseMaximum:
    """The EVSE's own maximum (configuration / rated output), used where no profile applies."""

    max_power_W: float | None = None
    max_current_A: float | None = None
    nominal_voltage_V: float = 230.0
    phases: int = 3

    def as_W(self, nominal_voltage_V: float, phases: int) -> float:
        caps = []
        if self.max_power_W is not None:
            caps.append(self.max_power_W)
        if self.max_current_A is not None:
            caps.append(self.max_current_A * nominal_voltage_V * phases)
        return min(caps) if caps else math.inf


@frozen
class _Limit:
    """One candidate limit in W plus the phase count it was given for."""

    watts: float
    phases: int
    schedule_id: int | None = None


@frozen
class _Transaction:
    transaction_id: str
    start: datetime


class ScheduleManager(SAScheduleOffer):
    """Holds charging profiles and preferences per EVSE and computes what may be offered."""

    def __init__(self) -> None:
        self._profiles: dict[tuple[str, int], ChargingLimitProfile] = {}
        self._preferences: dict[int, ChargingPreferences] = {}
        self._maximum: dict[int, EvseMaximum] = {}
        self._transactions: dict[int, _Transaction] = {}
        self._listeners: list[ScheduleListener] = []
        self._last_limit_W: dict[int, float] = {}
        self._last_offer: dict[int, object] = {}

    # ------------------------------------------------------------------ inputs

    def set_evse_maximum(
        self,
        evse_index: int,
        *,
        max_power_W: float | None = None,
        max_current_A: float | None = None,
        nominal_voltage_V: float = 230.0,
        phases: int = 3,
    ) -> None:
        """The EVSE's own limit (config max_current_import_A, rated DC power)."""
        self._maximum[evse_index] = EvseMaximum(max_power_W, max_current_A, nominal_voltage_V, phases)
        self._notify(evse_index)

    def begin_transaction(self, evse_index: int, transaction_id: str, start: datetime) -> None:
        """Relative profiles count from here; TxProfiles of this transaction become valid."""
        self._transactions[evse_index] = _Transaction(transaction_id, start)
        self._notify(evse_index)

    def end_transaction(self, evse_index: int) -> None:
        if self._transactions.pop(evse_index, None) is not None:
            self._notify(evse_index)

    def set_profile(self, profile: ChargingLimitProfile) -> None:
        """Add a profile; the same (source, profile_id) replaces the previous one."""
        if not isinstance(profile, ChargingLimitProfile):
            raise ScheduleInputError(f"set_profile needs a ChargingLimitProfile, got {type(profile).__name__}")
        check_profile_numbers(profile)
        if profile.purpose is ProfilePurpose.STATION_MAX and profile.evse_index != 0:
            raise ScheduleInputError(
                f"profile {profile.source}/{profile.profile_id}: ChargingStationMaxProfile needs evse_index 0"
            )
        if profile.purpose is ProfilePurpose.STATION_MAX and profile.kind is ProfileKind.RELATIVE:
            raise ScheduleInputError(
                f"profile {profile.source}/{profile.profile_id}: ChargingStationMaxProfile must not be Relative"
            )
        if profile.kind is ProfileKind.RECURRING and profile.recurrency not in _RECURRENCE_S:
            raise ScheduleInputError(
                f"profile {profile.source}/{profile.profile_id}: recurrency must be Daily or Weekly, "
                f"got {profile.recurrency!r}"
            )
        if profile.stack_level < 0:
            raise ScheduleInputError(
                f"profile {profile.source}/{profile.profile_id}: stack_level must be >= 0, got {profile.stack_level}"
            )
        for other in self._profiles.values():
            if (
                profile.purpose is ProfilePurpose.TX
                and other.purpose is ProfilePurpose.TX
                and (other.source, other.profile_id) != (profile.source, profile.profile_id)
                and other.transaction_id == profile.transaction_id
                and other.stack_level == profile.stack_level
            ):
                raise ScheduleInputError(
                    f"profile {profile.source}/{profile.profile_id}: a TxProfile with stack level "
                    f"{profile.stack_level} already exists for transaction {profile.transaction_id}"
                )
        self._profiles[(profile.source, profile.profile_id)] = profile
        self._notify(profile.evse_index)

    def clear_profiles(
        self,
        *,
        source: str | None = None,
        profile_id: int | None = None,
        purpose: ProfilePurpose | None = None,
        evse_index: int | None = None,
        stack_level: int | None = None,
    ) -> int:
        """Remove every profile matching all given criteria; returns how many were removed."""
        gone = [
            key
            for key, p in self._profiles.items()
            if (source is None or p.source == source)
            and (profile_id is None or p.profile_id == profile_id)
            and (purpose is None or p.purpose is purpose)
            and (evse_index is None or p.evse_index == evse_index)
            and (stack_level is None or p.stack_level == stack_level)
        ]
        touched = {self._profiles[key].evse_index for key in gone}
        for key in gone:
            del self._profiles[key]
        for index in touched:
            self._notify(index)
        return len(gone)

    def profiles(self, evse_index: int | None = None) -> list[ChargingLimitProfile]:
        """Profiles that apply to `evse_index` (its own and the station-wide ones), or all."""
        return [p for p in self._profiles.values() if evse_index is None or p.evse_index in (0, evse_index)]

    def set_preferences(self, evse_index: int, preferences: ChargingPreferences) -> None:
        if not isinstance(preferences, ChargingPreferences):
            raise ScheduleInputError(f"set_preferences needs ChargingPreferences, got {type(preferences).__name__}")
        self._preferences[evse_index] = preferences
        self._notify(evse_index)

    def clear_preferences(self, evse_index: int) -> None:
        if self._preferences.pop(evse_index, None) is not None:
            self._notify(evse_index)

    def preferences(self, evse_index: int) -> ChargingPreferences | None:
        return self._preferences.get(evse_index)

    def subscribe(self, listener: ScheduleListener) -> None:
        """`listener(evse_index)` after every change of that EVSE's limits."""
        self._listeners.append(listener)

    def _notify(self, evse_index: int) -> None:
        targets = [evse_index] if evse_index != 0 else (sorted(self._maximum) or [0])
        for index in targets:
            for listener in list(self._listeners):
                try:
                    listener(index)
                except Exception:  # noqa: BLE001 - one listener must not break the others
                    log.exception("schedule listener failed for evse %s", index)

    # ------------------------------------------------------------------ composite

    def composite(
        self,
        evse_index: int,
        start: datetime,
        duration_s: int,
        unit: RateUnit = RateUnit.W,
        *,
        nominal_voltage_V: float = 230.0,
        phases: int = 3,
        evse_max_W: float | None = None,
    ) -> CompositeSchedule:
        """The effective limit from `start` for `duration_s` (uplinks.md 3.2)."""
        if not isinstance(duration_s, int) or not 0 < duration_s <= MAX_PROFILE_S:
            raise ScheduleInputError(f"composite duration_s must be an integer in 1..{MAX_PROFILE_S} s, got {duration_s!r}")
        if start.tzinfo is None:
            raise ScheduleInputError("composite start must be timezone-aware (UTC)")
        own = self._maximum.get(evse_index, EvseMaximum()).as_W(nominal_voltage_V, phases)
        if evse_max_W is not None:
            own = min(own, evse_max_W)
        if math.isinf(own):
            raise ScheduleInputError(
                f"evse {evse_index}: no maximum known; call set_evse_maximum or pass evse_max_W"
            )
        candidates = self.profiles(evse_index)
        points = {0, int(duration_s)}
        for p in candidates:
            points.update(self._breakpoints(p, evse_index, start, duration_s))
        ordered = sorted(b for b in points if 0 <= b <= duration_s)
        periods: list[LimitPeriod] = []
        for a in ordered[:-1]:
            t = start + timedelta(seconds=a)
            limit = self._limit_at(evse_index, t, candidates, own, nominal_voltage_V, phases)
            value = self._in_unit(limit, unit, nominal_voltage_V)
            period = LimitPeriod(a, value, limit.phases if unit is RateUnit.A else None)
            if periods and periods[-1].limit == period.limit and periods[-1].number_phases == period.number_phases:
                continue
            periods.append(period)
        return CompositeSchedule(evse_index=evse_index, start=start, duration_s=int(duration_s), unit=unit, periods=periods)

    def limit_now_W(self, evse_index: int, now: datetime, *, nominal_voltage_V: float = 230.0, phases: int = 3, evse_max_W: float | None = None) -> float:
        """The limit in force at `now` in W (for live limits in the charge loop).

        A computation error (a bug, or a profile that slipped past check_profile_numbers) is
        logged and the previous limit of this EVSE is kept: it never ends a session."""
        own = self._maximum.get(evse_index, EvseMaximum()).as_W(nominal_voltage_V, phases)
        if evse_max_W is not None:
            own = min(own, evse_max_W)
        try:
            watts = self._limit_at(evse_index, now, self.profiles(evse_index), own, nominal_voltage_V, phases).watts
            watts = min(watts, self._shaped_now_W(evse_index, now, own, nominal_voltage_V, phases))
        except (ArithmeticError, TypeError, ValueError) as exc:
            kept = self._last_limit_W.get(evse_index)
            log.error("evse %s: schedule limit computation failed (%r); keeping the previous limit %s W",
                      evse_index, exc, kept)
            if kept is None:
                raise ScheduleInputError(f"evse {evse_index}: schedule limit computation failed: {exc!r}") from exc
            return kept
        self._last_limit_W[evse_index] = watts
        return watts

    @staticmethod
    def _in_unit(limit: _Limit, unit: RateUnit, nominal_voltage_V: float) -> float:
        if unit is RateUnit.W:
            return round(limit.watts, 1)
        return round(limit.watts / (nominal_voltage_V * limit.phases), 1)

    def _anchor(self, p: ChargingLimitProfile, evse_index: int, t: datetime, fallback: datetime) -> datetime | None:
        if p.kind is ProfileKind.RELATIVE:
            tx = self._transactions.get(evse_index)
            return tx.start if tx else fallback
        assert p.start is not None
        if p.kind is ProfileKind.RECURRING:
            period = _RECURRENCE_S[p.recurrency or "Daily"]
            if t < p.start:
                return None
            k = int((t - p.start).total_seconds() // period)
            return p.start + timedelta(seconds=k * period)
        return p.start

    def _breakpoints(self, p: ChargingLimitProfile, evse_index: int, start: datetime, duration_s: int) -> set[int]:
        end = start + timedelta(seconds=duration_s)
        anchors: list[datetime] = []
        if p.kind is ProfileKind.RECURRING:
            assert p.start is not None
            period = _RECURRENCE_S[p.recurrency or "Daily"]
            first = self._anchor(p, evse_index, max(start, p.start), start) or p.start
            a = first
            while a < end:
                anchors.append(a)
                a += timedelta(seconds=period)
        else:
            anchor = self._anchor(p, evse_index, start, start)
            if anchor is not None:
                anchors.append(anchor)
        times: list[datetime] = []
        for anchor in anchors:
            times.extend(anchor + timedelta(seconds=per.start_s) for per in p.periods)
            if p.duration_s is not None:
                times.append(anchor + timedelta(seconds=p.duration_s))
        times.extend(x for x in (p.valid_from, p.valid_to) if x is not None)
        return {math.ceil((x - start).total_seconds()) for x in times}

    def _profile_limit(self, p: ChargingLimitProfile, evse_index: int, t: datetime, nominal_voltage_V: float, phases: int) -> _Limit | None:
        if p.valid_from is not None and t < p.valid_from:
            return None
        if p.valid_to is not None and t >= p.valid_to:
            return None
        if p.purpose is ProfilePurpose.TX:
            tx = self._transactions.get(evse_index)
            if tx is None or tx.transaction_id != p.transaction_id:
                return None
        anchor = self._anchor(p, evse_index, t, t)
        if anchor is None:
            return None
        offset = (t - anchor).total_seconds()
        if offset < 0 or (p.duration_s is not None and offset >= p.duration_s):
            return None
        period = p.periods[0]
        for candidate in p.periods:
            if candidate.start_s <= offset:
                period = candidate
        n = period.number_phases or phases
        watts = period.limit if p.unit is RateUnit.W else period.limit * nominal_voltage_V * n
        return _Limit(max(0.0, watts), n, p.schedule_id)

    def _purpose_limit(self, purpose: ProfilePurpose, evse_index: int, t: datetime, candidates, nominal_voltage_V: float, phases: int) -> _Limit | None:
        best: tuple[tuple[int, int], _Limit] | None = None
        for p in candidates:
            if p.purpose is not purpose:
                continue
            limit = self._profile_limit(p, evse_index, t, nominal_voltage_V, phases)
            if limit is None:
                continue
            rank = (p.stack_level, 1 if p.evse_index == evse_index else 0)
            if best is None or rank > best[0]:
                best = (rank, limit)
        return best[1] if best else None

    def _limit_at(self, evse_index: int, t: datetime, candidates, own_W: float, nominal_voltage_V: float, phases: int) -> _Limit:
        base = self._purpose_limit(ProfilePurpose.TX, evse_index, t, candidates, nominal_voltage_V, phases)
        if base is None:
            base = self._purpose_limit(ProfilePurpose.TX_DEFAULT, evse_index, t, candidates, nominal_voltage_V, phases)
        result = base if base is not None else _Limit(own_W, phases)
        for purpose in (ProfilePurpose.STATION_MAX, ProfilePurpose.EXTERNAL_CONSTRAINTS):
            cap = self._purpose_limit(purpose, evse_index, t, candidates, nominal_voltage_V, phases)
            if cap is not None and cap.watts < result.watts:
                result = _Limit(cap.watts, cap.phases, result.schedule_id)
        if own_W < result.watts:
            result = _Limit(own_W, result.phases, result.schedule_id)
        return result


__all__ = ["ScheduleManager", "ScheduleInputError", "check_profile_numbers", "MAX_PROFILE_S", "MAX_LIMIT", "EvseMaximum", "encodable_pmax_W", "FULL_DAY_S"]
