"""Both roles over Ethernet: our EVSE host (Station) -> veth -> EVSE emulator <-> virtual_plc socket
medium <-> EV emulator -> veth -> our EV host (EvController), DC and AC; four processes in four
network namespaces the test creates and removes (whitebeet-hci.md 7.2-7.7, 8).

The two hosts share ONE power stage (`--cable-socket`, host/cable.py): the station's sim model
is the cable and its EV side is the EV host's board over a unix socket, so the EV charges to
its target SoC and the EVSE meter's energy matches what the battery stored plus the sim's losses."""
from __future__ import annotations

import re
import textwrap

import pytest

from test_netns_ethernet import freev2g, wait_for_line
from wb_netns import veth_pair

pytestmark = pytest.mark.netns
EVSE_MAC, EV_MAC = "02:01:01:63:77:33", "02:01:01:63:77:44"


def _kill(*procs) -> None:
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("mode,charge_mode", [("DC_extended", "DC"), ("AC_three_phase_core", "AC")])
def test_evse_host_and_ev_host_charge_over_two_emulators(tmp_path, mode, charge_mode):
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
    car = tmp_path / "car.toml"
    car.write_text(textwrap.dedent(f"""
        [ev]
        evcc_id = "02:00:00:00:00:0e"
        protocols = ["iso2", "din"]
        energy_transfer_modes = ["{mode}"]
        [battery]
        capacity_Wh = 20000
        start_soc_pct = 79.5
        target_soc_pct = 80
    """))
    medium = str(tmp_path / "cable.sock")
    power = str(tmp_path / "power.sock")
    with veth_pair() as (hns1, hif1, mns1, mif1), veth_pair() as (hns2, hif2, mns2, mif2):
        evse_emu = ev_emu = evse_host = None
        try:
            evse_emu = freev2g(mns1, "emulate", "--iface", mif1, "--role", "evse", "--mac", EVSE_MAC,
                               "--medium", medium, "--sessions", "1")
            wait_for_line(evse_emu, "emulating an EVSE module")
            ev_emu = freev2g(mns2, "emulate", "--iface", mif2, "--role", "ev", "--mac", EV_MAC,
                             "--medium", medium, "--sessions", "1")
            wait_for_line(ev_emu, "emulating an EV module")
            evse_host = freev2g(hns1, "evse", "--iface", hif1, "--mac", EVSE_MAC, "--config", str(station),
                                "--sessions", "1", "--cable-socket", power)
            wait_for_line(evse_host, "serving the sim cable's EV side")
            ev_host = freev2g(hns2, "ev", "--iface", hif2, "--mac", EV_MAC, "--config", str(car), "--sessions", "1",
                              "--cable-socket", power)
            ev_out, _ = ev_host.communicate(timeout=240)
            assert ev_host.returncode == 0, ev_out[-4000:]
            assert "session 1: started" in ev_out and "finished: StopCause.EV_STOP" in ev_out, ev_out[-3000:]
            soc = float(re.search(r"SoC ([0-9.]+) %\)", ev_out).group(1))
            assert 80.0 <= soc < 80.5, ev_out[-3000:]  # charged to the target, not stopped on a timer
            evse_out, _ = evse_host.communicate(timeout=60)
            assert evse_host.returncode == 0, evse_out[-3000:]
            assert "finished: StopCause.EV_STOP" in evse_out, evse_out[-3000:]
            m = re.search(r"meter: imported ([0-9.]+) Wh, battery stored ([0-9.]+) Wh, loss ([0-9.]+) Wh, "
                          r"SoC ([0-9.]+) %", evse_out)
            assert m, evse_out[-3000:]
            imported_Wh, stored_Wh, loss_Wh, model_soc = map(float, m.groups())
            gained_Wh = (soc - 79.5) / 100.0 * 20_000.0  # what the EV host's battery gained
            assert stored_Wh > 90.0 and abs(stored_Wh - gained_Wh) < 5.0, (stored_Wh, gained_Wh)
            assert abs(imported_Wh - (stored_Wh + loss_Wh)) < 1.0, (imported_Wh, stored_Wh, loss_Wh)
            assert loss_Wh < 0.1 * imported_Wh, (imported_Wh, loss_Wh)  # the sim's losses, no more
            assert abs(model_soc - soc) < 0.05, (model_soc, soc)
            for emu in (evse_emu, ev_emu):
                out, _ = emu.communicate(timeout=30)
                assert emu.returncode == 0, out[-3000:]
        finally:
            _kill(evse_emu, ev_emu, evse_host)


def test_evse_module_restart_mid_session_is_journalled(tmp_path):
    """Kill and restart the EVSE emulator while charging: the station ends the session with
    LINK_LOST and its journal says why; the EV host ends its session too (module session error)."""
    import signal

    from freev2g.journal import Journal

    journal = tmp_path / "journal.sqlite"
    station = tmp_path / "station.toml"
    station.write_text(textwrap.dedent(f"""
        journal = "{journal}"
        [evse]
        charge_mode = "DC"
        disable_authentication = true
        [link]
        name = "whitebeet"
    """))
    car = tmp_path / "car.toml"
    car.write_text('[ev]\nprotocols = ["iso2"]\nenergy_transfer_modes = ["DC_extended"]\n')
    medium = str(tmp_path / "cable.sock")
    emu_args = ("emulate", "--role", "evse", "--mac", EVSE_MAC, "--medium", medium)
    with veth_pair() as (hns1, hif1, mns1, mif1), veth_pair() as (hns2, hif2, mns2, mif2):
        evse_emu = ev_emu = evse_host = ev_host = fresh = None
        try:
            evse_emu = freev2g(mns1, *emu_args, "--iface", mif1)
            wait_for_line(evse_emu, "emulating an EVSE module")
            ev_emu = freev2g(mns2, "emulate", "--iface", mif2, "--role", "ev", "--mac", EV_MAC, "--medium", medium)
            wait_for_line(ev_emu, "emulating an EV module")
            evse_host = freev2g(hns1, "evse", "--iface", hif1, "--mac", EVSE_MAC, "--config", str(station),
                                "--sessions", "1")
            ev_host = freev2g(hns2, "ev", "--iface", hif2, "--mac", EV_MAC, "--config", str(car), "--sessions", "1")
            wait_for_line(evse_host, "PreCharge -> Charging", max_lines=400)
            evse_emu.send_signal(signal.SIGKILL)  # the module resets: all its state is gone
            evse_emu.wait()
            fresh = freev2g(mns1, *emu_args, "--iface", mif1)
            out, _ = evse_host.communicate(timeout=60)
            assert evse_host.returncode == 0, out[-3000:]
            ev_out, _ = ev_host.communicate(timeout=60)
            assert "session 1 finished:" in ev_out and "EV_STOP" not in ev_out.split("session 1 finished:")[1], ev_out[-2000:]
        finally:
            _kill(evse_emu, ev_emu, evse_host, ev_host, fresh)
    [session] = Journal(str(journal)).sessions()
    if session.stop_cause == "link_timeout":  # the EvseManager's charge-loop watch saw the silence first
        assert session.stop_detail == "no charge-loop request for 1000 ms", session.stop_detail
    else:
        assert session.stop_cause == "link_lost", session
        assert "restarted" in session.stop_detail, session.stop_detail  # "module restarted (V2G mode 2 ...)"
