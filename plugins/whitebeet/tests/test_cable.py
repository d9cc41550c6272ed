"""host/cable.py without modules: the EVSE host's sim model served on a real unix socket, the EV
host's CableEvBoard as its EV side (battery handed over, contactor, inlet voltage, SoC, energy).
The CP part of CableEvBoard goes to the module and is covered by test_netns_pair.py."""
from __future__ import annotations

from freev2g_evse_board.sim.model import SimModel

from freev2g.clock import Clock
from freev2g.model.enums import CPState
from freev2g_whitebeet.host.cable import CableEvBoard, close_cable, make_board_server


def test_ev_board_is_the_ev_side_of_the_evse_hosts_model(tmp_path, virtual_loop):
    path = str(tmp_path / "power.sock")

    async def scenario():
        clock = Clock()
        model = SimModel(clock)
        server = make_board_server(path, model, clock)
        await server.start()
        board = CableEvBoard(None, clock=clock, path=path, capacity_Wh=20_000.0, start_soc_pct=50.0)
        await board.connect()
        assert (model.battery.config.capacity_Wh, model.battery.soc_pct) == (20_000.0, 50.0)
        board.remote.set_cp_state(CPState.C)  # what CableEvBoard.set_cp_state adds to the module's CP
        board.set_contactor(True)
        await clock.sleep(0.2)
        assert model.plugged and model.ev_contactor and board.contactor_closed()
        assert board.inlet_voltage_V() == model.battery.ocv_V()  # the battery behind the closed relay
        # what the station does through the sim supply and the (mirrored) EVSE contactor
        model.set_evse_contactor(True)
        model.set_psu_mode("export")
        model.set_psu_setpoints(450.0, 100.0)
        await clock.sleep(60.0)
        assert board.inlet_voltage_V() > model.battery.ocv_V() + 1.0  # the supply pushes current in
        model.set_psu_mode("off")
        model.set_evse_contactor(False)
        await clock.sleep(0.2)
        assert board.inlet_voltage_V() == model.inlet_voltage_V() == model.battery.ocv_V()
        soc = board.battery_soc_pct()
        assert soc == model.battery.soc_pct and soc > 50.5  # the EV reads what the model's battery holds
        gained_Wh = (soc - 50.0) / 100.0 * 20_000.0
        assert abs(model.battery.stored_gain_Wh - gained_Wh) < 0.5
        assert abs(model.energy_import_Wh - model.battery.stored_gain_Wh - model.battery.loss_Wh) < 0.01
        board.set_contactor(False)
        await clock.sleep(0.2)
        assert not model.ev_contactor and model.plugged
        board.set_contactor(True)
        await board.close()  # an EV host that goes away with its relay closed
        await close_cable(server, clock, peer_first=True)
        assert not model.ev_contactor and not model.plugged  # the hang-up opened and unplugged it

    virtual_loop(scenario())


def test_ev_board_without_an_evse_host_fails_clearly(tmp_path, virtual_loop):
    from freev2g_virtual_plc.medium import MediumClosed

    async def scenario():
        board = CableEvBoard(None, clock=Clock(), path=str(tmp_path / "nobody.sock"), capacity_Wh=1.0,
                             start_soc_pct=1.0)
        try:
            await board.connect()
        except MediumClosed as exc:
            return str(exc)
        return "connected?"

    assert "no EVSE listening on" in virtual_loop(scenario())
