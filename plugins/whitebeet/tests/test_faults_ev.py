"""EV role: faults on the HCI wire and a module restart mid-session. The EV host recovers or stops
safely: exactly one EvSessionFinished per started session, the EV contactor open, CP back to B,
and the finish record says why. Two emulators joined by the socket medium; virtual time."""
from __future__ import annotations

import pytest

from freev2g.model.enums import CPState, EnergyTransferMode, StopCause
from freev2g_whitebeet.client import ClientConfig
from freev2g_whitebeet.emulator.assemble import ev_emulator
from freev2g_whitebeet.transport.faults import FaultyTransport

from wb_evse_app import EvseApp
from wb_pair import Pair


@pytest.mark.parametrize("fault", ["drop", "duplicate", "corrupt", "truncate", "reorder"])
def test_ev_leg_faults_recover_or_stop_safely(tmp_path, virtual_loop, fault):
    app = EvseApp()
    seed = iter((5, 9))

    def wrap(t):
        return FaultyTransport(t, rate=0.03, faults=(fault,), seed=next(seed))

    async def main():
        pair = Pair(str(tmp_path / "c.sock"), app, ev_wrap=wrap,
                    client_config=ClientConfig(response_timeout_s=1.0, timeout_retries=3))
        try:
            await pair.start(EnergyTransferMode.DC_EXTENDED)
        except Exception:  # noqa: BLE001 - a start-up that fails is a safe outcome too
            pass
        await pair.wait_finished(limit_s=120.0)
        await pair.stop()
        return pair

    pair = virtual_loop(main())
    assert not pair.board.contactor_closed() and not app.contactor_closed
    # the session starts despite the faults (retries) and ends exactly once, with a reason
    assert pair.ev.sessions_finished == 1 and len(app.ended) == 1
    f = pair.ev.last_finished
    assert f.cause is StopCause.EV_STOP or (f.cause is StopCause.LINK_TIMEOUT and "within" in f.detail), f


def test_ev_module_restart_mid_session_ends_with_link_lost(tmp_path, virtual_loop):
    app = EvseApp()

    async def main():
        path = str(tmp_path / "c.sock")
        pair = Pair(path, app)
        assert await pair.start(EnergyTransferMode.DC_EXTENDED)
        while pair.ev.phase != "charging":
            await pair.clock.sleep(0.1)
        await pair.clock.sleep(1.0)
        assert pair.board.contactor_closed()
        old = pair.ev_emu
        await old.core.halt()  # the module reboots: its HCI state and its PLC session are gone
        await old.link.close()
        fresh = ev_emulator(old.core.transport, clock=pair.clock, medium_path=path)
        await fresh.start()
        pair.ev_emu = fresh
        await pair.wait_finished(limit_s=60.0)
        await pair.stop()
        return pair

    pair = virtual_loop(main())
    f = pair.ev.last_finished
    assert f.cause is StopCause.LINK_LOST and "EV mode" in f.detail, f
    assert pair.ev.sessions_finished == 1
    assert not pair.board.contactor_closed() and pair.board.cp is CPState.B
    assert len(app.ended) == 1 and not app.contactor_closed
