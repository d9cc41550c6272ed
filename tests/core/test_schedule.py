"""ScheduleManager: composite schedule per OCPP rules (uplinks.md 3.2) and the SAScheduleList
limits (charging-domain.md 6.1, uplinks.md 3.3)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from freev2g.model.enums import RateUnit
from freev2g.model.limits import ChargingLimitProfile, ChargingPreferences, LimitPeriod, ProfileKind, ProfilePurpose
from freev2g.model.units import PhysicalValue, Unit
from freev2g.schedule import ScheduleInputError, ScheduleManager, encodable_pmax_W

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def profile(pid, purpose, periods, *, level=0, kind=ProfileKind.ABSOLUTE, unit=RateUnit.W, start=T0, evse=1, **kw):
    if purpose is ProfilePurpose.TX:
        kw.setdefault("transaction_id", "tx-1")
    if purpose is ProfilePurpose.STATION_MAX:
        evse = 0
    return ChargingLimitProfile(
        source="ocpp", profile_id=pid, purpose=purpose, stack_level=level, kind=kind, unit=unit,
        periods=[LimitPeriod(s, v, *rest) for s, v, *rest in periods],
        start=None if kind is ProfileKind.RELATIVE else start, evse_index=evse, **kw)


@pytest.fixture
def sm():
    m = ScheduleManager()
    m.set_evse_maximum(1, max_power_W=22_000.0)
    return m


def limits(comp):
    return [(p.start_s, p.limit) for p in comp.periods]


def test_no_profile_gives_evse_maximum(sm):
    assert limits(sm.composite(1, T0, 3600)) == [(0, 22_000.0)]


def test_higher_stack_level_wins_and_lower_fills_gaps(sm):
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 11_000.0)], level=0))
    sm.set_profile(profile(2, ProfilePurpose.TX_DEFAULT, [(0, 7_000.0)], level=1, duration_s=1800))
    assert limits(sm.composite(1, T0, 3600)) == [(0, 7_000.0), (1800, 11_000.0)]


def test_tx_profile_overrides_tx_default_only_for_its_transaction(sm):
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 5_000.0)]))
    sm.set_profile(profile(2, ProfilePurpose.TX, [(0, 16_000.0)], transaction_id="tx-1"))
    assert limits(sm.composite(1, T0, 600)) == [(0, 5_000.0)]  # no transaction yet
    sm.begin_transaction(1, "tx-1", T0)
    assert limits(sm.composite(1, T0, 600)) == [(0, 16_000.0)]  # override, even upward
    sm.end_transaction(1)
    sm.begin_transaction(1, "tx-2", T0)
    assert limits(sm.composite(1, T0, 600)) == [(0, 5_000.0)]


def test_station_max_and_external_constraints_cap(sm):
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 20_000.0)]))
    sm.set_profile(profile(2, ProfilePurpose.STATION_MAX, [(0, 15_000.0)]))
    sm.set_profile(profile(3, ProfilePurpose.EXTERNAL_CONSTRAINTS, [(0, 18_000.0), (600, 9_000.0)]))
    assert limits(sm.composite(1, T0, 1200)) == [(0, 15_000.0), (600, 9_000.0)]


def test_evse_maximum_caps_profiles(sm):
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 50_000.0)]))
    assert limits(sm.composite(1, T0, 60)) == [(0, 22_000.0)]


def test_amps_and_watts_are_compared_after_conversion(sm):
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 16.0)], unit=RateUnit.A))  # 16 A x 230 V x 3
    sm.set_profile(profile(2, ProfilePurpose.EXTERNAL_CONSTRAINTS, [(0, 10_000.0)]))
    comp = sm.composite(1, T0, 60)
    assert limits(comp) == [(0, 10_000.0)]
    in_amps = sm.composite(1, T0, 60, RateUnit.A)
    assert in_amps.periods[0].limit == pytest.approx(14.5, abs=0.05)
    sm.clear_profiles(purpose=ProfilePurpose.EXTERNAL_CONSTRAINTS)
    assert limits(sm.composite(1, T0, 60)) == [(0, 11_040.0)]
    sm.set_profile(profile(3, ProfilePurpose.TX_DEFAULT, [(0, 16.0, 1)], unit=RateUnit.A, level=5))  # 1 phase
    assert limits(sm.composite(1, T0, 60)) == [(0, 3_680.0)]


def test_relative_profile_counts_from_transaction_start(sm):
    sm.begin_transaction(1, "tx-1", T0 - timedelta(minutes=10))
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 4_000.0), (900, 8_000.0)], kind=ProfileKind.RELATIVE))
    assert limits(sm.composite(1, T0, 600)) == [(0, 4_000.0), (300, 8_000.0)]


def test_daily_recurring_profile(sm):
    night = datetime(2025, 2, 20, 22, 0, tzinfo=timezone.utc)
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 11_000.0), (8 * 3600, 3_000.0)],
                           kind=ProfileKind.RECURRING, start=night, recurrency="Daily"))
    start = datetime(2025, 3, 1, 21, 0, tzinfo=timezone.utc)
    assert limits(sm.composite(1, start, 12 * 3600)) == [(0, 3_000.0), (3600, 11_000.0), (9 * 3600, 3_000.0)]


def test_validity_window(sm):
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 6_000.0)], valid_from=T0 + timedelta(minutes=5),
                           valid_to=T0 + timedelta(minutes=10)))
    assert limits(sm.composite(1, T0, 900)) == [(0, 22_000.0), (300, 6_000.0), (600, 22_000.0)]


def test_replace_clear_and_subscribers(sm):
    seen = []
    sm.subscribe(seen.append)
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 6_000.0)]))
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 7_000.0)]))  # same id replaces
    assert len(sm.profiles(1)) == 1 and limits(sm.composite(1, T0, 60)) == [(0, 7_000.0)]
    sm.set_profile(profile(2, ProfilePurpose.STATION_MAX, [(0, 9_000.0)]))  # station-wide -> every EVSE
    assert sm.clear_profiles(source="ocpp") == 2
    assert seen == [1, 1, 1, 1, 1]


def test_invalid_profiles_are_rejected_with_reason(sm):
    with pytest.raises(ScheduleInputError, match="evse_index 0"):
        sm.set_profile(ChargingLimitProfile(source="x", profile_id=1, purpose=ProfilePurpose.STATION_MAX,
                                            periods=[LimitPeriod(0, 1.0)], start=T0, evse_index=1))
    sm.set_profile(profile(1, ProfilePurpose.TX, [(0, 1_000.0)], level=2))
    with pytest.raises(ScheduleInputError, match="already exists"):
        sm.set_profile(profile(2, ProfilePurpose.TX, [(0, 2_000.0)], level=2))
    with pytest.raises(ValueError, match="start_s must be 0"):
        profile(3, ProfilePurpose.TX_DEFAULT, [(10, 1.0)])


def test_sa_schedule_list_default_covers_24h(sm):
    sl = sm.sa_schedule_list(1, T0, max_entries=None, departure_s=None, evse_max_power_W=50_000.0)
    (t,) = sl.tuples
    assert t.tuple_id == 1 and t.covered_s == 86_400
    assert t.entries[0].pmax_W == 22_000.0


def test_sa_schedule_list_covers_departure_and_uses_schedule_id(sm):
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, [(0, 11_000.0), (1800, 7_000.0)], schedule_id=42))
    sl = sm.sa_schedule_list(1, T0, max_entries=12, departure_s=3 * 3600, evse_max_power_W=50_000.0)
    (t,) = sl.tuples
    assert t.tuple_id == 42
    assert [(e.start_s, e.pmax_W) for e in t.entries] == [(0, 11_000.0), (1800, 7_000.0)]
    assert t.covered_s == 3 * 3600 and t.entries[-1].duration_s == 3 * 3600 - 1800


def test_sa_schedule_list_respects_max_entries_never_exceeding_limits(sm):
    periods = [(i * 600, 2_000.0 + 1_000.0 * (i % 5)) for i in range(40)]
    sm.set_profile(profile(1, ProfilePurpose.TX_DEFAULT, periods))
    full = sm.composite(1, T0, 86_400)
    sl = sm.sa_schedule_list(1, T0, max_entries=6, departure_s=None, evse_max_power_W=50_000.0)
    entries = sl.tuples[0].entries
    assert len(entries) <= 6 and sl.tuples[0].covered_s == 86_400
    for p in full.periods:  # merged entries keep the lower PMax: never above the composite
        assert sl.tuples[0].pmax_at(p.start_s) <= p.limit + 1e-6


def test_pmax_is_encodable_and_rounded_down():
    for watts in (7_359.9, 150_001.0, 11_000.0, 0.0):
        v = encodable_pmax_W(watts)
        assert v <= watts and PhysicalValue.from_number(v, Unit.WATT).value == v
    assert encodable_pmax_W(150_001.0) == 150_000.0


def test_sa_schedule_list_splits_entries_longer_than_a_day(sm):
    sl = sm.sa_schedule_list(1, T0, max_entries=12, departure_s=40 * 3600, evse_max_power_W=50_000.0)
    entries = sl.tuples[0].entries
    assert sl.tuples[0].covered_s == 40 * 3600
    assert all(e.duration_s is None or e.duration_s <= 86_400 for e in entries)


def test_preferences_spread_energy_until_departure(sm):
    sm.set_preferences(1, ChargingPreferences(session_id="s", departure=T0 + timedelta(hours=4), energy_need_Wh=20_000.0))
    sl = sm.sa_schedule_list(1, T0, max_entries=12, departure_s=None, evse_max_power_W=50_000.0)
    t = sl.tuples[0]
    assert t.pmax_at(0) == pytest.approx(5_000.0, abs=1.0)  # 20 kWh over 4 h
    assert t.pmax_at(5 * 3600) == 22_000.0  # after departure: full limit
    assert t.covered_s == 86_400
    sm.set_preferences(1, ChargingPreferences(session_id="s", profile_type="FAST", departure=T0 + timedelta(hours=4),
                                              energy_need_Wh=20_000.0))
    assert sm.sa_schedule_list(1, T0, max_entries=12, departure_s=None, evse_max_power_W=50_000.0).tuples[0].pmax_at(0) == 22_000.0


def test_preferences_water_fill_under_a_low_period(sm):
    sm.set_profile(profile(1, ProfilePurpose.EXTERNAL_CONSTRAINTS, [(0, 2_000.0), (3600, 22_000.0)]))
    sm.set_preferences(1, ChargingPreferences(session_id="s", departure=T0 + timedelta(hours=3), energy_need_Wh=20_000.0))
    t = sm.sa_schedule_list(1, T0, max_entries=12, departure_s=None, evse_max_power_W=50_000.0).tuples[0]
    assert t.pmax_at(0) == 2_000.0
    assert t.pmax_at(3600) == pytest.approx(9_000.0, abs=1.0)  # (20 kWh - 2 kWh) / 2 h
