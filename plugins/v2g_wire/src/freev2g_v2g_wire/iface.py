"""The network interface a V2G link runs on: index (the IPv6 scope id) and link-local address.

SDP and the V2G connection use IPv6 link-local addresses (fe80::/64) on one named interface
(charging-domain.md 2.2); a fresh address is unusable while duplicate address detection runs
(flag "tentative"), so `wait_link_local` polls until one is ready. Everything is read from the
calling thread's network namespace (/proc/thread-self/net), so `in_netns` lets one process open
sockets in several namespaces (the sockets keep the namespace they were created in).
"""
from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import os
import socket
from contextlib import contextmanager
from typing import Any, Iterator

from attrs import frozen

IFA_F_TENTATIVE = 0x40
IFA_F_DADFAILED = 0x08
SCOPE_LINK = 0x20
CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    # os.setns exists from Python 3.12 on; 3.11 goes through libc.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise InterfaceError(err, f"setns: {os.strerror(err)}")


class InterfaceError(OSError):
    """The interface is missing, down or has no usable link-local address; says which."""


@frozen
class Interface:
    name: str
    index: int
    link_local: str  # without the %scope suffix

    def sockaddr(self, address: str, port: int) -> tuple[str, int, int, int]:
        """A link-local socket address on this interface (scope id = interface index)."""
        return (address, port, 0, self.index)


def _if_inet6() -> list[tuple[str, int, int, int, str]]:
    path = "/proc/thread-self/net/if_inet6"
    if not os.path.exists(path):
        path = "/proc/net/if_inet6"
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise InterfaceError(f"cannot read the IPv6 address table {path}: {exc}") from None
    rows = []
    for line in lines:
        parts = line.split()
        if len(parts) != 6:
            continue
        addr = str(ipaddress.IPv6Address(bytes.fromhex(parts[0])))
        rows.append((addr, int(parts[1], 16), int(parts[3], 16), int(parts[4], 16), parts[5]))
    return rows


def resolve_interface(name: str) -> Interface:
    """The interface `name` with a ready (not tentative) link-local address, or InterfaceError."""
    try:
        index = socket.if_nametoindex(name)
    except OSError:
        raise InterfaceError(f"network interface {name!r} does not exist (in this network namespace)") from None
    seen = []
    for addr, idx, scope, flags, dev in _if_inet6():
        if dev != name or scope != SCOPE_LINK:
            continue
        seen.append((addr, flags))
        if not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
            return Interface(name, index, addr)
    if seen:
        raise InterfaceError(f"network interface {name!r}: link-local address {seen[0][0]} is not ready "
                             f"(duplicate address detection still running or failed, flags {seen[0][1]:#x})")
    raise InterfaceError(f"network interface {name!r} has no IPv6 link-local address (is it up, is IPv6 on?)")


async def wait_link_local(name: str, timeout_s: float = 5.0, *, clock: Any = None, poll_s: float = 0.05) -> Interface:
    """resolve_interface, retried until `timeout_s` (DAD takes ~1-2 s after the link comes up)."""
    sleep = clock.sleep if clock is not None else asyncio.sleep
    waited = 0.0
    while True:
        try:
            return resolve_interface(name)
        except InterfaceError:
            if waited >= timeout_s:
                raise
        await sleep(poll_s)
        waited += poll_s


@contextmanager
def in_netns(name: str | None) -> Iterator[None]:
    """Run the body in network namespace `name` (/run/netns/<name>, `ip netns add`); None: stay.

    Only the calling thread switches; sockets created inside stay in that namespace after it.
    Keep the body synchronous (no await inside) so no other task runs in the wrong namespace.
    """
    if name is None:
        yield
        return
    try:
        target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    except OSError as exc:
        raise InterfaceError(f"network namespace {name!r}: {exc.strerror}") from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)
