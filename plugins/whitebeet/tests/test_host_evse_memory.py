"""Host EVSE driver against the module emulator over the in-memory pair, on virtual time
(whitebeet-hci.md 7.1, 7.2, 8.3)."""
from __future__ import annotations

import asyncio

from freev2g.clock import Clock
from freev2g.model.enums import EnergyTransferMode, IsolationLevel, StopCause
from freev2g.model.params import EVSEOffer
from freev2g_whitebeet.client import HciClient
from freev2g_whitebeet.emulator.assemble import evse_emulator
from freev2g_whitebeet.emulator.scripted import ScriptedEvConfig
from freev2g_whitebeet.host.evse import WhitebeetEvseLink
from freev2g_whitebeet.transport.memory import memory_pair

from wb_evse_app import EvseApp

OFFER = EVSEOffer(evse_id="DE*PNX*E1234567*1", energy_transfer_modes=(EnergyTransferMode.DC_EXTENDED,
                                                                        EnergyTransferMode.AC_THREE_PHASE_CORE))


async def run_session(app, *, ev=None, offer=OFFER, emu_config=None, wrap=None, until=60.0):
    clock = Clock()
    host_t, mod_t = memory_pair()
    emu = evse_emulator(mod_t, clock=clock, ev=ev, config=emu_config)
    await emu.start()
    link = WhitebeetEvseLink(HciClient(wrap(host_t) if wrap else host_t, clock=clock), clock=clock)
    await link.open(app, offer)
    await link.start_matching()
    for _ in range(int(until * 10)):
        if app.ended:
            break
        await clock.sleep(0.1)
    await link.close()
    await emu.stop()
    return link, emu


def test_dc_session_end_to_end(virtual_loop):
    app = EvseApp(ongoing_auth=2)
    link, emu = virtual_loop(run_session(app))
    kinds = app.kinds()
    assert kinds[:4] == ["LinkUp", "SessionSetup", "PaymentSelected", "AuthorizationRequest"]
    for k in ("ChargeParameterRequest", "CableCheckRequest", "PreChargeRequest", "PowerDeliveryRequest",
              "DCChargeLoopRequest", "WeldingDetectionRequest", "SessionStopRequest"):
        assert k in kinds, k
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]
    assert not app.contactor_closed
    assert emu.peer.result_cause is StopCause.EV_STOP
    seen = emu.core.commands_seen
    assert seen[:4] == ["system.get_firmware_version", "slac.stop", "cp.stop", "v2g.get_mode"]
    for name in ("v2g.evse.set_configuration", "v2g.evse.start_listen", "v2g.evse.set_authorization_status",
                 "v2g.evse.set_schedules", "v2g.evse.set_cable_check_finished", "v2g.evse.start_charging",
                 "v2g.evse.stop_charging", "v2g.evse.stop_listen"):
        assert name in seen, name
    # charging actually happened: the scripted EV's SoC rose with present current
    assert sum(1 for e in app.events if type(e).__name__ == "DCChargeLoopRequest") >= 5


def test_ac_session(virtual_loop):
    app = EvseApp()
    virtual_loop(run_session(app, ev=ScriptedEvConfig(mode=EnergyTransferMode.AC_THREE_PHASE_CORE)))
    kinds = app.kinds()
    assert "ACChargeLoopRequest" in kinds and "CableCheckRequest" not in kinds
    assert app.ended[0].cause is StopCause.EV_STOP


def test_cable_check_failure_ends_session_safely(virtual_loop):
    app = EvseApp(isolation=IsolationLevel.FAULT)
    link, emu = virtual_loop(run_session(app))
    assert "PowerDeliveryRequest" not in app.kinds()
    assert len(app.ended) == 1 and not app.contactor_closed
    assert emu.peer.result_cause is StopCause.CABLE_CHECK_FAILED


def test_authorization_rejected(virtual_loop):
    app = EvseApp(authorize=False)
    link, emu = virtual_loop(run_session(app))
    assert emu.peer.result_cause is StopCause.AUTHORIZATION_REJECTED
    assert "ChargeParameterRequest" not in app.kinds() and len(app.ended) == 1
