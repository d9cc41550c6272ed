"""Every stop path ends with contactors open, PWM off or state F, and its cause in the journal
(ARCHITECTURE.md "Safety rules"). Real sim board; scripted EV peer; virtual time."""
from __future__ import annotations

import pytest

from freev2g.boards import VendorWarning
from freev2g.link import (
    CableCheckRequest,
    ChargeParameterRequest,
    DCChargeLoopRequest,
    PowerDeliveryRequest,
    SessionEnded,
    SessionSetup,
)
from freev2g.model.enums import (
    ChargeProgress,
    CPState,
    EnergyTransferMode,
    EVSENotification,
    EVSEProcessing,
    IsolationLevel,
    Protocol,
    ResponseCode,
    StopCause,
)
from freev2g.model.limits import ChargingLimitProfile, LimitPeriod, ProfileKind, ProfilePurpose


def journal_cause(h, sid):
    return h.journal.session(sid).stop_cause


def test_evse_remote_stop_asks_ev_to_stop_and_journals_remote_stop(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        assert await h.station.remote_stop(1)
        assert (EVSENotification.STOP_CHARGING, 0) in h.link.notifications
        answers = await h.loop(n=2)
        assert answers[-1].notification is EVSENotification.STOP_CHARGING
        assert answers[-1].evse_max_current_A == 0.0
        await h.stop_dc()  # the EV reacts: PowerDelivery(Stop), welding, SessionStop
        assert h.power_is_off()
        assert journal_cause(h, sid) == "remote_stop"
        await h.station.stop()

    virtual_loop(scenario())


def test_evse_stop_forces_power_off_when_ev_ignores_it(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        await h.station.remote_stop(1, StopCause.LOCAL_STOP)
        await h.settle(6.0)  # grace (5 s) passes without PowerDelivery(Stop)
        assert h.power_is_off()
        assert journal_cause(h, sid) == "local_stop"
        assert h.link.aborts and h.link.aborts[0][0] is StopCause.LOCAL_STOP
        await h.station.stop()

    virtual_loop(scenario())


def test_ev_pause_and_resume_keep_one_session(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        await h.stop_dc(pause=True)
        assert h.power_is_off() or h.bsp.pwm_duty_pct() == 5.0
        assert not h.bsp.contactor_closed()
        assert h.manager.state.value == "ChargingPausedEV"
        assert not h.finished()
        # resume: new V2G session joins the old one; DC needs cable check and precharge again
        await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0011223344556677",
                                       evcc_id="000101637731", resumed=True))
        await h.link.send(ChargeParameterRequest(mode=EnergyTransferMode.DC_EXTENDED, dc=h.dc_param()))
        await h.cable_check()
        await h.precharge()
        pd = await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        assert pd.response_code is ResponseCode.OK
        await h.loop(n=4)
        assert h.session_id == sid
        assert "ChargingPaused" in h.kinds() and "ChargingResumed" in h.kinds()
        await h.stop_dc()
        assert journal_cause(h, sid) == "ev_stop"
        assert h.power_is_off()
        await h.station.stop()

    virtual_loop(scenario())


def test_evse_pause_sets_zero_current_and_resume_restores(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=6)
        assert await h.manager.pause_charging()
        paused = await h.loop(n=8)
        assert paused[-1].evse_max_current_A == 0.0
        assert abs(paused[-1].present_current_A) < 1.0
        assert h.manager.state.value == "ChargingPausedEVSE"
        assert await h.manager.resume_charging()
        resumed = await h.loop(n=8)
        assert resumed[-1].present_current_A > 20.0
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())


def test_new_profile_while_charging_triggers_renegotiation(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        h.station.schedules.set_profile(ChargingLimitProfile(
            source="ocpp", profile_id=5, purpose=ProfilePurpose.TX, kind=ProfileKind.RELATIVE,
            periods=[LimitPeriod(0, 11_000.0)], transaction_id=sid, evse_index=1))
        assert h.link.notifications[-1][0] is EVSENotification.RENEGOTIATION
        answer = (await h.loop(n=1))[0]
        assert answer.notification is EVSENotification.RENEGOTIATION
        assert answer.evse_max_power_W == 11_000.0  # live limit meanwhile (6.2)
        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.RENEGOTIATE))
        cpd = await h.link.send(ChargeParameterRequest(mode=EnergyTransferMode.DC_EXTENDED, dc=h.dc_param(),
                                                       renegotiation=True, max_entries=12))
        assert cpd.schedules.tuples[0].entries[0].pmax_W == 11_000.0
        pd = await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        assert pd.response_code is ResponseCode.OK
        after = await h.loop(n=1)
        assert after[0].notification is EVSENotification.NONE
        reasons = [o.reason for o in h.journal.schedules(sid)]
        assert reasons == ["initial", "renegotiation"]
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())


def test_imd_fault_in_cable_check_stops_with_imd_fault(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        sid = h.session_id
        h.ev.set_cp_state(CPState.C)
        await h.settle(0.2)
        first = await h.link.send(CableCheckRequest(ev_status=h.ev_status()))
        assert first.processing is EVSEProcessing.ONGOING
        await h.settle(0.5)
        assert h.bsp.contactor_closed()
        h.model.inject("imd_fault")  # 50 kOhm < 100 kOhm, during the check
        cc = await h.cable_check()
        assert cc.isolation is IsolationLevel.FAULT and cc.response_code is ResponseCode.FAILED
        await h.settle(0.5)
        assert h.power_is_off()
        assert journal_cause(h, sid) == "imd_fault"
        assert "FaultRaised" in h.kinds()
        await h.station.stop()

    virtual_loop(scenario())


def test_imd_device_fault_fails_self_test(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        sid = h.session_id
        h.model.inject("imd_fault", mode="device")
        cc = await h.cable_check()
        assert cc.response_code is ResponseCode.FAILED
        await h.settle(0.5)
        assert h.power_is_off()
        assert journal_cause(h, sid) == "imd_fault"
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("duration_ms,off_after_0_6_s", [(400, True), (2000, False)])
def test_over_voltage_while_charging_uses_internal_duration(virtual_loop, make_harness, duration_ms, off_after_0_6_s):
    async def scenario():
        # the EV is silent during the waits: keep the charge-loop watch out of this test
        h = await make_harness(evse={"internal_over_voltage_duration_ms": duration_ms, "charge_loop_timeout_ms": 60_000})
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        h.model.inject("over_voltage", voltage_V=450.0)  # above EV max 420 V, below 550 V emergency
        await h.settle(0.2)
        assert h.bsp.contactor_closed()  # < duration: may continue (Table 104)
        await h.settle(0.4)
        assert h.power_is_off() is off_after_0_6_s
        await h.settle(2.0)
        assert h.power_is_off()
        assert journal_cause(h, sid) == "over_voltage"
        await h.station.stop()

    virtual_loop(scenario())


def test_emergency_over_voltage_stops_at_once(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"internal_over_voltage_duration_ms": 5000})
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        h.model.inject("over_voltage", voltage_V=600.0)  # > 550 V (Table 103, max <= 500 V)
        await h.settle(0.05)
        assert h.power_is_off()
        assert journal_cause(h, sid) == "over_voltage"
        await h.station.stop()

    virtual_loop(scenario())


def test_power_supply_fault_while_charging(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        h.model.inject("psu_fault")
        await h.settle(0.1)
        assert h.power_is_off()
        assert journal_cause(h, sid) == "power_supply_fault"
        assert h.link.aborts[-1][0] is StopCause.POWER_SUPPLY_FAULT
        await h.station.stop()

    virtual_loop(scenario())


def test_vendor_warning_is_logged_only(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        h.model.emit("power_supply", "fault", VendorWarning("fan speed low", device="sim.power_supply"))
        await h.settle(0.2)
        assert h.bsp.contactor_closed()
        assert not h.finished()
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("cause", [StopCause.LINK_TIMEOUT, StopCause.LINK_LOST])
def test_link_timeout_or_loss_while_charging(virtual_loop, make_harness, cause):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        await h.link.send(SessionEnded(cause=cause, detail="no CurrentDemandReq within 250 ms"))
        await h.settle(0.1)
        assert h.power_is_off()
        assert journal_cause(h, sid) == cause.value
        await h.station.stop()

    virtual_loop(scenario())


def test_cp_short_is_a_cp_fault(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        h.model.inject("cp_short")
        await h.settle(0.1)
        assert not h.bsp.contactor_closed()
        assert journal_cause(h, sid) == "cp_fault"
        await h.station.stop()

    virtual_loop(scenario())


def test_ev_error_status_stops(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        from freev2g.model.enums import EVErrorCode
        from freev2g.model.params import DCEVStatus

        await h.link.send(DCChargeLoopRequest(ev_status=DCEVStatus(ev_ready=False, error_code=EVErrorCode.RESS_MALFUNCTION),
                                              target_voltage_V=400.0, target_current_A=10.0))
        sid = h.session_id
        await h.settle(0.1)
        assert h.power_is_off()
        assert journal_cause(h, sid) == "ev_fault"
        await h.station.stop()

    virtual_loop(scenario())


def test_welded_contactor_goes_to_state_f(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        h.model.inject("contactor_welded")
        await h.settle(0.2)
        assert h.bsp.pwm_duty_pct() == 0.0  # state F: EVSE not available
        assert any(e.kind == "FaultRaised" and "contactor" in e.detail for e in h.events)
        await h.station.stop()
        assert h.bsp.contactor_closed()  # still welded
        assert h.bsp.pwm_duty_pct() == 0.0  # so the CP stays in state F, never X1

    virtual_loop(scenario())


def test_station_stop_while_charging_is_process_shutdown(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        await h.station.stop()
        assert h.power_is_off()
        assert h.finished()[-1].cause is StopCause.PROCESS_SHUTDOWN
        assert h.link.closed
        from freev2g.journal import Journal

        with Journal(h.journal.path) as reopened:
            assert reopened.session(sid).stop_cause == "process_shutdown"

    virtual_loop(scenario())


STAGES = ["plugged", "charge_parameters", "cable_check", "precharge", "charging", "welding"]


@pytest.mark.parametrize("stage", STAGES)
def test_unplug_in_every_state(virtual_loop, make_harness, stage):
    async def scenario():
        h = await make_harness()
        if stage == "plugged":
            h.ev.plug_in()
            await h.settle(1.0)
        else:
            await h.dc_until_charge_parameters()
        sid = h.session_id
        if stage == "cable_check":
            h.ev.set_cp_state(CPState.C)
            await h.settle(0.2)
            first = await h.link.send(CableCheckRequest(ev_status=h.ev_status()))
            assert first.processing is EVSEProcessing.ONGOING
            await h.settle(1.0)
            assert h.bsp.contactor_closed()  # mid cable check: energised at the test voltage
        if stage in ("precharge", "charging", "welding"):
            await h.cable_check()
            await h.precharge()
        if stage in ("charging", "welding"):
            await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
            await h.loop(n=4)
        if stage == "welding":
            await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.STOP))
        h.ev.unplug()
        await h.settle(0.1)
        assert not h.bsp.contactor_closed()
        assert h.bsp.pwm_duty_pct() == 100.0
        assert journal_cause(h, sid) == "ev_unplugged"
        await h.settle(0.5)  # the lock takes 0.3 s to open
        assert h.kinds()[-1] == "Unplugged"
        assert not h.model.locked
        await h.station.stop()

    virtual_loop(scenario())


def test_profile_changed_before_the_charge_loop_is_renegotiated_once_charging(virtual_loop, make_harness):
    """A limit that changes after the offer but before PowerDelivery(Start) must not be lost:
    ReNegotiation can only travel in loop responses, so it goes out with the first one."""

    async def scenario():
        h = await make_harness()
        cpd = await h.dc_until_charge_parameters()
        assert cpd.schedules.tuples[0].entries[0].pmax_W > 11_000.0
        await h.cable_check()
        h.station.schedules.set_profile(ChargingLimitProfile(
            source="ocpi", profile_id=9, purpose=ProfilePurpose.TX, kind=ProfileKind.RELATIVE,
            periods=[LimitPeriod(0, 11_000.0)], transaction_id=h.session_id, evse_index=1))
        assert not h.link.notifications, "nothing can be notified before the charge loop"
        await h.precharge()
        pd = await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        assert pd.response_code is ResponseCode.OK
        first = (await h.loop(n=1))[0]
        assert first.notification is EVSENotification.RENEGOTIATION
        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.RENEGOTIATE))
        again = await h.link.send(ChargeParameterRequest(mode=EnergyTransferMode.DC_EXTENDED, dc=h.dc_param(),
                                                         renegotiation=True, max_entries=12))
        assert again.schedules.tuples[0].entries[0].pmax_W == 11_000.0
        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        assert (await h.loop(n=1))[0].notification is EVSENotification.NONE
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())
