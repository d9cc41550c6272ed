"""DC ISO 15118-2 sessions end to end: Station + EvseManager + sim board + scripted EV peer."""
from __future__ import annotations

from freev2g.link import DCChargeLoopRequest, PowerDeliveryRequest
from freev2g.model.enums import (
    ChargeProgress,
    CPState,
    EVSEProcessing,
    EVSEStatusCode,
    IsolationLevel,
    ResponseCode,
    StopCause,
)


def test_dc_session_happy_path_charges_and_journals(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        cpd, cc, pd = await h.start_dc()
        assert h.link.matching_allowed == 1
        assert h.bsp.pwm_duty_pct() == 5.0  # DC: always 5 % (1.6)
        assert cpd.dc.max_voltage_V == 1000.0 and cpd.dc.max_power_W == 150_000.0
        assert cpd.schedules.tuples[0].covered_s >= 86_400
        assert cc.isolation is IsolationLevel.VALID
        assert pd.response_code is ResponseCode.OK
        answers = await h.loop(n=12, current_A=100.0)
        last = answers[-1]
        assert last.present_current_A > 50.0  # the supply ramps toward the target
        assert last.status_code is EVSEStatusCode.READY
        assert h.bsp.contactor_closed()
        welding = await h.stop_dc()
        assert welding[-1] < 60.0
        sid = h.session_id
        await h.settle(0.5)
        assert h.power_is_off()
        summary = h.journal.session(sid)
        assert summary.stop_cause == StopCause.EV_STOP.value
        assert summary.protocol == "iso2" and summary.iso_session_id == "0011223344556677"
        assert summary.energy_import_Wh > 10.0  # ~3 s at ~40 kW
        assert summary.ev_parameters["dc"]["ev_max_voltage_V"] == 420.0
        assert summary.evse_parameters["dc"]["max_power_W"] == 150_000.0
        assert len(h.journal.schedules(sid)) == 1
        assert len(h.journal.meter_values(sid)) >= 3
        states = [r.data["state"] for r in h.journal.events(sid) if r.kind == "StateChanged"]
        for expected in ("CableCheck", "PreCharge", "Charging", "StoppingCharging", "WeldingDetection", "Finished"):
            assert expected in states
        h.ev.unplug()
        await h.settle(0.5)
        assert h.kinds()[-1] == "Unplugged"
        assert not h.model.locked
        await h.station.stop()

    virtual_loop(scenario())


def test_charge_loop_respects_evse_and_ev_limits(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(dc={"max_current_A": 80.0, "max_power_W": 30_000.0})
        await h.start_dc()
        answers = await h.loop(n=12, current_A=150.0)
        last = answers[-1]
        assert last.current_limit_achieved
        assert last.evse_max_current_A == 80.0
        assert last.evse_max_power_W == 30_000.0
        # the supply never got more than min(80 A, 30 kW / 410 V)
        assert h.model.psu_i_set <= 30_000.0 / 410.0 + 1e-6
        capped = await h.link.send(DCChargeLoopRequest(
            ev_status=h.ev_status(), target_voltage_V=410.0, target_current_A=150.0, ev_max_current_A=20.0))
        assert capped.present_voltage_V > 300
        await h.settle(0.1)
        assert h.model.psu_i_set <= 20.0
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())


def test_power_delivery_with_unknown_tuple_is_refused(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        await h.cable_check()
        await h.precharge()
        pd = await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=7))
        assert pd.response_code is ResponseCode.FAILED_TARIFF_SELECTION_INVALID
        await h.station.stop()
        assert h.power_is_off()
        assert h.finished()[-1].cause is StopCause.PROCESS_SHUTDOWN

    virtual_loop(scenario())


def test_cable_check_waits_for_state_c(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        from freev2g.link import CableCheckRequest

        first = await h.link.send(CableCheckRequest(ev_status=h.ev_status()))
        assert first.processing is EVSEProcessing.ONGOING
        assert not h.bsp.contactor_closed()  # never energise in state B
        await h.settle(2.0)  # V2G_SECC_CPState_Detection_Timeout 1.5 s passes
        last = await h.link.send(CableCheckRequest(ev_status=h.ev_status()))
        assert last.response_code is ResponseCode.FAILED
        await h.settle(0.5)
        assert h.power_is_off()
        assert h.finished()[-1].cause is StopCause.CABLE_CHECK_FAILED
        assert h.ev.battery_soc_pct() >= 0 and h.bsp.cp_state() is CPState.B
        await h.station.stop()

    virtual_loop(scenario())
