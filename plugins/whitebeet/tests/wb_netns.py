"""Network-namespace helpers for the Ethernet tests: a veth pair between a host namespace and a
module namespace, created and removed by the test (needs root and iproute2)."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from contextlib import contextmanager

import pytest


def require_netns() -> None:
    if os.geteuid() != 0:
        pytest.fail("netns tests need root (ip netns / veth); run as root or deselect with -m 'not netns'")
    if shutil.which("ip") is None:
        pytest.fail("netns tests need iproute2's `ip` (apt-get install iproute2)")
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"`ip netns` is unavailable here: {probe.stderr.strip()}")


@contextmanager
def veth_pair():
    """Yields (host_ns, host_if, module_ns, module_if)."""
    require_netns()
    tag = uuid.uuid4().hex[:6]
    hns, mns, hif, mif = f"wbh{tag}", f"wbm{tag}", f"wbh{tag}", f"wbm{tag}"
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("ip", "netns", "add", hns)
    run("ip", "netns", "add", mns)
    try:
        run("ip", "link", "add", hif, "netns", hns, "type", "veth", "peer", "name", mif, "netns", mns)
        for ns, ifc in ((hns, hif), (mns, mif)):
            run("ip", "-n", ns, "link", "set", ifc, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        yield hns, hif, mns, mif
    finally:
        subprocess.run(["ip", "netns", "del", hns], capture_output=True)
        subprocess.run(["ip", "netns", "del", mns], capture_output=True)
