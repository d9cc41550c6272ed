"""Data model: physical values and the HCI exp encoding, validators, schedules, SCALE needs."""
from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from freev2g.model import (
    ACEVChargeParameter,
    ChargingLimitProfile,
    CPState,
    DCEVChargeParameter,
    DCEVStatus,
    EnergyTransferMode,
    LimitPeriod,
    PhysicalValue,
    PhysicalValueError,
    PMaxScheduleEntry,
    ProfileKind,
    ProfilePurpose,
    SAScheduleList,
    SAScheduleTuple,
    ScaleNeeds,
    ScheduleError,
    Unit,
)

# whitebeet-hci.md 4.1 examples: value -> bytes
EXP_EXAMPLES = [
    (PhysicalValue(0, 0), "000000"),
    (PhysicalValue(23, 1, "V"), "001701"),
    (PhysicalValue(4, 2, "V"), "000402"),
    (PhysicalValue(1, 3, "Wh"), "000103"),
    (PhysicalValue(12, 3, "W"), "000c03"),
    (PhysicalValue(1875, 1, "W"), "075301"),
    (PhysicalValue(5, -1, "A"), "0005ff"),
    (PhysicalValue(280, 3, "W"), "011803"),
    (PhysicalValue(32767, 0), "7fff00"),
]


@pytest.mark.parametrize("value, hexbytes", EXP_EXAMPLES)
def test_hci_exp_examples_of_the_sheet(value, hexbytes):
    assert value.to_hci_exp().hex() == hexbytes
    assert PhysicalValue.from_hci_exp(bytes.fromhex(hexbytes), value.unit) == value


@given(st.integers(-32768, 32767), st.integers(-128, 127))
def test_hci_exp_round_trips_over_the_full_signed_range(mantissa, exponent):
    pv = PhysicalValue(mantissa, exponent, Unit.WATT)
    assert PhysicalValue.from_hci_exp(pv.to_hci_exp(), Unit.WATT) == pv


def test_negative_exponent_byte_is_twos_complement_not_the_manual_typo():
    assert PhysicalValue.from_hci_exp(bytes.fromhex("0005ff")).value == pytest.approx(0.5)
    assert PhysicalValue.from_hci_exp(bytes.fromhex("000581")).exponent == -127


@pytest.mark.parametrize(
    "number, mantissa, exponent",
    [(150_000, 15000, 1), (920, 920, 0), (0.5, 5, -1), (400.5, 4005, -1), (-7000, -7000, 0), (33333, 3333, 1),
     (0.1234, 123, -3), (0, 0, 0)],
)
def test_from_number_follows_the_sheet_rule(number, mantissa, exponent):
    pv = PhysicalValue.from_number(number, "W")
    assert (pv.mantissa, pv.exponent) == (mantissa, exponent)


def test_out_of_range_values_are_refused_with_the_value_named():
    with pytest.raises(PhysicalValueError, match="mantissa 40000"):
        PhysicalValue(40000, 0)
    with pytest.raises(PhysicalValueError, match="does not fit"):
        PhysicalValue.from_number(1e12, "W")
    with pytest.raises(PhysicalValueError, match="not a finite"):
        PhysicalValue.from_number(float("nan"))
    with pytest.raises(PhysicalValueError, match="needs 3 bytes"):
        PhysicalValue.from_hci_exp(b"\x00\x01")


def test_value_objects_are_frozen():
    pv = PhysicalValue(1, 0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        pv.mantissa = 2  # type: ignore[misc]


def test_validators_name_class_field_and_value():
    with pytest.raises(ValueError, match=r"ACEVChargeParameter.ev_max_current_A must be >= 0, got -1"):
        ACEVChargeParameter(e_amount_Wh=1000, ev_max_voltage_V=400, ev_max_current_A=-1, ev_min_current_A=0)
    with pytest.raises(ValueError, match=r"DCEVStatus.soc_pct must be within 0..100 %, got 120"):
        DCEVStatus(soc_pct=120)
    with pytest.raises(ValueError, match="ScaleNeeds.ev_min_soc_pct 80 exceeds ev_max_soc_pct 60"):
        ScaleNeeds(ev_min_soc_pct=80, ev_max_soc_pct=60)


def test_scale_needs_ride_on_the_ev_parameters():
    needs = ScaleNeeds(ev_max_energy_request_Wh=40000, ev_min_energy_request_Wh=10000, ev_max_soc_pct=90, ev_min_soc_pct=20)
    dc = DCEVChargeParameter(status=DCEVStatus(soc_pct=30), ev_max_current_A=200, ev_max_voltage_V=450, scale=needs)
    assert dc.scale.ev_min_energy_request_Wh == 10000


def test_cp_states_and_transfer_modes():
    assert CPState.C.vehicle_ready and not CPState.B.vehicle_ready and CPState.B.vehicle_connected
    assert EnergyTransferMode.DC_BPT.is_dc and EnergyTransferMode.DC_BPT.is_bidirectional
    assert EnergyTransferMode.AC_SINGLE_PHASE_CORE.phases == 1


def test_sa_schedule_limits():
    entry = PMaxScheduleEntry(0, 11000, 86400)
    assert SAScheduleTuple(1, [entry]).covered_s == 86400
    with pytest.raises(ScheduleError, match="tuple_id must be 1..255, got 0"):
        SAScheduleTuple(0, [entry])
    with pytest.raises(ScheduleError, match="needs 1..1024 entries, got 1025"):
        SAScheduleTuple(1, [PMaxScheduleEntry(i, 1000) for i in range(1025)])
    with pytest.raises(ScheduleError, match="1..3 tuples, got 4"):
        SAScheduleList([SAScheduleTuple(i, [entry]) for i in range(1, 5)])
    with pytest.raises(ScheduleError, match="unique"):
        SAScheduleList([SAScheduleTuple(1, [entry]), SAScheduleTuple(1, [entry])])
    with pytest.raises(ScheduleError, match="duration_s must be 0..86400"):
        PMaxScheduleEntry(0, 1000, 90000)
    with pytest.raises(ScheduleError, match="must increase"):
        SAScheduleTuple(1, [PMaxScheduleEntry(0, 1), PMaxScheduleEntry(10, 1), PMaxScheduleEntry(10, 2)])
    t = SAScheduleTuple(1, [PMaxScheduleEntry(0, 22000), PMaxScheduleEntry(3600, 11000, 82800)])
    assert t.pmax_at(0) == 22000 and t.pmax_at(3599) == 22000 and t.pmax_at(3600) == 11000


def test_limit_profile_rules():
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ok = ChargingLimitProfile(source="ocpp", profile_id=1, purpose=ProfilePurpose.TX_DEFAULT, start=now,
                              periods=[LimitPeriod(0, 16), LimitPeriod(600, 8)])
    assert ok.periods[1].limit == 8
    with pytest.raises(ValueError, match="periods\\[0\\].start_s must be 0"):
        ChargingLimitProfile(source="x", profile_id=1, purpose=ProfilePurpose.TX_DEFAULT, start=now, periods=[LimitPeriod(5, 1)])
    with pytest.raises(ValueError, match="Relative profile must not have a start"):
        ChargingLimitProfile(source="x", profile_id=1, purpose=ProfilePurpose.TX_DEFAULT, kind=ProfileKind.RELATIVE,
                             start=now, periods=[LimitPeriod(0, 1)])
    with pytest.raises(ValueError, match="TxProfile needs a transaction_id"):
        ChargingLimitProfile(source="x", profile_id=1, purpose=ProfilePurpose.TX, start=now, periods=[LimitPeriod(0, 1)])
