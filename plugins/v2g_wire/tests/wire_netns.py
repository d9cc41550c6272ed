"""Network-namespace rig for the wire tests: two namespaces joined by a veth pair with fixed
link-local addresses (nodad: usable at once, no DAD wait), made and removed by the test (needs
root and iproute2; same style as plugins/whitebeet/tests/wb_netns.py)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import pytest
from attrs import frozen

SECC_ADDR, EV_ADDR = "fe80::15:1", "fe80::15:2"


def require_netns() -> None:
    if os.geteuid() != 0:
        pytest.fail("netns tests need root (ip netns / veth); run as root or deselect with -m 'not netns'")
    if shutil.which("ip") is None:
        pytest.fail("netns tests need iproute2's `ip` (apt-get install iproute2)")


@frozen
class VethPair:
    secc_ns: str
    secc_if: str
    ev_ns: str
    ev_if: str


def _run(*args: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip()}")


@contextmanager
def veth_pair(*, auto_link_local: bool = False) -> Iterator[VethPair]:
    """SECC side fe80::15:1, EV side fe80::15:2. auto_link_local: leave the kernel's own
    (EUI-64, DAD-checked) address instead, for the test that waits for DAD."""
    require_netns()
    tag = uuid.uuid4().hex[:6]
    pair = VethPair(f"v2gs{tag}", f"secc{tag}", f"v2ge{tag}", f"ev{tag}")
    _run("ip", "netns", "add", pair.secc_ns)
    try:
        _run("ip", "netns", "add", pair.ev_ns)
        _run("ip", "link", "add", pair.secc_if, "netns", pair.secc_ns, "type", "veth",
             "peer", "name", pair.ev_if, "netns", pair.ev_ns)
        for ns, ifc, addr in ((pair.secc_ns, pair.secc_if, SECC_ADDR), (pair.ev_ns, pair.ev_if, EV_ADDR)):
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            if not auto_link_local:
                _run("ip", "-n", ns, "link", "set", "dev", ifc, "addrgenmode", "none")
                _run("ip", "-n", ns, "addr", "add", f"{addr}/64", "dev", ifc, "nodad")
            _run("ip", "-n", ns, "link", "set", "dev", ifc, "up")
        if not auto_link_local:
            _wait_multicast(pair)
        yield pair
    finally:
        subprocess.run(["ip", "netns", "del", pair.secc_ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", pair.ev_ns], capture_output=True)


def _wait_multicast(pair: VethPair, timeout_s: float = 10.0) -> None:
    """A fresh veth link has no IPv6 multicast route for about a second after it comes up
    (measured here: the first SDP datagram passed after ~1.0 s; before, sendto fails or is lost): probe ff02::1 until one datagram passes,
    so the tests measure our code and not the kernel's link setup."""
    from freev2g_v2g_wire.iface import in_netns

    with in_netns(pair.secc_ns):
        rx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        rx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, pair.secc_if.encode())
        rx.bind(("::", 15119))
    with in_netns(pair.ev_ns):
        tx = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        index = socket.if_nametoindex(pair.ev_if)
    rx.settimeout(0.02)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                tx.sendto(b"probe", ("ff02::1", 15119, 0, index))
                rx.recv(16)
                return
            except socket.timeout:
                continue
            except OSError:  # "network is unreachable" until the multicast route exists
                time.sleep(0.02)
        raise RuntimeError(f"veth pair {pair.secc_if}/{pair.ev_if}: no multicast passed within {timeout_s:g} s")
    finally:
        rx.close()
        tx.close()
