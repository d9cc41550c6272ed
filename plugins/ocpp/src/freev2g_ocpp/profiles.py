"""OCPP charging profiles <-> freev2g ChargingLimitProfile / CompositeSchedule.

uplinks.md 3.1 (profile fields and validation), 3.2 (composite schedule), 3.4 (mapping to the
SAScheduleList, done by freev2g.schedule). OCPP 1.6 `csChargingProfiles` and 2.0.1/2.1
`chargingProfile` are read from their camelCase JSON. A profile the EvseManager cannot apply
raises ProfileRejected with the reason the CSMS gets in statusInfo.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Callable

from freev2g.model.enums import RateUnit
from freev2g.schedule import ScheduleInputError, check_profile_numbers
from freev2g.model.limits import (
    ChargingLimitProfile,
    CompositeSchedule,
    LimitPeriod,
    ProfileKind,
    ProfilePurpose,
)

SOURCE = "ocpp"

PURPOSES = {
    "ChargingStationMaxProfile": ProfilePurpose.STATION_MAX,
    "ChargePointMaxProfile": ProfilePurpose.STATION_MAX,  # 1.6 name
    "ChargingStationExternalConstraints": ProfilePurpose.EXTERNAL_CONSTRAINTS,
    "TxDefaultProfile": ProfilePurpose.TX_DEFAULT,
    "TxProfile": ProfilePurpose.TX,
}
PURPOSE_NAMES_16 = {ProfilePurpose.STATION_MAX: "ChargePointMaxProfile"}
# 2.1 operation modes (uplinks.md 1.5) the EvseManager can follow: a limit, or no power.
SUPPORTED_MODES_21 = ("ChargingOnly", "Idle")


class ProfileRejected(ValueError):
    """The profile is valid OCPP but cannot be applied here; `reason` is an OCPP reasonCode."""

    def __init__(self, reason: str, detail: str):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}")


def parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ProfileRejected("InvalidValue", f"bad date-time {value!r}") from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _periods(schedule: dict[str, Any], version: str) -> list[LimitPeriod]:
    periods = []
    for i, p in enumerate(schedule["chargingSchedulePeriod"]):
        mode = p.get("operationMode", "ChargingOnly")
        if version == "2.1" and mode not in SUPPORTED_MODES_21:
            raise ProfileRejected("UnsupportedParam", f"chargingSchedulePeriod[{i}].operationMode {mode} is not "
                                                      f"supported (supported: {', '.join(SUPPORTED_MODES_21)})")
        if mode == "Idle":
            limit = 0.0
        elif "limit" in p:
            limit = float(p["limit"])
        else:
            raise ProfileRejected("MissingParam", f"chargingSchedulePeriod[{i}] has no limit")
        if any(k in p for k in ("limit_L2", "limit_L3", "dischargeLimit", "setpoint")):
            raise ProfileRejected("UnsupportedParam", f"chargingSchedulePeriod[{i}]: per-phase limits, "
                                                      "discharge limits and setpoints are not supported")
        if limit < 0:
            raise ProfileRejected("InvalidValue", f"chargingSchedulePeriod[{i}].limit {limit} < 0")
        start = p["startPeriod"]
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start) or start != int(start):
            raise ProfileRejected("InvalidValue", f"chargingSchedulePeriod[{i}].startPeriod {start!r} is not an integer")
        if not math.isfinite(limit):
            raise ProfileRejected("InvalidValue", f"chargingSchedulePeriod[{i}].limit {limit!r} is not a finite number")
        periods.append(LimitPeriod(int(start), limit, p.get("numberPhases")))
    return periods


def to_limit_profile(profile: dict[str, Any], evse_index: int, *, version: str, now: datetime,
                     transaction_for: Callable[[Any], str | None]) -> ChargingLimitProfile:
    """One OCPP profile -> one ChargingLimitProfile (source "ocpp").

    `transaction_for` maps the OCPP transactionId to the freev2g session id (1.6 uses the
    CSMS-assigned integer, 2.x our session UUID) or returns None when unknown.
    """
    schedules = profile["chargingSchedule"]
    if isinstance(schedules, dict):  # 1.6: exactly one schedule
        schedules = [schedules]
    if len(schedules) != 1:
        raise ProfileRejected("UnsupportedParam", f"{len(schedules)} charging schedules in one profile; "
                                                  "this station applies exactly one")
    schedule = schedules[0]
    purpose_name = profile["chargingProfilePurpose"]
    purpose = PURPOSES.get(purpose_name)
    if purpose is None:
        raise ProfileRejected("UnsupportedParam", f"chargingProfilePurpose {purpose_name}")
    kind_name = profile["chargingProfileKind"]
    try:
        kind = ProfileKind(kind_name)
    except ValueError:
        raise ProfileRejected("UnsupportedParam", f"chargingProfileKind {kind_name}") from None
    if purpose is ProfilePurpose.STATION_MAX and evse_index != 0:
        raise ProfileRejected("InvalidValue", f"{purpose_name} must be set on evseId 0, got {evse_index}")
    if purpose is ProfilePurpose.STATION_MAX and kind is ProfileKind.RELATIVE:
        raise ProfileRejected("InvalidValue", f"{purpose_name} cannot be Relative")
    start = parse_time(schedule.get("startSchedule"))
    if kind is ProfileKind.RELATIVE and start is not None:
        raise ProfileRejected("InvalidValue", "a Relative profile must not have startSchedule")
    if kind is not ProfileKind.RELATIVE and start is None:
        if version != "1.6":
            raise ProfileRejected("MissingParam", f"an {kind_name} profile needs startSchedule")
        start = now  # 1.6 CSMSs often omit it for Absolute profiles; start now.
    transaction_id = None
    if purpose is ProfilePurpose.TX:
        ocpp_tx = profile.get("transactionId")
        if evse_index == 0:
            raise ProfileRejected("InvalidValue", "a TxProfile needs an evseId > 0")
        if ocpp_tx is None:
            raise ProfileRejected("MissingParam", "a TxProfile needs a transactionId")
        transaction_id = transaction_for(ocpp_tx)
        if transaction_id is None:
            raise ProfileRejected("TxNotFound", f"no active transaction {ocpp_tx!r}")
    unit = schedule["chargingRateUnit"]
    if unit not in ("W", "A"):
        raise ProfileRejected("InvalidValue", f"chargingRateUnit {unit}")
    periods = _periods(schedule, version)
    starts = [p.start_s for p in periods]
    if starts[0] != 0 or any(b <= a for a, b in zip(starts, starts[1:])):
        raise ProfileRejected("InvalidSchedule", f"startPeriod values must begin at 0 and increase, got {starts}")
    schedule_id = schedule.get("id")
    try:
        limit_profile = _build(profile, schedule, purpose, kind, unit, periods, start, evse_index, transaction_id, schedule_id)
        check_profile_numbers(limit_profile)
    except ProfileRejected:
        raise
    except ScheduleInputError as exc:
        raise ProfileRejected("InvalidValue", str(exc)) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProfileRejected("InvalidValue", f"chargingProfile: {exc}") from None
    return limit_profile


def _build(profile, schedule, purpose, kind, unit, periods, start, evse_index, transaction_id, schedule_id) -> ChargingLimitProfile:
    return ChargingLimitProfile(
        source=SOURCE,
        profile_id=int(profile.get("id", profile.get("chargingProfileId", 0))),
        purpose=purpose,
        stack_level=int(profile["stackLevel"]),
        kind=kind,
        unit=RateUnit(unit),
        periods=periods,
        start=start,
        duration_s=schedule.get("duration"),
        valid_from=parse_time(profile.get("validFrom")),
        valid_to=parse_time(profile.get("validTo")),
        transaction_id=transaction_id,
        evse_index=evse_index,
        recurrency=profile.get("recurrencyKind"),
        min_rate=schedule.get("minChargingRate"),
        schedule_id=schedule_id if isinstance(schedule_id, int) and 1 <= schedule_id <= 255 else None,
    )


def composite_to_ocpp(composite: CompositeSchedule, *, version: str) -> dict[str, Any]:
    """CompositeSchedule -> the `schedule` (2.x) / `chargingSchedule` (1.6) of the response."""
    periods = []
    for p in composite.periods:
        entry: dict[str, Any] = {"startPeriod": int(p.start_s), "limit": round(float(p.limit), 1)}
        if p.number_phases is not None:
            entry["numberPhases"] = p.number_phases
        periods.append(entry)
    start = composite.start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if version == "1.6":
        return {"duration": composite.duration_s, "startSchedule": start,
                "chargingRateUnit": composite.unit.value, "chargingSchedulePeriod": periods}
    return {"evseId": composite.evse_index, "duration": composite.duration_s, "scheduleStart": start,
            "chargingRateUnit": composite.unit.value, "chargingSchedulePeriod": periods}
