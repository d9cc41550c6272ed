"""SDP across a veth pair between two network namespaces (charging-domain.md 2.4): the EVCC
multicasts to ff02::1 port 15118 on its interface, the SECC answers unicast; bad datagrams are
dropped and counted and the server keeps answering. Both ends run in this process: each socket
is created inside its namespace (iface.in_netns) and stays there, so every datagram crosses the
veth pair."""
from __future__ import annotations

import asyncio
import socket

import pytest

from freev2g_v2g_wire.iface import in_netns, resolve_interface, wait_link_local
from freev2g_v2g_wire.sdp import (
    SdpClient,
    SdpClientOptions,
    SdpRequest,
    SdpServer,
    SdpTimeout,
    SeccSdpPolicy,
    Security,
)
from wire_netns import EV_ADDR, SECC_ADDR, veth_pair

pytestmark = pytest.mark.netns


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_discovery_tls_and_tcp_requests_and_bad_datagrams():
    async def scenario(pair):
        with in_netns(pair.secc_ns):
            secc_if = resolve_interface(pair.secc_if)
            server = SdpServer.bind(secc_if, SeccSdpPolicy(address=secc_if.link_local,
                                                           tcp_port=50000, tls_port=50001))
        with in_netns(pair.ev_ns):
            ev_if = resolve_interface(pair.ev_if)
            tls_client = SdpClient(ev_if)
            tcp_client = SdpClient(ev_if)
            garbage = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        await server.start()
        try:
            assert secc_if.link_local == SECC_ADDR and ev_if.link_local == EV_ADDR
            res = await tls_client.discover(SdpRequest(Security.TLS))
            assert (res.address, res.port, res.security) == (SECC_ADDR, 50001, Security.TLS)
            # garbage unicast and multicast to the server: each dropped with its reason
            dest = ev_if.sockaddr("ff02::1", 15118)
            for raw in ("02fd9000000000021000", "01fe9000000000021001", "01fe9000000000ff1000",
                        "01fe90", "00" * 200, "01fe9000000000021010"):
                garbage.sendto(bytes.fromhex(raw), dest)
            res = await tcp_client.discover(SdpRequest(Security.NO_TLS))
            assert (res.address, res.port, res.security) == (SECC_ADDR, 50000, Security.NO_TLS)
            request, sender = await server.requests.get()
            assert request == SdpRequest(Security.TLS) and sender[0] == EV_ADDR
            for _ in range(100):  # the garbage was sent before the second request
                if sum(server.stats.dropped.values()) >= 6:
                    break
                await asyncio.sleep(0.01)
            assert dict(server.stats.dropped) == {"v2gtp_version": 1, "bad_transport": 1, "v2gtp_length": 1,
                                                  "truncated": 1, "oversized": 1, "not_offered": 1}
            assert server.stats.answered == 2
            assert tls_client.sent == 1 and tcp_client.sent == 1
        finally:
            server.close()
            garbage.close()

    with veth_pair() as pair:
        _run(scenario(pair))


def test_client_retries_then_gives_up_with_a_clear_error():
    """Nobody answers: the client sends max_requests requests retry_s apart, then SdpTimeout."""
    async def scenario(pair):
        with in_netns(pair.secc_ns):
            secc_if = resolve_interface(pair.secc_if)
            listener = SdpServer.bind(secc_if, lambda request: None)  # counts, never answers
        with in_netns(pair.ev_ns):
            client = SdpClient(resolve_interface(pair.ev_if), SdpClientOptions(retry_s=0.05, max_requests=4))
        await listener.start()
        try:
            with pytest.raises(SdpTimeout, match="no valid answer to 4 requests"):
                await client.discover(SdpRequest(Security.NO_TLS))
            await asyncio.sleep(0.05)
            assert listener.stats.received == 4 and listener.stats.dropped["not_offered"] == 4
        finally:
            listener.close()

    with veth_pair() as pair:
        _run(scenario(pair))


def test_wait_link_local_waits_for_dad():
    """With the kernel's own link-local address the interface is unusable until DAD is done."""
    async def scenario(pair):
        with in_netns(pair.ev_ns):
            iface = await wait_link_local(pair.ev_if, timeout_s=10)
        assert iface.link_local.startswith("fe80::")

    with veth_pair(auto_link_local=True) as pair:
        _run(scenario(pair))
