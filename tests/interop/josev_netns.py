"""Two network namespaces joined by a veth pair with fixed IPv6 link-local addresses (no DAD),
for SECC and EVCC processes that discover each other by SDP on ff02::1 (needs root, iproute2).
Same style as plugins/whitebeet/tests/wb_netns.py."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from contextlib import contextmanager
from typing import Iterator

import attrs
import pytest


@attrs.frozen
class Side:
    ns: str
    iface: str
    addr: str  # link-local address on iface, without the scope


@attrs.frozen
class VethLink:
    secc: Side
    evcc: Side


def require_netns() -> None:
    if os.geteuid() != 0:
        pytest.fail("interop tests need root (ip netns / veth); run as root or deselect with -m 'not interop'")
    if shutil.which("ip") is None:
        pytest.fail("interop tests need iproute2's `ip` (apt-get install iproute2)")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"`ip netns` is unavailable here: {probe.stderr.strip()}")


def _run(*args: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(args)}` failed: {proc.stderr.strip()}")


@contextmanager
def veth_link(prefix: str = "jv") -> Iterator[VethLink]:
    """Yields a VethLink: the SECC side fe80::1, the EVCC side fe80::2, both up, lo up.

    The interfaces get no automatic link-local address (addrgenmode none) and the fixed one is
    added with nodad, so it is usable at once and Josev finds exactly one address on its NIC."""
    require_netns()
    tag = uuid.uuid4().hex[:6]
    secc = Side(ns=f"{prefix}s{tag}", iface=f"{prefix}s{tag}", addr="fe80::1")
    evcc = Side(ns=f"{prefix}e{tag}", iface=f"{prefix}e{tag}", addr="fe80::2")
    _run("ip", "netns", "add", secc.ns)
    try:
        _run("ip", "netns", "add", evcc.ns)
        _run("ip", "link", "add", secc.iface, "netns", secc.ns, "type", "veth",
             "peer", "name", evcc.iface, "netns", evcc.ns)
        for side in (secc, evcc):
            _run("ip", "-n", side.ns, "link", "set", side.iface, "addrgenmode", "none")
            _run("ip", "-n", side.ns, "addr", "add", f"{side.addr}/64", "dev", side.iface, "nodad")
            _run("ip", "-n", side.ns, "link", "set", "lo", "up")
            _run("ip", "-n", side.ns, "link", "set", side.iface, "up")
        yield VethLink(secc=secc, evcc=evcc)
    finally:
        subprocess.run(["ip", "netns", "del", secc.ns], capture_output=True)
        subprocess.run(["ip", "netns", "del", evcc.ns], capture_output=True)
