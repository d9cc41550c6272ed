"""EVSE emulator, Start listen (whitebeet-hci.md 5.9.9; issue #12 item 1): a host that waits
between its 0x60 configuration and 0x6A. The EV must see the configured EVSE ID and nothing of
the V2G session may happen before 0x6A. HCI legs in memory, the virtual_plc medium is a real
unix socket, both hosts are ours (EVSE host -> emulator <-> medium <-> emulator -> EV host)."""
from __future__ import annotations

from freev2g import link as L
from freev2g.framing import Frame
from freev2g.model.enums import EnergyTransferMode, StopCause
from freev2g_whitebeet.messages import catalogue

from wb_evse_app import EvseApp
from wb_pair import OFFER, Pair

WAIT_S = 0.5


class SlowListenHost:
    """The EVSE host's transport: holds 0x6A back WAIT_S after it was due and logs, in order,
    when 0x6A went out and which notifications came in."""

    def __init__(self, inner, clock):
        self.inner, self.clock = inner, clock
        self.cat = catalogue()
        self.log: list[str] = []

    async def send(self, frame: bytes) -> None:
        f = Frame.from_bytes(frame)
        if self.cat.command(f.module_id, f.sub_id).name == "v2g.evse.start_listen":
            await self.clock.sleep(WAIT_S)
            self.log.append("start_listen")
        await self.inner.send(frame)

    async def recv(self) -> bytes:
        data = await self.inner.recv()
        f = Frame.from_bytes(data)
        if self.cat.is_unsolicited(f.module_id, f.sub_id):
            self.log.append(self.cat.from_module(f.module_id, f.sub_id).name)
        return data

    async def close(self) -> None:
        await self.inner.close()


def test_session_waits_for_start_listen_and_uses_the_configuration(tmp_path, virtual_loop):
    app = EvseApp()

    async def main():
        pair = Pair(str(tmp_path / "cable.sock"), app)
        slow = SlowListenHost(pair.evse_link.client.transport, pair.clock)
        pair.evse_link.client.transport = slow
        started = await pair.start(EnergyTransferMode.DC_EXTENDED)
        await pair.wait_finished()
        await pair.stop()
        return pair, started, slow

    pair, started, slow = virtual_loop(main())
    assert started
    assert pair.ev.evse_id == OFFER.evse_id, pair.ev.evse_id  # what the host configured in 0x60
    assert "start_listen" in slow.log
    before = slow.log[:slow.log.index("start_listen")]
    assert not [n for n in before if n.startswith("v2g.")], before  # no V2G session before 0x6A
    assert "v2g.evse.session_started" in slow.log
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]


def test_offered_modes_are_the_configured_ones(tmp_path, virtual_loop, monkeypatch):
    """The host configures AC only; an EV that wants DC must not be offered DC (before the fix the
    session ran on the emulator's start-up placeholder, which offers every mode)."""
    import attrs

    import wb_pair

    monkeypatch.setattr(wb_pair, "OFFER", attrs.evolve(OFFER, energy_transfer_modes=(EnergyTransferMode.AC_THREE_PHASE_CORE,)))
    app = EvseApp()

    async def main():
        pair = Pair(str(tmp_path / "cable.sock"), app)
        slow = SlowListenHost(pair.evse_link.client.transport, pair.clock)
        pair.evse_link.client.transport = slow
        started = await pair.start(EnergyTransferMode.DC_EXTENDED)
        await pair.wait_finished(limit_s=60.0)
        await pair.stop()
        return pair, started

    pair, started = virtual_loop(main())
    assert "SessionSetup" in app.kinds() and pair.ev.evse_id == OFFER.evse_id, app.kinds()  # the session ran
    # the EV wanted DC, the host offered AC only: it stops before ChargeParameterDiscovery
    assert "ChargeParameterRequest" not in app.kinds() and "SessionEnded" in app.kinds(), app.kinds()
    assert not any(isinstance(e, L.ChargeParameterRequest) and e.mode is EnergyTransferMode.DC_EXTENDED
                   for e in app.events), app.kinds()
