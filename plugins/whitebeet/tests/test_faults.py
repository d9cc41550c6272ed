"""Faults on the wire and a module restart mid-session: the host recovers or stops safely
(exactly one SessionEnded, contactor open). In-memory pair, virtual time."""
from __future__ import annotations

import pytest

from freev2g.clock import Clock
from freev2g.framing import encode_frame
from freev2g.model.enums import StopCause
from freev2g_whitebeet.client import ClientConfig, CommandTimeout, HciClient
from freev2g_whitebeet.emulator.assemble import evse_emulator
from freev2g_whitebeet.host.evse import WhitebeetEvseLink
from freev2g_whitebeet.transport.faults import FaultyTransport
from freev2g_whitebeet.transport.memory import memory_pair

from test_host_evse_memory import OFFER
from wb_evse_app import EvseApp


@pytest.mark.parametrize("fault", ["drop", "duplicate", "corrupt", "truncate", "reorder"])
def test_each_fault_kind_host_recovers_or_stops_safely(virtual_loop, fault):
    async def main():
        clock = Clock()
        host_t, mod_t = memory_pair()
        emu = evse_emulator(FaultyTransport(mod_t, rate=0.03, faults=(fault,), seed=7), clock=clock)
        await emu.start()
        app = EvseApp()
        client = HciClient(FaultyTransport(host_t, rate=0.03, faults=(fault,), seed=3), clock=clock,
                           config=ClientConfig(response_timeout_s=1.0, timeout_retries=3))
        link = WhitebeetEvseLink(client, clock=clock)
        try:
            await link.open(app, OFFER)
            await link.start_matching()
        except Exception:  # noqa: BLE001 - a start-up that fails is a safe outcome too
            pass
        for _ in range(900):
            if app.ended:
                break
            await clock.sleep(0.1)
        await link.close()
        await emu.stop()
        return app, client, host_t

    app, client, host_t = virtual_loop(main())
    assert not app.contactor_closed
    assert len(app.ended) <= 1
    if "SessionSetup" in app.kinds():
        assert len(app.ended) == 1  # every session that began ended exactly once


def test_module_restart_mid_session_ends_with_link_lost(virtual_loop):
    async def main():
        clock = Clock()
        host_t, mod_t = memory_pair()
        emu = evse_emulator(mod_t, clock=clock)
        await emu.start()
        app = EvseApp()
        link = WhitebeetEvseLink(HciClient(host_t, clock=clock), clock=clock)
        await link.open(app, OFFER)
        await link.start_matching()
        while "DCChargeLoopRequest" not in app.kinds():
            await clock.sleep(0.1)
        assert app.contactor_closed
        await emu.core.halt()
        fresh = evse_emulator(mod_t, clock=clock)  # the module rebooted: all state gone
        await fresh.start()
        for _ in range(100):
            if app.ended:
                break
            await clock.sleep(0.1)
        await link.close()
        await fresh.stop()
        return app

    app = virtual_loop(main())
    assert [e.cause for e in app.ended] == [StopCause.LINK_LOST]
    assert not app.contactor_closed


def test_module_gone_times_out_and_never_uses_0xff(virtual_loop):
    async def main():
        clock = Clock()
        host_t, mod_t = memory_pair()
        client = HciClient(host_t, clock=clock, config=ClientConfig(response_timeout_s=0.5, timeout_retries=1))
        await client.start()
        rids = [client.next_request_id() for _ in range(600)]
        with pytest.raises(CommandTimeout, match=r"SYSTEM\(0x10\)/0x41 .* 2 attempt"):
            await client.request("system.get_firmware_version")
        await client.close()
        return rids

    rids = virtual_loop(main())
    assert 0xFF not in rids and 0 not in rids and rids[253] == 254 and rids[254] == 1


def test_busy_is_retried_and_late_duplicates_are_dropped(virtual_loop):
    async def main():
        clock = Clock()
        host_t, mod_t = memory_pair()
        client = HciClient(host_t, clock=clock)
        await client.start()

        async def module():
            first = await mod_t.recv()
            await mod_t.send(encode_frame(0x29, 0x48, first[3], b"\x01"))  # busy
            second = await mod_t.recv()
            await mod_t.send(encode_frame(0x29, 0x48, second[3], b"\x00\x02"))
            await mod_t.send(encode_frame(0x29, 0x48, second[3], b"\x00\x03"))  # duplicate, ignored

        import asyncio

        task = asyncio.get_running_loop().create_task(module())
        data = await client.call("cp.get_state")
        await task
        await clock.sleep(0.1)
        await client.close()
        return data, client.stats

    data, stats = virtual_loop(main())
    assert data.state == 2 and stats.busy == 1 and stats.unmatched == 1
