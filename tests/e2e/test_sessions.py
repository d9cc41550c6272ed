"""Every protocol x mode combination completes end to end (real Station, virtual_plc link,
sim board), with energy in the journal and power off at the end."""
from __future__ import annotations

import pytest

from freev2g.ev.config import BatteryConfig, BptLimits, EvConfig
from freev2g.model import Protocol

COMBOS = [
    (Protocol.DIN70121, "dc"),
    (Protocol.ISO15118_2, "ac"),
    (Protocol.ISO15118_2, "dc"),
    (Protocol.ISO15118_20, "ac"),
    (Protocol.ISO15118_20, "dc"),
    (Protocol.ISO15118_20, "dc_bpt"),
]


def assert_power_off(out):
    m = out.sim.model
    assert not m.evse_contactor and not m.ev_contactor, "a contactor is still closed"
    assert abs(m.psu_current_A) < 0.5 and m.ac_current_A == 0.0


@pytest.mark.parametrize("protocol, mode", COMBOS, ids=[f"{p.value}-{m}" for p, m in COMBOS])
def test_combination_completes(run_sim, protocol, mode):
    car = None
    if mode == "dc_bpt":  # V2G: discharge from 22 % to the 20 % minimum
        car = EvConfig(battery=BatteryConfig(start_soc_pct=22.0, target_soc_pct=80.0, min_soc_pct=20.0),
                       bpt=BptLimits(discharge=True))
    kw = {"ev_config": car} if car else {}
    out = run_sim(protocol=protocol, mode=mode, **kw)
    r = out.result
    assert r.ok, r.scenario_error
    session = out.finished()
    assert session is not None and session.protocol == protocol.value
    assert session.stop_cause == r.stop_cause and r.stop_cause is not None
    if mode == "dc_bpt":
        assert r.energy_export_Wh > 0 and r.end_soc_pct < r.start_soc_pct
    else:
        assert r.energy_Wh > 0 and r.end_soc_pct >= 80.0 - 0.5
        assert session.energy_import_Wh == pytest.approx(r.energy_Wh)
    assert_power_off(out)


def test_scale_values_reach_the_journal(run_sim):
    out = run_sim(protocol=Protocol.ISO15118_2, mode="dc", scale=True)
    session = out.finished()
    needs = [rec for rec in out.journal.events(session.session_id) if rec.kind == "EVNeedsReceived"]
    assert needs, "no EVNeedsReceived in the journal"
    scale = needs[0].to_event().dc.scale
    assert scale is not None
    assert scale.ev_min_soc_pct == 20.0 and scale.ev_max_soc_pct == 100.0
    assert scale.ev_max_energy_request_Wh == pytest.approx(0.22 * 50_000, rel=0.01)
    assert scale.round_trip_efficiency_pct == 90.0


def test_freev2g_ev_json_drives_a_session(run_sim, tmp_path):
    import json

    from freev2g.ev.config import load_ev_config

    doc = {"mac": "00:01:01:63:77:31",
           "ev": {"evid": "00:01:01:63:77:31", "protocol_count": 2, "protocols": [0, 1], "payment_method_count": 1,
                  "payment_method": [0], "energy_transfer_mode_count": 2, "energy_transfer_mode": [1, 4]},
           "battery": {"timestep": 10000, "capacity": 50000, "level": 46500, "full_soc": 95, "bulk_soc": 80,
                       "max_current": 100, "max_power": 40000, "max_voltage": 300, "target_current": 40,
                       "target_voltage": 200, "target_voltage_delta": 10, "max_current_AC": 0,
                       "max_voltage_AC": 0, "min_current_AC": 0}}
    path = tmp_path / "ev.json"
    path.write_text(json.dumps(doc))
    out = run_sim(protocol=Protocol.ISO15118_2, mode="dc", ev_config=load_ev_config(path))
    assert out.result.ok, out.result.scenario_error
    assert out.result.energy_Wh > 0 and out.finished().ev_id
