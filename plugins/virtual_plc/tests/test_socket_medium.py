"""Socket medium: codec round trip of every message of real sessions, and a complete session
with the EV in another process (real loop, real unix socket, the sim board in this process)."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from freev2g import link as L
from freev2g.clock import Clock
from freev2g.model.enums import ControlMode, EnergyTransferMode as ETM, Protocol, StopCause
from freev2g.model.params import BPTEVParameter, EVSEOffer
from freev2g.registry import LinkContext
from freev2g_evse_board.sim import SimControlPilot, SimModel
from freev2g_virtual_plc.codec import CodecError, MessageCodec
from freev2g_virtual_plc.medium import InProcessPipe
from freev2g_virtual_plc.options import LinkOptions
from freev2g_virtual_plc.scripted import ScriptedEvse, ac_request, dc_request
from freev2g_virtual_plc.secc.link import VirtualEvseLink

ISO20 = Protocol.ISO15118_20


@pytest.mark.parametrize("request_factory", [
    lambda: dc_request((Protocol.DIN70121,)), lambda: dc_request(), lambda: ac_request(),
    lambda: dc_request((ISO20,), mode=ETM.DC_BPT, bpt=BPTEVParameter(ev_max_discharge_power_W=5000.0)),
    lambda: ac_request((ISO20,), control_mode=ControlMode.DYNAMIC),
])
def test_codec_round_trips_every_message_of_a_session(virtual_loop, make_rig, monkeypatch, request_factory):
    sent = []
    original = InProcessPipe.send

    async def recording_send(self, message):
        sent.append(message)
        await original(self, message)

    monkeypatch.setattr(InProcessPipe, "send", recording_send)
    rig = make_rig()

    async def scenario():
        assert await rig.run(request_factory())
        await rig.close()

    virtual_loop(scenario())
    codec = MessageCodec()
    assert len({type(m) for m in sent}) > 15
    for message in sent:
        line = json.dumps(codec.encode(message))
        assert codec.decode(json.loads(line)) == message


def test_codec_rejects_bad_lines():
    codec = MessageCodec()
    with pytest.raises(CodecError, match="unknown message type 'iso2.Nope'"):
        codec.decode({"type": "iso2.Nope", "body": {}})
    with pytest.raises(CodecError, match="iso2.SessionSetupReq"):
        codec.decode({"type": "iso2.SessionSetupReq", "body": {"session_id": "00"}})


@pytest.mark.parametrize("protocol", ["iso2", "din", "iso20"])
def test_session_across_processes(tmp_path, protocol):
    path = str(tmp_path / "cable.sock")
    here = Path(__file__).parent

    async def scenario():
        clock = Clock()
        model = SimModel(clock)
        bsp = SimControlPilot(model)
        opts = LinkOptions.from_config({"medium": "socket", "path": path, "slac": {"sounding_s": 0.2, "join_s": 0.2},
                                        "timeouts": {"secc_dc_loop_perf_s": 0.2}})
        evse_link = VirtualEvseLink(opts, LinkContext(clock, {"bsp": bsp}, {"sim_model": model}))
        evse = ScriptedEvse(bsp=bsp)
        await evse_link.open(evse.handle, EVSEOffer(evse_id="DE*PNX*E1*1", energy_transfer_modes=[ETM.DC_EXTENDED]))
        model.plug_in(32.0)
        await bsp.set_pwm_duty(5.0)
        await evse_link.start_matching()
        env = {**os.environ, "PYTHONPATH": str(here)}
        proc = await asyncio.create_subprocess_exec(sys.executable, str(here / "ev_process.py"), path, protocol,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                    env=env)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        await asyncio.wait_for(evse.ended.wait(), 10)
        await evse_link.close()
        return proc.returncode, out.decode(), err.decode(), evse, model

    rc, out, err, evse, model = asyncio.run(scenario())
    assert rc == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] and result["cause"] == "ev_stop", result
    assert result["session"] == evse.of(L.SessionSetup)[0].iso_session_id
    assert evse.of(L.SessionEnded)[0].cause is StopCause.EV_STOP
    assert len(evse.of(L.DCChargeLoopRequest)) == 3
    # the EV process drove the cable in this process: C for the cable check, back to B at the end
    assert evse.of(L.CableCheckRequest)
    assert not model.ev_contactor
