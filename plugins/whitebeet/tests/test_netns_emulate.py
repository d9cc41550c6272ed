"""`freev2g whitebeet emulate` as a process over veth (issue #12 items 4-7; whitebeet-hci.md 1.2,
8.1): it answers every command until the host is done (quiet for --quiet-s after the last
session), shuts down cleanly on SIGTERM and at the end of --sessions, defaults its MAC by role,
takes the scripted EV's mode and DC targets as options, and -v logs every frame decoded."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from test_netns_ethernet import wait_for_line
from wb_netns import veth_pair

pytestmark = pytest.mark.netns
EVSE_MAC = "02:01:01:63:77:33"

# A host that keeps asking after its last session, 1 s apart (the shutdown polling of the issue).
POLLING_HOST = textwrap.dedent("""
    import asyncio, sys
    from freev2g.clock import Clock
    from freev2g_whitebeet.client import ClientConfig, HciClient
    from freev2g_whitebeet.transport.ethernet import EthernetTransport, mac_bytes

    async def main(iface, mac, count):
        client = HciClient(EthernetTransport(iface, peer_mac=mac_bytes(mac)), clock=Clock(),
                           config=ClientConfig(response_timeout_s=2.0, timeout_retries=0))
        await client.start()
        answered = 0
        try:
            for _ in range(count):
                await client.call("v2g.get_mode")
                answered += 1
                print("answered", answered, flush=True)
                await asyncio.sleep(1.0)
        finally:
            await client.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
""")


def _spawn(ns: str, tmp_path, name: str, *args: str) -> tuple[subprocess.Popen, object]:
    """The CLI in `ns`; stdout piped (readiness lines), stderr to a file (logs, tracebacks)."""
    err = open(tmp_path / f"{name}.err", "w+")
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "freev2g.cli", *args],
                            stdout=subprocess.PIPE, stderr=err, text=True)
    return proc, err


def _stderr(err) -> str:
    err.flush()
    err.seek(0)
    return err.read()


def _kill(*procs) -> None:
    for p in procs:
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()


def test_answers_the_host_until_it_is_quiet_then_exits_cleanly(tmp_path):
    cfg = tmp_path / "station.toml"
    cfg.write_text('[evse]\ncharge_mode = "DC"\ndisable_authentication = true\n[link]\nname = "whitebeet"\n')
    with veth_pair() as (hns, hif, mns, mif):
        emu = host = None
        try:
            emu, emu_err = _spawn(mns, tmp_path, "emu", "-v", "whitebeet", "emulate", "--iface", mif, "--role", "evse",
                                  "--mac", EVSE_MAC, "--sessions", "1", "--quiet-s", "8", "--ev-mode", "DC_core",
                                  "--ev-target-voltage", "350", "--ev-target-current", "30")
            wait_for_line(emu, "emulating an EVSE module")
            host, host_err = _spawn(hns, tmp_path, "host", "whitebeet", "evse", "--iface", hif, "--mac", EVSE_MAC,
                                    "--config", str(cfg), "--sessions", "1")
            out, _ = host.communicate(timeout=180)
            assert host.returncode == 0, out[-2000:] + _stderr(host_err)[-2000:]
            assert "finished: StopCause.EV_STOP" in out, out[-2000:]
            # after the last session the host (here a second one) still asks, 1 s apart
            poll = subprocess.run(["ip", "netns", "exec", hns, sys.executable, "-c", POLLING_HOST, hif, EVSE_MAC, "4"],
                                  capture_output=True, text=True, timeout=120)
            assert poll.returncode == 0 and "answered 4" in poll.stdout, poll.stdout + poll.stderr[-2000:]
            assert emu.poll() is None  # quiet for less than --quiet-s: still there
            emu_out, _ = emu.communicate(timeout=60)
            log = _stderr(emu_err)
            assert emu.returncode == 0, emu_out + log[-3000:]
            assert "emulator done: 1 session(s), host quiet" in emu_out, emu_out
            assert "Traceback" not in log and "CancelledError" not in log, log[-3000:]
            assert "Unable to guess type" not in log, log[:2000]  # item 7: no scapy warning on start
            # -v: every frame decoded, by name with module/sub-id/request id and field names
            assert re.search(r"<- v2g\.evse\.set_configuration \(0x27/0x60 rid 0x[0-9A-F]{2}\) .*evse_id_iso=", log), log[-3000:]
            assert re.search(r"-> v2g\.get_mode answer \(0x27/0x41 rid 0x[0-9A-F]{2}\) result 0x00 mode=\d", log), log[-3000:]
            # the scripted EV's options: DC_core (HCI mode 0) and its DC targets
            assert re.search(r"-> v2g\.evse\.energy_transfer_mode_selected .*\bmode=0\b", log), log[-3000:]
            assert re.search(r"-> v2g\.evse\.dc_parameters_changed .*target_voltage_V=350\.0, target_current_A=30\.0",
                             log), log[-3000:]
        finally:
            _kill(emu, host)


def test_sigterm_with_a_connected_medium_is_clean_and_ev_mac_defaults_to_the_ev_module(tmp_path):
    medium = str(tmp_path / "cable.sock")
    with veth_pair() as (hns1, hif1, mns1, mif1), veth_pair() as (hns2, hif2, mns2, mif2):
        evse_emu = ev_emu = None
        try:
            evse_emu, evse_err = _spawn(mns1, tmp_path, "evse", "whitebeet", "emulate", "--iface", mif1, "--role",
                                        "evse", "--mac", EVSE_MAC, "--medium", medium)
            wait_for_line(evse_emu, "emulating an EVSE module")
            ev_emu, ev_err = _spawn(mns2, tmp_path, "ev", "whitebeet", "emulate", "--iface", mif2, "--role", "ev",
                                    "--medium", medium)
            ready = wait_for_line(ev_emu, "emulating an EV module")
            assert "emulating an EV module 00:01:01:63:77:31" in ready[-1], ready  # 1.2: the EV module's MAC
            info = subprocess.run(["ip", "netns", "exec", hns2, sys.executable, "-m", "freev2g.cli", "whitebeet", "info",
                                   "--iface", hif2, "--mac", "00:01:01:63:77:31", "--timeout", "5"],
                                  capture_output=True, text=True, timeout=60)
            assert "firmware: 1.2.0.0" in info.stdout, info.stdout + info.stderr
            time.sleep(0.5)  # the EV emulator's medium connection is up (it connected before printing)
            for proc, err in ((evse_emu, evse_err), (ev_emu, ev_err)):
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=30)
                log = _stderr(err)
                assert proc.returncode == 0, log[-3000:]
                assert "Traceback" not in log and "CancelledError" not in log, log[-3000:]
                assert "Unable to guess type" not in log, log[-2000:]
        finally:
            _kill(evse_emu, ev_emu)
