"""Whole sessions through the real virtual_plc link and EV controller (freev2g.simulate) with
this Station and EvseManager on the EVSE side; virtual time."""
from __future__ import annotations

import pytest

from freev2g.model.enums import Protocol


@pytest.mark.parametrize("protocol,mode", [(Protocol.ISO15118_2, "dc"), (Protocol.DIN70121, "dc"), (Protocol.ISO15118_2, "ac")])
def test_full_session_over_virtual_plc(virtual_loop, tmp_path, protocol, mode):
    from freev2g import simulate
    from freev2g.journal import Journal

    journal = str(tmp_path / "j.sqlite")

    async def scenario():
        sim = simulate.Simulation(simulate.SimulationOptions(protocol=protocol, mode=mode, speed=None, journal_path=journal))
        await sim.start()
        try:
            result = await sim.run()
        finally:
            await sim.stop()
        return sim, result

    sim, result = virtual_loop(scenario())
    assert result.stop_cause == "ev_stop" and result.energy_Wh > 1_000.0
    assert not sim.station.boards["bsp"].contactor_closed()
    with Journal(journal) as j:
        (summary,) = j.sessions()
        assert summary.stop_cause == "ev_stop" and summary.protocol == protocol.value
        assert summary.energy_import_Wh == pytest.approx(result.energy_Wh, rel=0.01)
        assert j.schedules(summary.session_id)
