"""Public EXI vectors (fact sheet §5, §7, §8.5): decode to the documented values, re-encode
byte-identically; truncated/changed streams give a declared error. Real C codec, no fakes.
tests/sanitizer/run.sh runs this file again under ASan+UBSan."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from freev2g import exi

_spec = importlib.util.spec_from_file_location("exi_vectors", Path(__file__).with_name("vectors.py"))
V = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(V)


def dec(vector):
    return exi.decode(vector[0], V.data(vector))


@pytest.mark.parametrize("vector", V.VALID, ids=lambda v: f"{v[0]}-{v[1][:20]}")
def test_reencode_is_byte_identical(vector):
    proto, data = vector[0], V.data(vector)
    msg = exi.decode(proto, data)
    deviations = vector is V.ISO2_SIGNED_CPD_RES   # its empty SignatureValue is a 2nd-level EE
    assert exi.encode(proto, msg, allow_deviations=deviations) == data
    # the JSON form survives the trip too
    assert exi.from_json(proto, exi.to_json(proto, msg)) == msg


def test_sap_req_values():
    assert dec(V.SAP_REQ_DIN) == {"supportedAppProtocolReq": {"AppProtocol": [{
        "ProtocolNamespace": "urn:din:70121:2012:MsgDef", "VersionNumberMajor": 2,
        "VersionNumberMinor": 0, "SchemaID": 1, "Priority": 1}]}}
    assert dec(V.SAP_RES) == {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation",
                                                          "SchemaID": 1}}
    two = dec(V.SAP_REQ_DIN_ISO2)["supportedAppProtocolReq"]["AppProtocol"]
    assert [(a["ProtocolNamespace"], a["SchemaID"], a["Priority"]) for a in two] == [
        ("urn:din:70121:2012:MsgDef", 0, 1), ("urn:iso:15118:2:2013:MsgDef", 1, 2)]


def test_din_current_demand_req_values():
    m = dec(V.DIN_CURRENT_DEMAND_REQ)["V2G_Message"]
    assert m["Header"] == {"SessionID": bytes.fromhex("0EBE5B8D693EE379")}
    req = m["Body"]["CurrentDemandReq"]
    assert req["DC_EVStatus"] == {"EVReady": True, "EVErrorCode": "NO_ERROR", "EVRESSSOC": 73}
    assert req["EVTargetCurrent"] == {"Multiplier": 0, "Unit": "A", "Value": 45}
    assert req["BulkChargingComplete"] is False and req["ChargingComplete"] is False
    assert req["RemainingTimeToFullSoC"] == {"Multiplier": 0, "Unit": "s", "Value": 1200}
    assert req["RemainingTimeToBulkSoC"] == {"Multiplier": 0, "Unit": "s", "Value": 600}
    assert req["EVTargetVoltage"] == {"Multiplier": 0, "Unit": "V", "Value": 333}
    j = exi.to_json("din", dec(V.DIN_CURRENT_DEMAND_REQ))
    assert j["V2G_Message"]["Header"]["SessionID"] == "0EBE5B8D693EE379"


def test_din_session_setup_req_values():
    m = dec(V.DIN_SESSION_SETUP_REQ)["V2G_Message"]
    assert m["Header"]["SessionID"] == bytes(8)
    assert m["Body"] == {"SessionSetupReq": {"EVCCID": bytes.fromhex("84877260F358")}}


def test_iso2_session_setup_res_values():
    m = dec(V.ISO2_SESSION_SETUP_RES)["V2G_Message"]
    assert m["Header"]["SessionID"] == b"01234567"
    assert m["Body"] == {"SessionSetupRes": {"ResponseCode": "OK", "EVSEID": "FRA23E45B78C"}}
    m = dec(V.ISO2_SESSION_SETUP_RES_CTRL)["V2G_Message"]
    assert m["Header"]["SessionID"] == b"\x00"
    assert m["Body"]["SessionSetupRes"] == {"ResponseCode": "OK", "EVSEID": "".join(map(chr, range(1, 9))),
                                            "EVSETimeStamp": 123456789}


def test_iso2_signed_cpd_res_values():
    m = dec(V.ISO2_SIGNED_CPD_RES)["V2G_Message"]
    sig = m["Header"]["Signature"]
    ref = sig["SignedInfo"]["Reference"][0]
    assert sig["SignedInfo"]["CanonicalizationMethod"] == {"Algorithm": "http://www.w3.org/TR/canonical-exi"}
    assert ref["Id"] == "id1" and ref["URI"] == "#id1"
    assert ref["DigestValue"][:4] == bytes.fromhex("B2D53B9D") and ref["DigestValue"][-2:] == b"\x64\x15"
    assert sig["SignatureValue"] == {}   # empty: second-level EE at bit 1764
    res = m["Body"]["ChargeParameterDiscoveryRes"]
    tariff = res["SAScheduleList"]["SAScheduleTuple"][0]["SalesTariff"]
    assert tariff["Id"] == "id1"
    assert [e["RelativeTimeInterval"]["start"] for e in tariff["SalesTariffEntry"]] == [0, 1800, 3600, 5400]
    assert res["DC_EVSEChargeParameter"]["EVSEMaximumVoltageLimit"] == {"Multiplier": 0, "Unit": "V", "Value": 400}
    # Without allow_deviations the empty SignatureValue is a declared encode error at its bit.
    with pytest.raises(exi.ExiEncodeError) as ei:
        exi.encode("iso2", dec(V.ISO2_SIGNED_CPD_RES))
    assert ei.value.bit_offset == 1764 and "SignatureValue" in ei.value.element


def test_iso20_dc_charge_loop_req_values():
    m = dec(V.ISO20_DC_CHARGE_LOOP_REQ)["DC_ChargeLoopReq"]
    assert m["Header"] == {"SessionID": bytes.fromhex("5A2CDE53F701D4AC"), "TimeStamp": 1718607534}
    assert m["MeterInfoRequested"] is False
    assert m["EVPresentVoltage"] == {"Exponent": 0, "Value": 400}
    assert m["BPT_Scheduled_DC_CLReqControlMode"] == {
        "EVTargetCurrent": {"Exponent": 0, "Value": 20}, "EVTargetVoltage": {"Exponent": 0, "Value": 400}}


def test_iso20_bad_authorization_setup_res_is_rejected():
    with pytest.raises(exi.ExiDecodeError) as ei:
        dec(V.ISO20_BAD_AUTH_SETUP_RES)
    assert ei.value.message == "AuthorizationSetupRes" and ei.value.bit_offset is not None


@pytest.mark.parametrize("vector", V.VALID, ids=lambda v: f"{v[0]}-{v[1][:20]}")
def test_every_truncation_is_a_declared_error(vector):
    data = V.data(vector)
    for n in range(len(data)):
        with pytest.raises(exi.ExiDecodeError) as ei:
            exi.decode(vector[0], data[:n])
        assert ei.value.protocol == vector[0]
    with pytest.raises(exi.ExiDecodeError, match="after the end"):
        exi.decode(vector[0], data + b"\x00")


@pytest.mark.parametrize("first", [0x00, 0x01, 0x40, 0x81, 0xA0, 0xC0, 0xFF])
def test_header_other_than_0x80_is_rejected(first):
    data = bytes([first]) + V.data(V.DIN_SESSION_SETUP_REQ)[1:]
    with pytest.raises(exi.ExiDecodeError, match="0x80") as ei:
        exi.decode("din", data)
    assert ei.value.bit_offset == 0


def test_wrong_protocol_is_a_declared_error():
    with pytest.raises(exi.ExiDecodeError):
        exi.decode("iso2", V.data(V.DIN_CURRENT_DEMAND_REQ))
    with pytest.raises(ValueError, match="unknown EXI protocol"):
        exi.decode("iso3", b"\x80")


@pytest.mark.parametrize("proto,name,hexdata", V.DIN_SESSION, ids=lambda x: x if isinstance(x, str) and len(x) < 40 else "")
def test_din_session_log(proto, name, hexdata):
    data = bytes.fromhex(hexdata)
    msg = exi.decode(proto, data)
    if proto == "din":
        body = msg["V2G_Message"]["Body"]
        assert list(body) == [name]
        if name != "SessionSetupReq":  # the SECC's session id, the same in every later message
            assert msg["V2G_Message"]["Header"]["SessionID"] == bytes.fromhex("86272FDD6E5896A5")
    else:
        assert list(msg) == [name]
    assert exi.encode(proto, msg) == data


def test_din_session_log_values():
    """No independent decode of this log exists; these are consistency checks between the
    messages (EVRESSSOC the same in CPD and PreCharge, DIN's optional Unit absent)."""
    by_name = {name: exi.decode(p, bytes.fromhex(h)) for p, name, h in V.DIN_SESSION}
    cpd = by_name["ChargeParameterDiscoveryReq"]["V2G_Message"]["Body"]["ChargeParameterDiscoveryReq"]
    assert cpd["EVRequestedEnergyTransferType"] == "DC_extended"
    assert cpd["DC_EVChargeParameter"]["EVMaximumVoltageLimit"] == {"Multiplier": 0, "Value": 398}
    pre = by_name["PreChargeReq"]["V2G_Message"]["Body"]["PreChargeReq"]
    assert pre["DC_EVStatus"] == cpd["DC_EVChargeParameter"]["DC_EVStatus"] == {
        "EVReady": True, "EVErrorCode": "NO_ERROR", "EVRESSSOC": 20}
    assert pre["EVTargetVoltage"] == {"Multiplier": 0, "Value": 230}


def test_iso20_ac_bpt_dynamic_charge_loop_values():
    m = dec(V.ISO20_AC_CHARGE_LOOP_REQ_BPT)["AC_ChargeLoopReq"]
    assert m["Header"] == {"SessionID": bytes.fromhex("18FA54AD259F49B2"), "TimeStamp": 1731974419}
    mode = m["BPT_Dynamic_AC_CLReqControlMode"]
    assert mode["DepartureTime"] == 2000
    assert mode["EVMinimumEnergyRequest"] == {"Exponent": 3, "Value": -20}
    assert mode["EVMaximumChargePower"] == {"Exponent": 3, "Value": 300}
    assert mode["EVMinimumDischargePower"] == {"Exponent": -3, "Value": 1}


def test_iso20_dc_stream_with_two_control_modes_is_rejected():
    with pytest.raises(exi.ExiDecodeError) as ei:
        dec(V.ISO20_DC_CHARGE_LOOP_REQ_TWO_MODES)
    assert ei.value.message == "DC_ChargeLoopReq" and ei.value.bit_offset == 724


SIGNED_INFO = {"SignedInfo": {
    "CanonicalizationMethod": {"Algorithm": "http://www.w3.org/TR/canonical-exi/"},
    "SignatureMethod": {"Algorithm": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"},
    "Reference": [{"URI": "#id1", "Transforms": {"Transform": [{"Algorithm": "http://www.w3.org/TR/canonical-exi/"}]},
                   "DigestMethod": {"Algorithm": "http://www.w3.org/2001/04/xmlenc#sha256"},
                   "DigestValue": bytes(range(32))}]}}


def test_signed_info_fragment_codes():
    """Sheet §1.7: Josev's xmldsig-only SignedInfo fragment starts 80 81 (6-bit code 32); in the
    full -2 fragment grammar SignedInfo is 208 (80 D0); fragments end with the explicit ED."""
    data = exi.encode_fragment("xmldsig", SIGNED_INFO)
    assert data[:2] == b"\x80\x81"
    assert exi.decode_fragment("xmldsig", data) == SIGNED_INFO
    assert exi.encode_fragment("iso2", SIGNED_INFO)[:2] == b"\x80\xd0"
    with pytest.raises(exi.ExiDecodeError):        # a fragment is not a document
        exi.decode("xmldsig", data, any_root=True)


def test_authorization_req_fragment_ends_with_ed_244():
    """Sheet §7 / cbexigen#115: the -2 AuthorizationReq fragment starts 80 04 (code 4 of 8 bits)
    and ends with the 8-bit ED code 244 (n = 243 elements): 25 bytes with a 16-byte GenChallenge."""
    frag = {"AuthorizationReq": {"Id": "id1", "GenChallenge": bytes(16)}}
    data = exi.encode_fragment("iso2", frag)
    assert data[:2] == b"\x80\x04" and len(data) == 25
    bits = int.from_bytes(data, "big")
    used = len(data) * 8 - 1                   # 199 bits used, one padding bit
    assert (bits >> 1) & 0xFF == 244 and used == 199
    assert exi.decode_fragment("iso2", data) == frag
    with pytest.raises(exi.ExiDecodeError):   # without its ED the fragment is truncated
        exi.decode_fragment("iso2", data[:-1])


def test_ambiguous_fragment_element_is_declared_error():
    with pytest.raises(exi.ExiEncodeError, match="ambiguous"):
        exi.encode_fragment("iso2", {"eMAID": {"Id": "a", "value": "DE8AA123"}})
