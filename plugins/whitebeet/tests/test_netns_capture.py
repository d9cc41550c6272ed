"""`freev2g whitebeet capture` on the host's own interface (issue #12 item 8; whitebeet-hci.md
1.2, 2.5): it shows both directions, tells responses from commands and prints field names and
values. The capture runs in the host's namespace while a host there talks to an emulator over
veth."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from test_netns_ethernet import freev2g, wait_for_line
from wb_netns import veth_pair

pytestmark = pytest.mark.netns
MAC = "02:01:01:63:77:33"

HOST = textwrap.dedent("""
    import asyncio, sys
    from freev2g.clock import Clock
    from freev2g_whitebeet.client import ClientConfig, HciClient
    from freev2g_whitebeet.transport.ethernet import EthernetTransport, mac_bytes

    async def main(iface, mac):
        client = HciClient(EthernetTransport(iface, peer_mac=mac_bytes(mac)), clock=Clock(),
                           config=ClientConfig(response_timeout_s=5.0, timeout_retries=0))
        await client.start()
        try:
            await client.call("system.get_firmware_version")
            await client.call("cp.set_mode", mode=0)
        finally:
            await client.close()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
""")


def test_capture_on_the_hosts_interface_shows_both_directions_decoded(tmp_path):
    with veth_pair() as (hns, hif, mns, mif):
        emu = freev2g(mns, "emulate", "--iface", mif, "--role", "evse", "--mac", MAC)
        cap = freev2g(hns, "capture", "--iface", hif, "--count", "4", "--pcap", str(tmp_path / "c.pcap"))
        try:
            wait_for_line(emu, "emulating an EVSE module")
            wait_for_line(cap, "capturing HCI")
            host = subprocess.run(["ip", "netns", "exec", hns, sys.executable, "-c", HOST, hif, MAC],
                                  capture_output=True, text=True, timeout=60)
            assert host.returncode == 0, host.stderr[-2000:]
            out, _ = cap.communicate(timeout=30)
            lines = [ln for ln in out.splitlines() if " > " in ln]
            assert len(lines) == 4, out
            host_mac = subprocess.run(["ip", "-n", hns, "-br", "link", "show", hif], capture_output=True,
                                      text=True).stdout.split()[2]
            # the host's own commands are seen (outgoing), each followed by the module's response
            assert lines[0].startswith(f"{host_mac} > {MAC} 0x10/0x41") and "command system.get_firmware_version" in lines[0], out
            assert lines[1].startswith(f"{MAC} > {host_mac} 0x10/0x41"), out
            assert re.search(r"response system\.get_firmware_version result 0x00 \(OK\) version='1\.2\.0\.0'", lines[1]), out
            assert "command cp.set_mode mode=0" in lines[2], out
            # a 1-byte 00 answer is the OK response, not a cp.set_mode command with mode=0
            assert lines[3].startswith(f"{MAC} > {host_mac} 0x29/0x40") and "response cp.set_mode result 0x00 (OK)" in lines[3], out
            assert "object at 0x" not in out, out
        finally:
            for p in (emu, cap):
                if p.poll() is None:
                    p.kill()
                    p.wait()
