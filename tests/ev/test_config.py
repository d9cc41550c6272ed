"""car.toml and FreeV2G ev.json as EV configurations (seed 004, whitebeet-hci.md 4.2 / 5.7)."""
from __future__ import annotations

import json

import pytest

from freev2g.config import ConfigError
from freev2g.ev.config import EXAMPLE_CAR_TOML, EvConfig, load_ev_config, parse_car_config
from freev2g.ev.evjson import parse_ev_json
from freev2g.model import EnergyTransferMode, PaymentOption, Protocol

# The sample shipped with FreeV2G (values as published; our own copy of the data, not code).
FREEV2G_SAMPLE = {
    "mac": "00:01:01:63:77:31",
    "ev": {
        "evid": "00:01:01:63:77:31",
        "protocol_count": 2,
        "protocols": [0, 1],
        "payment_method_count": 1,
        "payment_method": [0],
        "energy_transfer_mode_count": 2,
        "energy_transfer_mode": [1, 4],
    },
    "battery": {
        "timestep": 10000, "capacity": 50000, "level": 45000, "full_soc": 100, "bulk_soc": 80,
        "max_current": 200, "max_power": 60000, "max_voltage": 300, "target_current": 80,
        "target_voltage": 200, "target_voltage_delta": 10, "max_current_AC": 0,
        "max_voltage_AC": 0, "min_current_AC": 0,
    },
}


def test_example_car_toml_parses(tmp_path):
    path = tmp_path / "car.toml"
    path.write_text(EXAMPLE_CAR_TOML)
    cfg = load_ev_config(path)
    assert cfg.ev.protocols == [Protocol.ISO15118_20, Protocol.ISO15118_2, Protocol.DIN70121]
    assert cfg.battery.capacity_Wh == 50_000 and cfg.ac.phases == 3


@pytest.mark.parametrize(
    "doc, needle",
    [
        ({"battery": {"start_soc_pct": 150}}, "start_soc_pct must be within 0..100"),
        ({"battery": {"min_soc_pct": 90}}, "min_soc_pct 90.0 exceeds target_soc_pct"),
        ({"ev": {"protocols": ["iso9"]}}, "ev.protocols[0]"),
        ({"ac": {"phases": 2}}, "phases must be 1 or 3"),
        ({"wheels": 4}, "wheels"),
    ],
)
def test_car_toml_errors_name_the_key(doc, needle):
    with pytest.raises(ConfigError) as info:
        parse_car_config(doc, source="car.toml")
    assert needle in str(info.value) and str(info.value).startswith("car.toml")


def test_freev2g_ev_json_is_accepted(tmp_path):
    path = tmp_path / "ev.json"
    path.write_text(json.dumps(FREEV2G_SAMPLE))
    cfg = load_ev_config(path)
    assert isinstance(cfg, EvConfig)
    assert cfg.ev.evcc_id == "00:01:01:63:77:31" and cfg.mac == "00:01:01:63:77:31"
    assert cfg.ev.protocols == [Protocol.DIN70121, Protocol.ISO15118_2]
    assert cfg.ev.payment is PaymentOption.EXTERNAL_PAYMENT
    assert cfg.ev.energy_transfer_modes == [EnergyTransferMode.DC_EXTENDED, EnergyTransferMode.AC_SINGLE_PHASE_CORE]
    assert cfg.battery.capacity_Wh == 50_000 and cfg.battery.start_soc_pct == 90.0
    assert cfg.battery.target_soc_pct == 100 and cfg.battery.bulk_soc_pct == 80
    assert (cfg.dc.max_current_A, cfg.dc.max_voltage_V, cfg.dc.max_power_W) == (200, 300, 60_000)
    assert (cfg.dc.target_current_A, cfg.dc.target_voltage_V) == (80, 200)
    assert cfg.quirks.precharge_tolerance_V == 10
    assert cfg.ac.phases == 1 and cfg.ac.max_current_A == 32.0  # 0 = unset, default kept


@pytest.mark.parametrize(
    "patch, needle",
    [
        ({"ev": {"protocols": [0, 7], "protocol_count": 2}}, "ev.protocols[1]: unknown code 7"),
        ({"ev": {"protocols": [0], "protocol_count": 2}}, "ev.protocol_count: says 2 but protocols has 1"),
        ({"battery": {"capacity": "big"}}, "battery.capacity: must be a number"),
        ({"battery": {"level": 60000}}, "battery.level: 60000 Wh exceeds capacity 50000 Wh"),
        ({"battery": {"full_soc": 120}}, "battery.full_soc: must be within 0..100"),
        ({"battery": {"colour": "red"}}, "battery.colour: unknown key"),
    ],
)
def test_ev_json_errors_name_the_key(patch, needle):
    doc = json.loads(json.dumps(FREEV2G_SAMPLE))
    for section, values in patch.items():
        doc[section].update(values)
    with pytest.raises(ConfigError) as info:
        parse_ev_json(doc, source="ev.json")
    assert needle in str(info.value)


def test_ev_json_not_json(tmp_path):
    path = tmp_path / "ev.json"
    path.write_text("{ nope")
    with pytest.raises(ConfigError, match="not valid JSON: line 1"):
        load_ev_config(path)
