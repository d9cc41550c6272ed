"""Station configuration: TOML -> attrs, errors that name the key path, nothing coerced."""
from __future__ import annotations

import attrs
import pytest

from freev2g.config import (
    EXAMPLE_STATION_TOML,
    ConfigError,
    EvseManagerConfig,
    StationConfig,
    load_station_config,
    parse_station_config,
    unsupported_evse_keys,
)
from freev2g.model import ChargeMode


def write(tmp_path, text):
    p = tmp_path / "station.toml"
    p.write_text(text)
    return p


def test_defaults_are_the_evse_manager_seed_defaults():
    cfg = EvseManagerConfig()
    assert cfg.evse_id == "DE*PNX*E1234567*1"
    assert cfg.evse_id_din == "49A80737A45678"
    assert cfg.max_current_import_A == 32
    assert cfg.charge_mode is ChargeMode.AC
    assert cfg.internal_over_voltage_duration_ms == 400
    assert cfg.state_F_after_fault_ms == 300
    assert cfg.sleep_before_enabling_pwm_hlc_mode_ms == 500
    assert cfg.session_id_type == "UUID"
    assert cfg.cable_check_enable_imd_self_test is True
    assert cfg.sae_j2847_2_bpt_mode == "V2G"


def test_example_parses(tmp_path):
    cfg = load_station_config(write(tmp_path, EXAMPLE_STATION_TOML))
    assert isinstance(cfg, StationConfig)
    assert cfg.evse.charge_mode is ChargeMode.DC
    assert cfg.board.bsp == "sim" and cfg.link.name == "virtual"
    assert cfg.dc.max_power_W == 150000.0


@pytest.mark.parametrize(
    "toml, expected",
    [
        ('[evse]\ncharge_mode = "XX"\n', "evse.charge_mode"),
        ('[evse]\nmax_current_import_A = "32"\n', "evse.max_current_import_A"),
        ("[evse]\ndisable_authentication = 1\n", "evse.disable_authentication"),
        ('[evse]\nsae_j2847_2_bpt_mode = "V2X"\n', "sae_j2847_2_bpt_mode"),
        ("[evse]\nmax_current_import_A = -1.0\n", "max_current_import_A"),
        ("[evse]\nbogus_key = 1\n", "bogus_key"),
        ("[board]\nbsp = 3\n", "board.bsp"),
        ("[dc]\nmax_power_W = true\n", "dc.max_power_W"),
        ('[station]\nid = ["a"]\n', "station.id"),
    ],
)
def test_errors_name_the_key(tmp_path, toml, expected):
    with pytest.raises(ConfigError) as info:
        load_station_config(write(tmp_path, toml))
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_every_error_is_reported_not_just_the_first():
    data = {"evse": {"charge_mode": "XX"}, "board": {"bsp": 3}, "uplinks": {"nope": {}}}
    with pytest.raises(ConfigError) as info:
        parse_station_config(data)
    text = " | ".join(info.value.problems)
    assert "evse.charge_mode" in text and "board.bsp" in text and "uplinks.nope" in text


def test_uplink_sections_are_structured_by_the_plugin_type():
    @attrs.define(kw_only=True)
    class FakeUplinkConfig:
        url: str
        heartbeat_s: int = 60

    ok = parse_station_config({"uplinks": {"x": {"url": "ws://h"}}}, uplink_types={"x": FakeUplinkConfig})
    assert ok.uplinks["x"] == FakeUplinkConfig(url="ws://h")
    with pytest.raises(ConfigError) as info:
        parse_station_config({"uplinks": {"x": {"heartbeat_s": "soon"}}}, uplink_types={"x": FakeUplinkConfig})
    assert any(p.startswith("uplinks.x") for p in info.value.problems), info.value.problems


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_station_config(write(tmp_path, "[evse\n"))
    with pytest.raises(ConfigError, match="file not found"):
        load_station_config(tmp_path / "nope.toml")


def test_unsupported_keys_are_accepted_and_listed():
    data = {"evse": {"hack_skoda_enyaq": True, "max_current_import_A": 16.0}}
    parse_station_config(data)
    assert unsupported_evse_keys(data) == ["hack_skoda_enyaq"]
