"""`emulate` run loop and options (issue #12 items 4, 6): in memory, virtual time; the process
level over veth is test_netns_emulate.py."""
from __future__ import annotations

import asyncio

from click.testing import CliRunner

from freev2g.clock import Clock
from freev2g_whitebeet.client import HciClient
from freev2g_whitebeet.emulator.assemble import evse_emulator
from freev2g_whitebeet.emulator.run import serve_until_done
from freev2g_whitebeet.transport.memory import memory_pair


def _setup():
    clock = Clock()
    host_t, mod_t = memory_pair()
    emu = evse_emulator(mod_t, clock=clock)
    return clock, emu, HciClient(host_t, clock=clock)


def test_after_the_last_session_it_answers_until_the_host_is_quiet(virtual_loop):
    async def main():
        clock, emu, client = _setup()
        await emu.start()
        await client.start()
        emu.v2g.sessions_completed = 1  # the last session is over; the host still shuts down
        serving = asyncio.ensure_future(serve_until_done(emu, clock, sessions=1, quiet_s=3.0))
        modes = []
        for _ in range(5):  # 1 s apart, as a host polls its shutdown steps
            modes.append((await client.call("v2g.get_mode")).mode)
            await clock.sleep(1.0)
            assert not serving.done()
        last = clock.monotonic() - 1.0
        why = await serving
        ended = clock.monotonic()
        await client.close()
        await emu.stop()
        return modes, why, ended - last

    modes, why, quiet = virtual_loop(main())
    assert modes == [2] * 5 and why == "quiet"  # every command answered (V2G mode still undefined)
    assert quiet >= 3.0  # it left only after --quiet-s without a frame


def test_host_closing_ends_it(virtual_loop):
    async def main():
        clock, emu, client = _setup()
        await emu.start()
        emu.v2g.sessions_completed = 1
        await client.close()  # the memory transport's close reaches the module end
        return await serve_until_done(emu, clock, sessions=1, quiet_s=60.0)

    assert virtual_loop(main()) == "closed"


def test_scripted_ev_options_need_the_scripted_ev():
    from freev2g_whitebeet.cli import whitebeet_group

    out = CliRunner().invoke(whitebeet_group, ["emulate", "--iface", "lo", "--role", "evse", "--medium", "/tmp/x.sock",
                                   "--ev-mode", "DC_core"])
    assert out.exit_code == 2 and "only with --role evse and no --medium" in out.output, out.output
