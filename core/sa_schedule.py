"""The SAScheduleList offered to the EV (charging-domain.md 6.1, uplinks.md 3.3), built from the
composite schedule: tuple ids 1..255, <= MaxEntriesSAScheduleTuple entries, coverage of the EV's
departure time or 24 h, PMax in W encodable as a PhysicalValue (rounded down, never above the
limit), entry duration <= 24 h; ChargingPreferences shape the offer. Mixed into ScheduleManager.
"""
from __future__ import annotations

import logging
import math
from datetime import datetime

from .model.enums import RateUnit
from .model.limits import ProfilePurpose
from .model.schedule import MAX_DURATION_S, MAX_ENTRIES, PMaxScheduleEntry, SAScheduleList, SAScheduleTuple
from .model.units import PhysicalValue, Unit

FULL_DAY_S = 86_400

log = logging.getLogger(__name__)


def encodable_pmax_W(watts: float) -> float:
    """Largest value <= `watts` (>= 0) that an ISO 15118-2 PhysicalValue in W can carry."""
    watts = max(0.0, watts)
    pv = PhysicalValue.from_number(round(watts, 3), Unit.WATT)
    if pv.value > watts + 1e-9:
        pv = PhysicalValue(pv.mantissa - 1, pv.exponent, Unit.WATT)
    return pv.value


class SAScheduleOffer:
    _last_offer: dict  # evse index -> the last SAScheduleList built (kept on a computation error)

    # ------------------------------------------------------------------ SAScheduleList

    def sa_schedule_list(
        self,
        evse_index: int,
        now: datetime,
        *,
        max_entries: int | None,
        departure_s: int | None,
        evse_max_power_W: float,
        nominal_voltage_V: float = 230.0,
        phases: int = 3,
    ) -> SAScheduleList:
        """The schedule offered in ChargeParameterDiscoveryRes (charging-domain.md 6.1).

        Entry starts are seconds from `now`. Covers `departure_s` when the EV gave one, else
        24 h. At most `max_entries` entries (MaxEntriesSAScheduleTuple); where entries must be
        merged the lower PMax is kept, so the offer never exceeds a limit.
        """
        try:
            offer = self._build_offer(evse_index, now, max_entries, departure_s, evse_max_power_W, nominal_voltage_V, phases)
        except (ArithmeticError, TypeError, ValueError) as exc:
            kept = self._last_offer.get(evse_index)
            log.error("evse %s: SAScheduleList computation failed (%r); %s", evse_index, exc,
                      "keeping the previous schedule" if kept is not None else "no previous schedule")
            if kept is None:
                raise
            return kept
        self._last_offer[evse_index] = offer
        return offer

    def _build_offer(self, evse_index, now, max_entries, departure_s, evse_max_power_W, nominal_voltage_V, phases) -> SAScheduleList:
        horizon = int(departure_s) if departure_s else FULL_DAY_S
        cap_entries = MAX_ENTRIES if max_entries is None else max(1, min(int(max_entries), MAX_ENTRIES))
        horizon = min(horizon, cap_entries * MAX_DURATION_S)
        comp = self.composite(
            evse_index, now, horizon, RateUnit.W, nominal_voltage_V=nominal_voltage_V, phases=phases, evse_max_W=evse_max_power_W
        )
        segments = [(p.start_s, p.limit) for p in comp.periods]
        segments = self._shape(evse_index, now, segments, horizon)
        entries = _to_entries(segments, horizon, cap_entries)
        tuple_id = self._tuple_id(evse_index, now)
        return SAScheduleList([SAScheduleTuple(tuple_id, entries)])

    def _tuple_id(self, evse_index: int, now: datetime) -> int:
        for purpose in (ProfilePurpose.TX, ProfilePurpose.TX_DEFAULT):
            limit = self._purpose_limit(purpose, evse_index, now, self.profiles(evse_index), 230.0, 3)
            if limit is not None:
                sid = limit.schedule_id
                return sid if sid is not None and 1 <= sid <= 255 else 1
        return 1

    def _shaped_now_W(self, evse_index: int, now: datetime, own_W: float, nominal_voltage_V: float, phases: int) -> float:
        """The first PMax of the offer the ChargingPreferences shape (sa_schedule._shape), so
        the charge loop delivers what the SAScheduleList says (issue #13 item 3); inf when
        no preference shapes it."""
        pref = self._preferences.get(evse_index)
        if pref is None or pref.departure is None or not pref.energy_need_Wh or pref.profile_type == "FAST":
            return math.inf
        if math.isinf(own_W) or (pref.departure - now).total_seconds() <= 0:
            return math.inf
        horizon = min(int((pref.departure - now).total_seconds()) + 1, FULL_DAY_S)
        comp = self.composite(evse_index, now, horizon, RateUnit.W, nominal_voltage_V=nominal_voltage_V, phases=phases, evse_max_W=own_W)
        segments = self._shape(evse_index, now, [(p.start_s, p.limit) for p in comp.periods], horizon)
        return segments[0][1] if segments else math.inf

    def _shape(self, evse_index: int, now: datetime, segments: list[tuple[int, float]], horizon: int) -> list[tuple[int, float]]:
        """Apply ChargingPreferences: evenly spread the energy need up to the departure
        (CHEAP, GREEN, REGULAR) by water-filling under the composite limits; FAST keeps the
        earliest-feasible plan (the composite itself). Infeasible needs keep the composite."""
        pref = self._preferences.get(evse_index)
        if pref is None or pref.departure is None or not pref.energy_need_Wh or pref.profile_type == "FAST":
            return segments
        until = int((pref.departure - now).total_seconds())
        if until <= 0:
            return segments
        until = min(until, horizon)
        bounds = sorted({s for s, _ in segments if s < until} | {until})
        cut = [(s, _value_at(segments, s)) for s in bounds[:-1]]
        spans = [(s, e - s, lim) for (s, lim), e in zip(cut, bounds[1:])]
        need_Ws = pref.energy_need_Wh * 3600.0
        if sum(d * lim for _, d, lim in spans) <= need_Ws:
            return segments
        lo, hi = 0.0, max(lim for _, _, lim in spans)
        for _ in range(60):
            mid = (lo + hi) / 2
            if sum(d * min(lim, mid) for _, d, lim in spans) >= need_Ws:
                hi = mid
            else:
                lo = mid
        level = hi
        shaped = [(s, min(lim, level)) for s, _, lim in spans]
        shaped += [(s, v) for s, v in segments if s >= until]
        if until not in {s for s, _ in shaped}:
            shaped.append((until, _value_at(segments, until)))
        return sorted(shaped)


def _value_at(segments: list[tuple[int, float]], t: int) -> float:
    value = segments[0][1]
    for s, v in segments:
        if s <= t:
            value = v
    return value


def _to_entries(segments: list[tuple[int, float]], horizon: int, max_entries: int) -> list[PMaxScheduleEntry]:
    """Segments (start, W) -> PMax entries: merge equal neighbours, split entries longer than
    24 h, merge (keeping the lower PMax) down to max_entries, encode PMax rounding down."""
    merged: list[list[float]] = []
    for s, v in segments:
        v = encodable_pmax_W(v)
        if merged and merged[-1][1] == v:
            continue
        merged.append([s, v])
    spans = [[s, (merged[i + 1][0] if i + 1 < len(merged) else horizon) - s, v] for i, (s, v) in enumerate(merged)]
    while len(spans) > max_entries:
        # Merge the neighbour pair that loses the least energy (the merged span takes the min).
        best_i, best_cost = 0, math.inf
        for i in range(len(spans) - 1):
            a, b = spans[i], spans[i + 1]
            cost = abs(a[2] - b[2]) * (a[1] if a[2] > b[2] else b[1])
            if cost < best_cost:
                best_i, best_cost = i, cost
        a, b = spans[best_i], spans[best_i + 1]
        spans[best_i : best_i + 2] = [[a[0], a[1] + b[1], min(a[2], b[2])]]
    out: list[list[float]] = []
    for s, d, v in spans:
        if out and out[-1][2] == v:
            out[-1][1] += d
        else:
            out.append([s, d, v])
    entries: list[PMaxScheduleEntry] = []
    for i, (s, d, v) in enumerate(out):
        last = i == len(out) - 1
        start = int(s)
        remaining = int(d)
        while last and remaining > MAX_DURATION_S and len(entries) + 1 < max_entries:
            entries.append(PMaxScheduleEntry(start, v))
            start += MAX_DURATION_S
            remaining -= MAX_DURATION_S
        entries.append(PMaxScheduleEntry(start, v, min(remaining, MAX_DURATION_S) if last else None))
    return entries
