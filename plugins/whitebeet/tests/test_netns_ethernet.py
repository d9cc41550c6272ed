"""End to end over Ethernet: the emulator and the host in separate processes, in two network
namespaces joined by a veth pair (whitebeet-hci.md 1.2, 7.2, 8.6)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from wb_netns import veth_pair

pytestmark = pytest.mark.netns
MAC = "02:01:01:63:77:33"


def freev2g(ns: str, *args: str, **kw) -> subprocess.Popen:
    # -v for the hosts; not for an emulator: its -v logs every frame, and nobody reads the pipe
    # while a session runs (a full pipe would block it)
    verbose = [] if args[:1] == ("emulate",) else ["-v"]
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "freev2g.cli", *verbose, "whitebeet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def wait_for_line(proc: subprocess.Popen, text: str, max_lines: int = 200) -> list[str]:
    """Read the process's output until a line containing `text` (it announces readiness)."""
    seen = []
    for _ in range(max_lines):
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never appeared; output: {''.join(seen)[-2000:]}")


def test_station_charges_against_emulator_over_veth(tmp_path):
    cfg = tmp_path / "station.toml"
    cfg.write_text(textwrap.dedent("""
        [evse]
        charge_mode = "DC"
        disable_authentication = true
        [link]
        name = "whitebeet"
    """))
    with veth_pair() as (hns, hif, mns, mif):
        emu = freev2g(mns, "emulate", "--iface", mif, "--role", "evse", "--mac", MAC, "--sessions", "1")
        try:
            wait_for_line(emu, "emulating an EVSE module")  # its socket is open: no start-up race
            info = subprocess.run(["ip", "netns", "exec", hns, sys.executable, "-m", "freev2g.cli", "whitebeet", "info",
                                   "--iface", hif, "--timeout", "5"], capture_output=True, text=True, timeout=60)
            assert "firmware: 1.2.0.0" in info.stdout, info.stdout + info.stderr
            assert f"mac: {MAC}" in info.stdout  # discovered by broadcast Get MAC address
            host = freev2g(hns, "evse", "--iface", hif, "--mac", MAC, "--config", str(cfg), "--sessions", "1")
            out, _ = host.communicate(timeout=120)
            assert host.returncode == 0, out
            assert "Charging" in out and "finished: StopCause.EV_STOP" in out, out[-3000:]
            emu_out, _ = emu.communicate(timeout=30)
            assert emu.returncode == 0, emu_out
        finally:
            for p in (emu,):
                if p.poll() is None:
                    p.kill()
                    p.wait()


def test_capture_writes_pcap(tmp_path):
    pcap = tmp_path / "hci.pcap"
    with veth_pair() as (hns, hif, mns, mif):
        emu = freev2g(mns, "emulate", "--iface", mif, "--role", "evse", "--mac", MAC)
        cap = freev2g(hns, "capture", "--iface", hif, "--pcap", str(pcap), "--count", "2")
        try:
            import time

            for _ in range(50):  # the capture socket needs a moment before the query goes out
                info = subprocess.run(["ip", "netns", "exec", hns, sys.executable, "-m", "freev2g.cli", "whitebeet",
                                       "info", "--iface", hif, "--mac", MAC, "--timeout", "5"],
                                      capture_output=True, text=True, timeout=60)
                if cap.poll() is not None:
                    break
                time.sleep(0.1)
            out, _ = cap.communicate(timeout=30)
            assert "system.get_firmware_version" in out, out
            from scapy.utils import rdpcap

            from freev2g_whitebeet.transport.scapy_layer import WhitebeetHci

            packets = rdpcap(str(pcap))
            assert len(packets) == 2 and packets[0].haslayer(WhitebeetHci)
            assert packets[0][WhitebeetHci].frame[:2] == b"\xc0\x10"
        finally:
            for p in (emu, cap):
                if p.poll() is None:
                    p.kill()
                    p.wait()
