"""EVSE emulator notification contents (issue #12 items 2, 3; whitebeet-hci.md 5.10, 8.3):
0x85 carries the EV's own maxima in PreCharge too, and 0x89 carries the ChargingProfile the EV
sent, nothing invented. Our EVSE host over the in-memory pair, scripted EV, virtual time."""
from __future__ import annotations

import asyncio

from freev2g import link as L
from freev2g.clock import Clock
from freev2g.framing import Frame, encode_frame
from freev2g.model.enums import ChargeProgress, StopCause
from freev2g_whitebeet.emulator.assemble import evse_emulator
from freev2g_whitebeet.messages import catalogue
from freev2g_whitebeet.transport.memory import memory_pair

from test_host_evse_memory import run_session
from wb_evse_app import EvseApp
from wb_record import NotificationTap

taps: list[NotificationTap] = []


def _tap(t):
    taps.append(NotificationTap(t))
    return taps[-1]


def test_pre_charge_0x85_carries_the_ev_maxima_not_the_evse_limits(virtual_loop):
    taps.clear()
    app = EvseApp()
    virtual_loop(run_session(app, wrap=_tap))
    assert [e.cause for e in app.ended] == [StopCause.EV_STOP]
    notes = taps[0].notes
    names = [n for n, _ in notes]
    pre = names.index("v2g.evse.pre_charge_started")
    dc = [(i, f) for i, (n, f) in enumerate(notes) if n == "v2g.evse.dc_parameters_changed"]
    in_pre_charge = [f for i, f in dc if i > pre]
    assert dc[0][0] < pre and in_pre_charge, names
    for _, f in dc:  # the scripted EV's ChargeParameterDiscovery: 450 V / 125 A / 50 kW
        assert (f.ev_max_voltage_V.value, f.ev_max_current_A.value, f.ev_max_power_W.value) == (450.0, 125.0, 50000.0), f
    assert in_pre_charge[0].target_voltage_V.value == 400.0  # and the EV's PreCharge target


def test_start_charging_requested_carries_the_ev_profile(virtual_loop):
    taps.clear()
    app = EvseApp()
    virtual_loop(run_session(app, wrap=_tap))
    [note] = taps[0].named("v2g.evse.start_charging_requested")
    # EvseApp's schedule is 50 kW from 0 s, 22 kW from 3600 s; the EV's maximum is 50 kW
    assert [(e.start_s, e.power_W.value) for e in note.profile] == [(0, 50000.0), (3600, 22000.0)]
    [start] = [e for e in app.events if isinstance(e, L.PowerDeliveryRequest) and e.progress is ChargeProgress.START]
    assert [(p.start_s, p.max_power_W) for p in start.profile] == [(0, 50000.0), (3600, 22000.0)]


def test_no_profile_from_the_ev_gives_no_entries(virtual_loop):
    """An EV without ChargingProfile (it is optional in PowerDeliveryReq): 0x89 has 0 entries."""
    cat = catalogue()

    async def main():
        clock = Clock()
        host_t, mod_t = memory_pair()
        emu = evse_emulator(mod_t, clock=clock)
        await emu.core.start()
        ask = asyncio.ensure_future(emu.v2g.handler(L.PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1)))
        f = Frame.from_bytes(await host_t.recv())
        spec = cat.from_module(f.module_id, f.sub_id)
        note = spec.decode(bytes(f.payload))
        cmd = cat["v2g.evse.start_charging"]
        await host_t.send(encode_frame(cmd.module, cmd.sub, 1, b"", checksum=True))
        answer = await ask
        await emu.core.stop()
        return spec.name, note, answer

    name, note, answer = virtual_loop(main())
    assert name == "v2g.evse.start_charging_requested"
    assert list(note.profile) == [] and note.tuple_id == 1
    assert not answer.response_code.is_failure
