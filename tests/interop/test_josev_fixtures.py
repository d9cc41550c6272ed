"""The captured Josev messages (tests/interop/fixtures/josev_*.json, made by capture_fixtures.py
from live Josev sessions) are what the codec's byte-identical re-encode test uses: here Josev's
own codec (the oracle) decodes each to the stored JSON and re-encodes it to the same bytes, and
the set covers every namespace those sessions use."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

FIXTURES = sorted(Path(__file__).with_name("fixtures").glob("josev_*.json"))


def load(path: Path) -> list[dict]:
    return json.loads(path.read_text())["messages"]


def test_fixtures_cover_the_session_namespaces():
    protocols = {m["protocol"] for f in FIXTURES for m in load(f)}
    assert protocols >= {"sap", "din", "iso2", "iso20-common", "iso20-dc", "iso20-ac"}
    names = {m["name"] for f in FIXTURES for m in load(f)}
    assert {"CurrentDemandReq", "CurrentDemandRes", "DC_ChargeLoopReq", "AC_ChargeLoopReq", "ChargingStatusReq"} <= names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_josev_decodes_and_reencodes_fixture(josev_exi, path):
    for m in load(path):
        exi = bytes.fromhex(m["exi"])
        assert josev_exi.decode(m["protocol"], exi) == m["json"], f"{path.name}: {m['name']}"
        assert josev_exi.encode(m["protocol"], m["json"]) == exi, f"{path.name}: {m['name']}"
