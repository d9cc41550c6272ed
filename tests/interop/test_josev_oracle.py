"""The public EXI vectors of ../shared/spec/exi.md §5 (listed in §8.5) decoded by Josev's own codec
(EXIficient in Java, through tests/interop/josev_exi.py), checked against the values the sheet
gives, and re-encoded by Josev byte-identical. Nothing is faked: a real JVM runs Josev's jar."""
from __future__ import annotations

import pytest

from josev_oracle import JosevExiError

pytestmark = pytest.mark.interop


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# §5.1, pyPLC DemoExiLog.txt line 26
SAP_REQ_DIN = h("80 00 DB AB 93 71 D3 23 4B 71 D1 B9 81 89 91 89 D1 91 81 89 91 D2 6B 9B 3A 23 2B 30 02 00 00 04 00 40")
# §5.1, libcbv2g app_handshake.cpp
SAP_RES = h("80 40 00 40")
# §5.2, pyPLC RawExiLog.txt line 1 (payload only)
DIN_CURRENT_DEMAND_REQ = h("80 9A 02 03 AF 96 E3 5A 4F B8 DE 50 D1 40 12 40 C0 C0 B4 60 01 81 05 80 48 0C 08 36 01 00 C1 43 34 08 00")
# §5.3, ecog-io/iso15118#197
ISO2_SESSION_SETUP_RES = h("80 98 02 0C 0C 4C 8C CD 0D 4D 8D D1 E0 00 39 19 49 04 C8 CD 14 D0 D5 08 DC E1 0C 80")
# §5.3, ecog-io/iso15118#242: valid EXI, but control characters Josev's XML path cannot hold
ISO2_SESSION_SETUP_RES_CTRL = h("80 98 00 40 11 E0 00 28 04 08 0C 10 14 18 1C 20 12 B3 5D E7 40")
# §5.4, libcbv2g tests/din/session_setup.cpp
DIN_SESSION_SETUP_REQ = h("80 9A 02 00 00 00 00 00 00 00 00 11 D0 1A 12 1D C9 83 CD 60 00")
# §5.5, libcbv2g tests/iso20/dc_charge_loop.cpp
ISO20_DC_CHARGE_LOOP_REQ = h("80 34 04 2D 16 6F 29 FB 80 EA 56 0A EB DB FB 30 62 81 00 12 00 61 64 00 0A 02 00 24 00 C8 00")


def pv(multiplier: int, unit: str, value: int) -> dict:
    return {"Multiplier": multiplier, "Unit": unit, "Value": value}


def test_sap_req_din(josev_exi):
    msg = josev_exi.decode("sap", SAP_REQ_DIN)
    assert msg == {"supportedAppProtocolReq": {"AppProtocol": [{
        "ProtocolNamespace": "urn:din:70121:2012:MsgDef", "VersionNumberMajor": 2,
        "VersionNumberMinor": 0, "SchemaID": 1, "Priority": 1}]}}
    assert josev_exi.encode("sap", msg) == SAP_REQ_DIN


def test_sap_res(josev_exi):
    msg = josev_exi.decode("sap", SAP_RES)
    assert msg == {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}
    assert josev_exi.encode("sap", msg) == SAP_RES


def test_din_current_demand_req(josev_exi):
    msg = josev_exi.decode("din", DIN_CURRENT_DEMAND_REQ)
    v2g = msg["V2G_Message"]
    assert v2g["Header"] == {"SessionID": "0EBE5B8D693EE379"}
    cd = v2g["Body"]["CurrentDemandReq"]
    assert cd["DC_EVStatus"] == {"EVReady": True, "EVErrorCode": "NO_ERROR", "EVRESSSOC": 73}
    assert cd["EVTargetCurrent"] == pv(0, "A", 45)
    assert cd["BulkChargingComplete"] is False and cd["ChargingComplete"] is False
    assert cd["RemainingTimeToFullSoC"] == pv(0, "s", 1200)
    assert cd["RemainingTimeToBulkSoC"] == pv(0, "s", 600)
    assert cd["EVTargetVoltage"] == pv(0, "V", 333)
    assert "EVMaximumVoltageLimit" not in cd and "EVMaximumCurrentLimit" not in cd
    assert josev_exi.encode("din", msg) == DIN_CURRENT_DEMAND_REQ


def test_din_session_setup_req(josev_exi):
    msg = josev_exi.decode("din", DIN_SESSION_SETUP_REQ)
    assert msg == {"V2G_Message": {"Header": {"SessionID": "0000000000000000"},
                                   "Body": {"SessionSetupReq": {"EVCCID": "84877260F358"}}}}
    assert josev_exi.encode("din", msg) == DIN_SESSION_SETUP_REQ


def test_iso2_session_setup_res(josev_exi):
    msg = josev_exi.decode("iso2", ISO2_SESSION_SETUP_RES)
    assert msg == {"V2G_Message": {"Header": {"SessionID": "3031323334353637"},
                                   "Body": {"SessionSetupRes": {"ResponseCode": "OK", "EVSEID": "FRA23E45B78C"}}}}
    assert josev_exi.encode("iso2", msg) == ISO2_SESSION_SETUP_RES


def test_iso2_control_characters_rejected_by_josev(josev_exi):
    """§5.3: valid EXI that Josev's XML-based decoder cannot represent (a known Josev limit)."""
    with pytest.raises(JosevExiError):
        josev_exi.decode("iso2", ISO2_SESSION_SETUP_RES_CTRL)


def test_iso20_dc_charge_loop_req(josev_exi):
    msg = josev_exi.decode("iso20-dc", ISO20_DC_CHARGE_LOOP_REQ)
    assert msg == {"DC_ChargeLoopReq": {
        "Header": {"SessionID": "5A2CDE53F701D4AC", "TimeStamp": 1718607534},
        "MeterInfoRequested": False,
        "EVPresentVoltage": {"Exponent": 0, "Value": 400},
        "BPT_Scheduled_DC_CLReqControlMode": {
            "EVTargetCurrent": {"Exponent": 0, "Value": 20},
            "EVTargetVoltage": {"Exponent": 0, "Value": 400}}}}
    assert josev_exi.encode("iso20-dc", msg) == ISO20_DC_CHARGE_LOOP_REQ


def test_wrong_grammar_and_truncation_are_errors(josev_exi):
    with pytest.raises(JosevExiError, match="decode"):
        josev_exi.decode("iso2", DIN_CURRENT_DEMAND_REQ[:10])
    with pytest.raises(JosevExiError, match="unknown namespace"):
        josev_exi.decode("iso15118-9", SAP_RES)
    with pytest.raises(JosevExiError, match="encode"):
        josev_exi.encode("din", {"NoSuchMessage": {}})
