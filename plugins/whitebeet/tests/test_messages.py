"""Field-table layer: the sheet's worked examples as hex fixtures, round trips of every message,
and errors that name module, sub-id and byte offset (whitebeet-hci.md 3-5, 9)."""
from __future__ import annotations

import pytest

from freev2g.model.units import PhysicalValue
from freev2g_whitebeet.codec import (
    Bytes, Exp, HciDecodeError, HciEncodeError, ListOf, Opt, Record, Rest, Trailing, When, _Bool, _Int,
    _LenPrefixed,
)
from freev2g_whitebeet.messages import Dialect, Kind, UnknownMessageError, catalogue

CAT = catalogue()


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def pv(value, unit):
    return PhysicalValue.from_number(value, unit)


# ---- worked examples: (message, direction, hex payload, checks on decoded fields) ----------

EXAMPLES = [
    ("v2g.ev.set_configuration", "params", "00 01 01 63 77 31 01 01 01 00 01 04 00 32 03",
     dict(ev_id=h("000101637731"), protocols=(1,), payment_methods=(0,), energy_transfer_modes=(4,))),
    ("v2g.ev.set_dc_parameters", "params",
     "00 00 00 00 00 00 00 00 00 00 03 02 00 01 02 00 0C 03 62 00 00 02 02 00 05 01 64 50 00 01 03 05 F5 E1 00",
     dict(soc_pct=98, full_soc_pct=100, bulk_soc_pct=80, departure_time_s=100_000_000)),
    ("v2g.ev.dc_parameters_changed", "params",
     "00 00 00 00 00 00 00 00 00 00 04 02 00 01 02 00 19 03 00 C8 00 00 00 00 00 01 01 00 00 00 00 01 00 01 00 05 FF 00",
     dict(isolation=1, energy_to_be_delivered_Wh=None, voltage_limit_achieved=False)),
    ("v2g.ev.session_started", "params",
     "01 01 02 03 04 05 06 07 08 0F 44 45 2A 41 32 33 2A 45 34 35 42 2A 37 38 43 00 01",
     dict(protocol=1, session_id=h("0102030405060708"), evse_id="DE*A23*E45B*78C", payment_method=0, mode=1)),
    ("v2g.ev.ac_parameters_changed", "params", "00 17 01 00 20 00 00", dict(rcd_error=False)),
    ("v2g.ev.schedule_received", "params",
     "01 00 01 00 02 00 00 00 00 00 00 0E 10 00 16 03 00 00 0E 10 00 01 43 70 00 0B 03", {}),
    ("v2g.ev.notification_received", "params", "01 00 0A", dict(notification_type=1, max_delay_s=10)),
    ("v2g.ev.session_error", "params", "02", dict(code=2)),
    ("v2g.evse.set_configuration", "params",
     "0F 2B 34 39 2A 31 32 33 2A 34 35 36 2A 37 38 39 0F 44 45 2A 41 32 33 2A 45 34 35 42 2A 37 38 43 "
     "02 00 01 01 00 06 00 01 02 03 04 05 00 00",
     dict(evse_id_din="+49*123*456*789", evse_id_iso="DE*A23*E45B*78C", protocols=(0, 1),
          energy_transfer_modes=(0, 1, 2, 3, 4, 5), certificate_installation=False)),
    ("v2g.evse.set_dc_parameters", "params", "00 00 00 00 00 00 00 00 04 02 00 01 02 00 19 03 00 00 00 00 00",
     dict(current_regulation_tolerance_A=None, status=0)),
    ("v2g.evse.update_dc_parameters", "params", "01 00 26 01 00 04 01 01 00 04 02 01 00 01 02 01 00 19 03 00",
     dict(isolation_level=1, status=0)),
    ("v2g.evse.set_ac_parameters", "params", "00 00 01 02 00 04 02", dict(rcd_error=False)),
    ("v2g.evse.update_ac_parameters", "params", "00 01 00 08 00", dict(rcd_error=False)),
    ("v2g.evse.set_sdp_configuration", "params", "01 C0 00 00",
     dict(allow_tcp=True, tcp_port=49152, allow_tls=False, tls_port=None)),
    ("v2g.evse.set_schedules", "params",
     "00 01 00 01 00 03 00 00 00 00 00 00 00 00 00 19 03 00 00 07 08 00 00 00 00 07 53 01 00 00 0E 10 "
     "00 01 43 70 00 7D 02 00 00",
     dict(result=0, energy_to_be_delivered_Wh=None, tariffs=(), signature=None)),
    ("v2g.evse.set_meter_receipt_request", "params",
     "06 4D 65 74 65 72 31 01 00 00 00 00 00 01 E2 40 00 00 01 00 00 00 00 62 06 92 C8",
     dict(meter_id="Meter1", reading_Wh=123456, signature=b"", status=None, timestamp_s=1644597960)),
    ("v2g.evse.energy_transfer_mode_selected", "params",
     "01 00 00 0E 10 01 00 0A 03 00 04 02 01 00 00 00 00 05 01 01 00 14 03 01 00 32 03 01 64 01 50 01 00 32",
     dict(departure_time_s=3600, mode=1, full_soc_pct=100, bulk_soc_pct=80, ready=True, error_code=0, soc_pct=50)),
    ("v2g.evse.energy_transfer_mode_selected", "params", "00 01 00 0A 03 00 17 01 01 00 01 00 00 10 00 00 04",
     dict(departure_time_s=None, ev_max_power_W=None, mode=4, energy_capacity_Wh=None, soc_pct=None)),
    ("v2g.evse.dc_parameters_changed", "params",
     "00 04 02 00 05 01 01 00 14 03 01 00 32 00 26 01 00 02 01 01 64 01 50 00 01 00 01 00 24 02 00",
     dict(ready=True, soc_pct=50, full_soc_pct=100, bulk_charging_complete=False,
          remaining_time_to_bulk_soc_s=None)),
    ("system.get_firmware_version", "result", "00 07 31 2E 32 2E 30 2E 30", dict(version="1.2.0.0")),
    ("system.get_kernel_version", "result", "00 07 31 2E 30 2E 30 2E 30", dict(version="1.0.0.0")),
    ("cp.get_state", "result", "00 01", dict(state=1)),
    ("v2g.get_mode", "result", "00 02", dict(mode=2)),
    ("cp.set_duty_cycle", "params", "00 32", dict(duty_permille=50)),
]


@pytest.mark.parametrize("name,part,hexdata,checks", EXAMPLES, ids=[f"{e[0]}-{i}" for i, e in enumerate(EXAMPLES)])
def test_sheet_examples_decode_and_reencode_byte_exact(name, part, hexdata, checks):
    spec = CAT[name]
    data = h(hexdata)
    if part == "params":
        value = spec.decode(data)
        assert spec.encode(value) == data
    else:
        resp = spec.decode_response(data)
        assert resp.ok
        value = resp.data
        assert spec.encode_response(0, value) == data
    for key, expected in checks.items():
        assert getattr(value, key) == expected, key


def test_exp_values_of_the_sheet_table():
    table = {
        "00 00 00": 0, "00 01 00": 1, "00 01 01": 10, "00 19 00": 25, "07 53 01": 18750, "00 32 03": 50000,
        "00 17 01": 230, "00 04 02": 400, "00 01 03": 1000, "00 0C 03": 12000, "00 19 03": 25000,
        "00 05 FF": 0.5, "01 18 03": 280000, "7F FF 00": 32767,
    }
    for text, value in table.items():
        assert PhysicalValue.from_hci_exp(h(text)).value == pytest.approx(value)


def test_exp_full_signed_range_round_trips():
    t = Exp("W")
    for mant, exp in [(-32768, -128), (32767, 127), (-1, -1), (12345, -3), (-32768, 3)]:
        raw = PhysicalValue(mant, exp).to_hci_exp()
        from freev2g_whitebeet.codec import _Cursor

        back = t.decode(_Cursor(raw, "t"), "x")
        assert (back.mantissa, back.exponent) == (mant, exp)
        assert t.encode(back, "x") == raw
    # numbers: smallest exponent that fits, widening beyond the ISO range when needed
    assert t.encode(-0.5, "x") == h("FF FB FF")
    assert t.encode(33333, "x") == h("0D 05 01")
    assert t.encode(1e12, "x")[2] > 3


def test_sdp_ports_present_only_when_enabled():
    spec = CAT["v2g.evse.set_sdp_configuration"]
    assert spec.encode(allow_tcp=True, tcp_port=50000, allow_tls=True, tls_port=50001) == h("01 C3 50 01 C3 51")
    with pytest.raises(HciEncodeError, match="tcp_port: required here"):
        spec.encode(allow_tcp=True, allow_tls=False)


def test_schedules_with_tariff_and_signature():
    spec = CAT["v2g.evse.set_schedules"]
    value = dict(
        result=0,
        tuples=[dict(tuple_id=1, entries=[dict(start_s=0, interval_s=86400, power_W=11000)])],
        energy_to_be_delivered_Wh=None,
        tariffs=[dict(tariff_id=1, description="t", price_levels=2,
                      entries=[dict(start_s=0, duration_s=3600, price_level=1,
                                    consumption_costs=[dict(start_value=0, costs=[dict(kind=0, amount=5, multiplier=-2)])])],
                      signature_id="s1", digest=bytes(32))],
        signature=bytes(64),
    )
    raw = spec.encode(value)
    back = spec.decode(raw)
    assert back.tariffs[0].entries[0].consumption_costs[0].costs[0].multiplier == -2
    assert back.signature == bytes(64)
    prefixed = catalogue(Dialect(tariff_digest_length_prefix=True))["v2g.evse.set_schedules"]
    assert len(prefixed.encode(value)) == len(raw) + 2


def test_ac_parameter_order_is_configurable():
    manual = catalogue(Dialect(ac_parameter_order="manual"))["v2g.evse.set_ac_parameters"]
    code = CAT["v2g.evse.set_ac_parameters"]
    raw = h("00 00 01 02 00 04 02")
    assert code.decode(raw).max_current_A.value == 100
    assert manual.decode(raw).nominal_voltage_V.value == 100  # the other reading of the same bytes
    assert manual.encode(rcd_error=False, nominal_voltage_V=400, max_current_A=100) == h("00 01 90 00 00 64 00")


def test_mode_selected_tail_always_in_manual_dialect():
    spec = catalogue(Dialect(mode_selected_dc_tail_always=True))["v2g.evse.energy_transfer_mode_selected"]
    with pytest.raises(HciDecodeError):
        spec.decode(h("00 01 00 0A 03 00 17 01 01 00 01 00 00 10 00 00 04"))


def test_payment_selected_pnc_certificates():
    spec = CAT["v2g.evse.payment_selected"]
    assert spec.decode(h("00")).contract_certificate is None
    raw = spec.encode(method=1, contract_certificate=b"\x01" * 300, sub_ca_1=b"", sub_ca_2=b"\x02", emaid="DEABC123456789")
    back = spec.decode(raw)
    assert back.contract_certificate == b"\x01" * 300 and back.emaid == "DEABC123456789"


# ---- round trip of every message with generated values --------------------------------------


def sample(t, depth=0):
    if isinstance(t, _Int):
        return {"u8": 200, "u16": 0xC0C1, "u32": 0xC0000001, "u64": 2**63, "s8": -5, "s16": -300, "s64": -(2**40)}[t.label]
    if isinstance(t, _Bool):
        return True
    if isinstance(t, Exp):
        return PhysicalValue(-1234, -2, t.unit)
    if isinstance(t, Opt):
        return sample(t.inner, depth)
    if isinstance(t, (When, Trailing)):
        return sample(t.inner, depth)
    if isinstance(t, _LenPrefixed):
        n = min(t.max_len or 5, 5)
        return "abcde"[:n] if t.text else bytes(range(n))
    if isinstance(t, Bytes):
        return bytes(range(t.size))
    if isinstance(t, Rest):
        return b"\xc0\xc1\x00"
    if isinstance(t, ListOf):
        return tuple(sample(t.inner, depth + 1) for _ in range(max(t.min_count, 1 if t.count_type is None else 2 if (t.max_count or 3) >= 2 else 1)))
    if isinstance(t, Record):
        return t.make(**{n: sample(ft, depth + 1) for n, ft in t.fields})
    raise AssertionError(t)


def records(spec):
    yield spec.params
    if spec.result is not None:
        yield spec.result


@pytest.mark.parametrize("dialect", [Dialect(), Dialect(ac_parameter_order="manual", tariff_digest_length_prefix=True,
                                                         pnc_certificate_length="u8", mode_selected_dc_tail_always=True)])
def test_every_message_round_trips(dialect):
    cat = catalogue(dialect)
    count = 0
    for name in cat.names():
        spec = cat[name]
        value = sample(spec.params)
        if name == "v2g.evse.payment_selected":
            value = spec.params.make(**{**{f: getattr(value, f) for f, _ in spec.params.fields}, "method": 1})
        if name == "v2g.evse.energy_transfer_mode_selected":
            value = spec.params.make(**{**{f: getattr(value, f) for f, _ in spec.params.fields}, "mode": 1})
        raw = spec.encode(value)
        assert spec.decode(raw) == value, name
        if spec.result is not None:
            rvalue = sample(spec.result)
            rraw = spec.encode_response(0, rvalue)
            assert spec.decode_response(rraw).data == rvalue, name
        count += 1
    assert count == len(cat.specs) > 150


def test_sections_3_and_5_are_all_there():
    ids = {(s.module, s.sub, s.kind) for s in CAT.specs}
    for sub in list(range(0x60, 0x71)) + [0x73, 0x74, 0x75, 0x76] + list(range(0xA0, 0xAF)):
        assert (0x27, sub, Kind.COMMAND) in ids, hex(sub)
    for sub in [*range(0x80, 0x8D), *range(0x8E, 0x92), *range(0xC0, 0xCE)]:
        assert (0x27, sub, Kind.NOTIFICATION) in ids, hex(sub)
    assert {s for m, s, k in ids if m == 0x29} == set(range(0x40, 0x4C)) | {0x80, 0x81}
    assert {s for m, s, k in ids if m == 0x28} == set(range(0x40, 0x4E)) | set(range(0x80, 0x85))


# ---- errors name module, sub-id and offset ---------------------------------------------------


def test_truncated_payload_error_names_module_sub_and_offset():
    spec = CAT["v2g.evse.dc_parameters_changed"]
    raw = h("00 04 02 00 05 01 01 00 14 03 01 00 32 00 26 01 00 02 01 01 64 01 50 00 01 00 01 00 24 02 00")
    for cut in range(len(raw)):
        with pytest.raises(HciDecodeError) as info:
            spec.decode(raw[:cut])
        assert "V2G(0x27)/0x85" in str(info.value)
        assert info.value.offset <= cut
    with pytest.raises(HciDecodeError, match=r"offset 7: exp field 'DcParametersChanged.ev_max_power_W' needs 3 bytes"):
        spec.decode(raw[:8])


def test_trailing_bytes_and_bad_counts_are_errors():
    with pytest.raises(HciDecodeError, match=r"CP\(0x29\)/0x44 cp.set_duty_cycle .*offset 2: 1 unexpected trailing"):
        CAT["cp.set_duty_cycle"].decode(h("00 32 00"))
    with pytest.raises(HciDecodeError, match=r"offset 0: .*tuples: count 4 outside 1..3"):
        CAT["v2g.ev.schedule_received"].decode(h("04"))
    with pytest.raises(HciDecodeError, match="not UTF-8"):
        CAT["system.get_firmware_version"].decode_response(h("00 02 FF FE"))
    with pytest.raises(HciDecodeError, match="empty response"):
        CAT["cp.get_state"].decode_response(b"")


def test_unknown_sub_ids():
    with pytest.raises(UnknownMessageError, match=r"V2G\(0x27\): unknown sub-id 0x71"):
        CAT.command(0x27, 0x71)
    with pytest.raises(UnknownMessageError, match=r"module 0x33: unknown sub-id 0x01"):
        CAT.from_module(0x33, 0x01)
    assert CAT.from_module(0x27, 0x63).name == "v2g.evse.update_dc_parameters"  # a response
    assert CAT.is_unsolicited(0x28, 0x80) and not CAT.is_unsolicited(0x28, 0x43)


def test_encode_errors_name_the_field():
    with pytest.raises(HciEncodeError, match=r"SetDutyCycle.duty_permille: 70000 does not fit u16"):
        CAT["cp.set_duty_cycle"].encode(duty_permille=70000)
    with pytest.raises(HciEncodeError, match="missing"):
        CAT["v2g.evse.update_dc_parameters"].encode(isolation_level=1)
    with pytest.raises(HciEncodeError, match="exceed the str8 limit of 32"):
        CAT["system.get_firmware_version"].encode_response(0, version="x" * 33)
    with pytest.raises(HciEncodeError, match="unknown fields"):
        CAT["cp.set_mode"].encode(mode=1, colour=2)


def test_non_ok_response_carries_only_the_code():
    spec = CAT["cp.get_state"]
    assert spec.encode_response(0x05) == b"\x05"
    resp = spec.decode_response(b"\x01")
    assert resp.code == 1 and resp.data is None and not resp.ok
