"""Issue #12 item 10 over Ethernet: `freev2g whitebeet evse` (sim power stage, no --cable-socket)
-> veth -> EVSE emulator <-> virtual_plc socket medium <-> EV emulator -> veth -> a foreign car's
EV host (wb_foreign_car.py: not freev2g's EvController). Four processes in four network
namespaces; the station's sim model follows the module's reports of the car, so its meter and
battery show the energy the foreign car took."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_netns_ethernet import freev2g, wait_for_line
from wb_netns import veth_pair

pytestmark = pytest.mark.netns
EVSE_MAC, EV_MAC = "02:01:01:63:77:33", "02:01:01:63:77:44"
HERE = Path(__file__).parent


def _kill(*procs) -> None:
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("mode,charge_mode", [("DC_extended", "DC"), ("AC_three_phase_core", "AC")])
def test_station_sim_stage_delivers_energy_to_a_foreign_ev_host(tmp_path, mode, charge_mode):
    station = tmp_path / "station.toml"
    station.write_text(textwrap.dedent(f"""
        [evse]
        charge_mode = "{charge_mode}"
        disable_authentication = true
        ac_hlc_enabled = true
        ac_hlc_use_5percent = true
        ac_enforce_hlc = true
        [link]
        name = "whitebeet"
    """))
    medium = str(tmp_path / "cable.sock")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    with veth_pair() as (hns1, hif1, mns1, mif1), veth_pair() as (hns2, hif2, mns2, mif2):
        evse_emu = ev_emu = evse_host = car = None
        try:
            evse_emu = freev2g(mns1, "emulate", "--iface", mif1, "--role", "evse", "--mac", EVSE_MAC,
                               "--medium", medium, "--sessions", "1")
            wait_for_line(evse_emu, "emulating an EVSE module")
            ev_emu = freev2g(mns2, "emulate", "--iface", mif2, "--role", "ev", "--mac", EV_MAC,
                             "--medium", medium, "--sessions", "1")
            wait_for_line(ev_emu, "emulating an EV module")
            evse_host = freev2g(hns1, "evse", "--iface", hif1, "--mac", EVSE_MAC, "--config", str(station),
                                "--sessions", "1")
            wait_for_line(evse_host, "station running")
            car = subprocess.Popen(["ip", "netns", "exec", hns2, sys.executable, str(HERE / "wb_foreign_car.py"),
                                    hif2, EV_MAC, mode], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, env=env)
            car_out, _ = car.communicate(timeout=180)
            assert car.returncode == 0, car_out[-3000:]
            evse_out, _ = evse_host.communicate(timeout=60)
            assert evse_host.returncode == 0, evse_out[-3000:]
            m = re.search(r"meter: imported ([0-9.]+) Wh, battery stored ([0-9.]+) Wh, loss ([0-9.]+) Wh", evse_out)
            assert m, evse_out[-3000:]
            imported_Wh, stored_Wh, loss_Wh = map(float, m.groups())
            assert stored_Wh > 5.0, evse_out[-3000:]  # 0 before: the model's EV contactor never closed
            assert abs(imported_Wh - (stored_Wh + loss_Wh)) < 1.0, (imported_Wh, stored_Wh, loss_Wh)
            for emu in (evse_emu, ev_emu):
                out, _ = emu.communicate(timeout=30)
                assert emu.returncode == 0, out[-3000:]
        finally:
            _kill(evse_emu, ev_emu, evse_host, car)
