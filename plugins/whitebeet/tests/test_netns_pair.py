"""Both roles over Ethernet: our EVSE host (Station) -> veth -> EVSE emulator <-> virtual_plc socket
medium <-> EV emulator -> veth -> our EV host (EvController), DC and AC; four processes in four
network namespaces the test creates and removes (whitebeet-hci.md 7.2-7.7, 8).

The station's sim power stage has no EV load behind the modules (its sim model's EV side is not
our EV), so no current flows here and the EV stops after 3 s of charging instead of at its target
SoC; the in-memory pair test (test_pair_memory.py) charges to the target SoC."""
from __future__ import annotations

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
        start_soc_pct = 78
        target_soc_pct = 80
    """))
    medium = str(tmp_path / "cable.sock")
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
                                "--sessions", "1")
            ev_host = freev2g(hns2, "ev", "--iface", hif2, "--mac", EV_MAC, "--config", str(car), "--sessions", "1",
                              "--stop-after-s", "3")
            ev_out, _ = ev_host.communicate(timeout=150)
            assert ev_host.returncode == 0, ev_out[-4000:]
            assert "session 1: started" in ev_out and "finished: StopCause.EV_STOP" in ev_out, ev_out[-3000:]
            assert "stopping after 3 s of charging" in ev_out, ev_out[-3000:]
            evse_out, _ = evse_host.communicate(timeout=60)
            assert evse_host.returncode == 0, evse_out[-3000:]
            assert "finished: StopCause.EV_STOP" in evse_out, evse_out[-3000:]
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
    assert session.stop_cause == "link_lost", session
    assert "restarted" in session.stop_detail, session.stop_detail  # "module restarted (V2G mode 2 ...)"
