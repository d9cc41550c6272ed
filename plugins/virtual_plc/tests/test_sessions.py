"""Complete sessions for every protocol x mode over the in-process medium (virtual time)."""
from __future__ import annotations

import pytest

from freev2g import link as L
from freev2g.model.enums import ControlMode, EnergyTransferMode as ETM, Protocol, ResponseCode, StopCause
from freev2g.model.params import BPTEVParameter
from freev2g_virtual_plc.scripted import ac_request, dc_request


def _assert_complete(rig, protocol, *, dc: bool):
    ev, evse = rig.ev, rig.evse
    fin = ev.of(L.EvSessionFinished)
    assert len(fin) == 1 and fin[0].cause is StopCause.EV_STOP, fin
    ended = evse.of(L.SessionEnded)
    assert len(ended) == 1 and ended[0].cause is StopCause.EV_STOP, ended
    setup = evse.of(L.SessionSetup)[0]
    assert setup.protocol is protocol and len(setup.iso_session_id) == 16 and not setup.resumed
    assert ev.of(L.EvSessionStarted)[0].iso_session_id == setup.iso_session_id
    assert [type(e) for e in evse.events[:2]] == [L.MatchingStarted, L.LinkUp]
    progress = [e.progress for e in evse.of(L.PowerDeliveryRequest)]
    assert progress == [L.ChargeProgress.START, L.ChargeProgress.STOP]
    assert evse.of(L.SessionStopRequest)
    assert ev.of(L.PowerDeliveryStarted) and ev.of(L.PowerDeliveryStopped)
    if dc:
        assert evse.of(L.CableCheckRequest) and evse.of(L.PreChargeRequest) and evse.of(L.WeldingDetectionRequest)
        assert len(evse.of(L.DCChargeLoopRequest)) == 3
        assert ev.of(L.EvChargeLoopStatus)[-1].dc.present_current_A > 0
    else:
        assert len(evse.of(L.ACChargeLoopRequest)) == 3
        assert not evse.of(L.CableCheckRequest)


@pytest.mark.parametrize(
    "protocol, request_factory, dc",
    [
        (Protocol.DIN70121, lambda: dc_request((Protocol.DIN70121,)), True),
        (Protocol.ISO15118_2, lambda: dc_request(), True),
        (Protocol.ISO15118_2, lambda: ac_request(), False),
        (Protocol.ISO15118_20, lambda: dc_request((Protocol.ISO15118_20,)), True),
        (Protocol.ISO15118_20, lambda: dc_request((Protocol.ISO15118_20,), control_mode=ControlMode.DYNAMIC), True),
        (Protocol.ISO15118_20, lambda: dc_request((Protocol.ISO15118_20,), mode=ETM.DC_BPT,
                                                  bpt=BPTEVParameter(ev_max_discharge_power_W=11_000.0,
                                                                     ev_max_discharge_current_A=25.0)), True),
        (Protocol.ISO15118_20, lambda: dc_request((Protocol.ISO15118_20,), mode=ETM.DC_BPT,
                                                  control_mode=ControlMode.DYNAMIC,
                                                  bpt=BPTEVParameter(ev_max_discharge_power_W=11_000.0)), True),
        (Protocol.ISO15118_20, lambda: ac_request((Protocol.ISO15118_20,)), False),
        (Protocol.ISO15118_20, lambda: ac_request((Protocol.ISO15118_20,), control_mode=ControlMode.DYNAMIC), False),
    ],
    ids=["din-dc", "iso2-dc", "iso2-ac", "iso20-dc", "iso20-dc-dynamic", "iso20-dcbpt", "iso20-dcbpt-dynamic",
         "iso20-ac", "iso20-ac-dynamic"],
)
def test_session_completes(virtual_loop, make_rig, protocol, request_factory, dc):
    rig = make_rig()

    async def scenario():
        ok = await rig.run(request_factory())
        await rig.close()
        return ok

    assert virtual_loop(scenario()) is True, rig.ev.of(L.EvSessionFinished)
    _assert_complete(rig, protocol, dc=dc)
    req = rig.evse.of(L.ChargeParameterRequest)[-1]
    assert req.mode is request_factory().mode
