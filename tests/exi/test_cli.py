"""`freev2g exi decode|encode` through the real CLI (click runner; real codec and files)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from freev2g.cli import make_cli

DIN_SETUP = "80 9A 02 00 00 00 00 00 00 00 00 11 D0 1A 12 1D C9 83 CD 60 00"


def run(*args, input=None):
    return CliRunner().invoke(make_cli(), list(args), input=input)


def test_decode_hex_then_encode_json_file(tmp_path):
    r = run("exi", "decode", "--protocol", "din", DIN_SETUP)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["V2G_Message"]["Body"]["SessionSetupReq"]["EVCCID"] == "84877260F358"
    f = tmp_path / "m.json"
    f.write_text(r.output)
    r2 = run("exi", "encode", "--protocol", "din", str(f))
    assert r2.exit_code == 0, r2.output
    assert r2.output.strip() == DIN_SETUP.replace(" ", "")


def test_decode_binary_file_with_v2gtp_header(tmp_path):
    payload = bytes.fromhex(DIN_SETUP)
    f = tmp_path / "frame.bin"
    f.write_bytes(bytes.fromhex("01FE8001") + len(payload).to_bytes(4, "big") + payload)
    r = run("exi", "decode", "-p", "din", "--compact", str(f))
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["V2G_Message"]["Header"]["SessionID"] == "00" * 8


def test_encode_to_output_file(tmp_path):
    out = tmp_path / "m.exi"
    doc = {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}
    r = run("exi", "encode", "-p", "sap", "-o", str(out), "-", input=json.dumps(doc))
    assert r.exit_code == 0, r.output
    assert out.read_bytes() == bytes.fromhex("80400040")


def test_user_mistakes_are_clear_errors_without_traceback(tmp_path):
    r = run("exi", "decode", "-p", "iso2", "80 9A 02 00")
    assert r.exit_code == 1 and "truncated" in r.output and "bit" in r.output
    assert "Traceback" not in r.output
    r = run("exi", "decode", "-p", "din", "not-hex")
    assert r.exit_code == 2 and "neither a readable file nor hex" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"supportedAppProtocolRes": {"ResponseCode": "Maybe"}}')
    r = run("exi", "encode", "-p", "sap", str(bad))
    assert r.exit_code == 1 and "not one of" in r.output and "ResponseCode" in r.output
    bad.write_text("{nope")
    r = run("exi", "encode", "-p", "sap", str(bad))
    assert r.exit_code == 1 and "not JSON" in r.output
    r = run("exi", "decode", "-p", "iso3", DIN_SETUP)
    assert r.exit_code == 2
