"""EVSE host and EV host charge against each other through two emulators joined by the
virtual_plc socket medium (whitebeet-hci.md 7.2-7.7, 8.3, 8.4); HCI legs in memory, virtual time."""
from __future__ import annotations

from freev2g.model.enums import EnergyTransferMode, StopCause

from wb_evse_app import EvseApp
from wb_pair import Pair


def run(tmp_path, virtual_loop, mode, **kw):
    app = EvseApp()

    async def main():
        pair = Pair(str(tmp_path / "cable.sock"), app, **kw)
        started = await pair.start(mode)
        await pair.wait_finished()
        await pair.stop()
        return pair, started

    return (*virtual_loop(main()), app)


def test_dc_session_between_two_hosts(tmp_path, virtual_loop):
    pair, started, app = run(tmp_path, virtual_loop, EnergyTransferMode.DC_EXTENDED)
    assert started
    kinds = app.kinds()
    for k in ("LinkUp", "SessionSetup", "CableCheckRequest", "PreChargeRequest", "PowerDeliveryRequest",
              "DCChargeLoopRequest", "WeldingDetectionRequest"):
        assert k in kinds, (k, kinds)
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]
    assert pair.ev.last_finished.cause is StopCause.EV_STOP, pair.ev.last_finished
    assert pair.ev.stop_cause is StopCause.SOC_REACHED
    assert pair.board.battery_soc_pct() >= 80.0
    assert not pair.board.contactor_closed() and not app.contactor_closed
    seen = pair.ev_emu.core.commands_seen
    for name in ("v2g.ev.set_configuration", "v2g.ev.set_dc_parameters", "v2g.ev.start_session",
                 "v2g.ev.set_charging_profile", "v2g.ev.start_cable_check", "v2g.ev.start_pre_charging",
                 "v2g.ev.start_charging", "v2g.ev.update_dc_parameters", "v2g.ev.stop_charging", "v2g.ev.stop_session"):
        assert name in seen, name


def test_registered_ev_link_runs_the_ev_controller_unchanged(tmp_path, virtual_loop):
    from freev2g.link import EvLink

    pair, started, app = run(tmp_path, virtual_loop, EnergyTransferMode.DC_EXTENDED, via_registry=True)
    assert isinstance(pair.ev.link, EvLink) and started
    assert pair.ev.last_finished.cause is StopCause.EV_STOP and pair.ev.stop_cause is StopCause.SOC_REACHED
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]


def test_ac_session_between_two_hosts(tmp_path, virtual_loop):
    pair, started, app = run(tmp_path, virtual_loop, EnergyTransferMode.AC_THREE_PHASE_CORE)
    assert started
    kinds = app.kinds()
    assert "ACChargeLoopRequest" in kinds and "CableCheckRequest" not in kinds
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]
    assert pair.ev.last_finished.cause is StopCause.EV_STOP
    assert pair.board.battery_soc_pct() >= 80.0
    assert "v2g.ev.set_ac_parameters" in pair.ev_emu.core.commands_seen


def _with_notification(tmp_path, virtual_loop, notification):
    app = EvseApp()
    notes = []

    async def main():
        pair = Pair(str(tmp_path / "cable.sock"), app)
        pair.ev_client.subscribe(lambda n: notes.append(n.name))
        assert await pair.start(EnergyTransferMode.DC_EXTENDED)
        while pair.ev.phase != "charging":
            await pair.clock.sleep(0.1)
        await pair.clock.sleep(0.5)
        pair.evse_link.notify(notification, 5)
        await pair.wait_finished()
        await pair.stop()
        return pair

    return virtual_loop(main()), app, notes


def test_evse_stop_notification_reaches_the_ev_host(tmp_path, virtual_loop):
    from freev2g.model.enums import EVSENotification

    pair, app, notes = _with_notification(tmp_path, virtual_loop, EVSENotification.STOP_CHARGING)
    assert "v2g.ev.notification_received" in notes  # 0xCC (7.7)
    assert pair.ev.stop_cause is StopCause.EVSE_STOP
    assert pair.ev.last_finished.cause is StopCause.EVSE_STOP, pair.ev.last_finished
    assert pair.board.battery_soc_pct() < 80.0 and not pair.board.contactor_closed()
    assert len(app.ended) == 1


def test_evse_renegotiation_runs_charge_parameters_again(tmp_path, virtual_loop):
    from freev2g.model.enums import EVSENotification

    pair, app, notes = _with_notification(tmp_path, virtual_loop, EVSENotification.RENEGOTIATION)
    assert notes.count("v2g.ev.schedule_received") == 2 and "v2g.ev.notification_received" in notes
    assert app.kinds().count("ChargeParameterRequest") == 2
    assert pair.ev.stop_cause is StopCause.SOC_REACHED and pair.board.battery_soc_pct() >= 80.0
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]
