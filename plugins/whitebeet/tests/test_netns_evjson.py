"""`freev2g whitebeet ev` finds FreeV2G's ./ev.json when no --config is given and talks to the
module named by its `mac` when --mac is not (issue #12 item 12; seed 004 "defaults to ./ev.json").
The module is the EV emulator over veth; its -v frame log shows which frames reached it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from test_netns_emulate import _kill, _spawn, _stderr
from test_netns_ethernet import wait_for_line
from wb_netns import veth_pair

EV_MAC = "02:01:01:63:77:31"  # not the default EV MAC: only ev.json names it

EV_JSON = {
    "mac": EV_MAC,
    "ev": {"evid": "020101637730", "protocols": [1], "protocol_count": 1, "payment_method": [0],
           "payment_method_count": 1, "energy_transfer_mode": [0], "energy_transfer_mode_count": 1},
    "battery": {"capacity": 40000, "level": 20000, "full_soc": 80, "bulk_soc": 70, "max_current": 100,
                "max_voltage": 450, "max_power": 40000, "target_current": 50, "target_voltage": 400},
}


@pytest.mark.netns
def test_ev_json_in_the_working_directory_and_its_mac(tmp_path):
    (tmp_path / "ev.json").write_text(json.dumps(EV_JSON))
    medium = str(tmp_path / "cable.sock")
    with veth_pair() as (hns1, hif1, mns1, mif1), veth_pair() as (hns2, hif2, mns2, mif2):
        evse_emu = ev_emu = None
        try:
            evse_emu, _ = _spawn(mns1, tmp_path, "evse", "whitebeet", "emulate", "--iface", mif1, "--role", "evse",
                                 "--medium", medium)
            wait_for_line(evse_emu, "emulating an EVSE module")
            ev_emu, ev_err = _spawn(mns2, tmp_path, "ev", "-v", "whitebeet", "emulate", "--iface", mif2, "--role", "ev",
                                    "--mac", EV_MAC, "--medium", medium)
            wait_for_line(ev_emu, "emulating an EV module")
            host = subprocess.run(["ip", "netns", "exec", hns2, sys.executable, "-m", "freev2g.cli", "whitebeet", "ev",
                                   "--iface", hif2, "--sessions", "0"],
                                  cwd=tmp_path, capture_output=True, text=True, timeout=60)
            assert host.returncode == 0, host.stdout + host.stderr[-2000:]
            assert "config: ./ev.json (no --config given)" in host.stdout, host.stdout
            assert f"module {EV_MAC} (mac of ./ev.json)" in host.stdout, host.stdout
            assert "EV running on" in host.stdout and "firmware 1.2.0.0" in host.stdout, host.stdout
            log = _stderr(ev_err)
            assert "<- system.get_firmware_version" in log, log[-2000:]  # the module at ev.json's mac answered
            assert "system.get_mac_address" not in log, log[-2000:]  # no discovery broadcast: the mac was used
        finally:
            _kill(evse_emu, ev_emu)


def test_no_config_and_no_ev_json_is_one_line(tmp_path, monkeypatch):
    from freev2g_whitebeet.cli import whitebeet_group

    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(whitebeet_group, ["ev", "--iface", "lo"])
    assert out.exit_code == 2, out.output
    assert "no --config given and no ./ev.json in" in out.output and "Traceback" not in out.output, out.output


def test_a_bad_mac_in_ev_json_names_the_file(tmp_path, monkeypatch):
    from freev2g_whitebeet.cli import whitebeet_group

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ev.json").write_text(json.dumps({**EV_JSON, "mac": "02:01:zz"}))
    out = CliRunner().invoke(whitebeet_group, ["ev", "--iface", "lo"])
    assert out.exit_code == 2, out.output
    assert "./ev.json: mac: MAC address '02:01:zz' is not of the form" in out.output, out.output
