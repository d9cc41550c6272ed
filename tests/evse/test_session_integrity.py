"""Issue #10 item 8: link requests that arrive outside a session (after SessionStop, after the
session was finished, after unplug) must not move the state machine, must not touch the
finished session's journal row, and must not keep the next plug-in from starting a session.

Real sim board, real sqlite journal, scripted EV peer (conftest.py), virtual time. The late
requests are delivered through the link handler exactly as a link would deliver them.
"""
from __future__ import annotations

from freev2g.link import (
    CableCheckRequest,
    DCChargeLoopRequest,
    PowerDeliveryRequest,
    PreChargeRequest,
    SessionSetup,
    SessionStopRequest,
    WeldingDetectionRequest,
)
from freev2g.model.enums import ChargeProgress, ChargingSession, CPState, Protocol, ResponseCode, StopCause
from freev2g.evse.states import EvseState

X1_DUTY = 100.0
DC_DUTY = 5.0


def journal_row(h, sid):
    """The finished session's row and its event count, to check nothing changes it."""
    s = h.journal.session(sid)
    return (s.state, s.stop_cause, s.stop_detail, s.ended_at, s.energy_import_Wh, len(h.journal.events(sid)))


async def late_requests(h):
    """Every request a confused or late EV may still send once the session is over."""
    st = h.ev_status()
    answers = [
        await h.link.send(WeldingDetectionRequest(ev_status=st)),
        await h.link.send(CableCheckRequest(ev_status=st)),
        await h.link.send(PreChargeRequest(ev_status=st, target_voltage_V=400.0, target_current_A=2.0)),
        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1)),
        await h.link.send(DCChargeLoopRequest(ev_status=st, target_voltage_V=410.0, target_current_A=100.0)),
        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.STOP)),
        await h.link.send(SessionStopRequest(kind=ChargingSession.TERMINATE)),
    ]
    await h.settle(0.3)
    return answers


def assert_dead_output(h):
    assert not h.bsp.contactor_closed() and not h.model.evse_contactor
    assert h.model.psu_current_A == 0.0
    assert h.station.boards["power_supply"].read().current_A == 0.0


def test_late_requests_after_session_stop_change_nothing(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=4)
        await h.stop_dc()
        sid = h.session_id
        await h.settle(0.3)
        assert h.manager.state is EvseState.FINISHED
        before = journal_row(h, sid)
        assert before[0] == "Finished" and before[1] == StopCause.EV_STOP.value

        answers = await late_requests(h)

        assert h.manager.state is EvseState.FINISHED  # the state machine did not move
        assert journal_row(h, sid) == before  # the finished row and its events are untouched
        assert answers[0].response_code is not ResponseCode.OK  # WeldingDetection: not in a session
        assert answers[3].response_code is not ResponseCode.OK  # no PowerDelivery(Start)
        assert_dead_output(h)
        assert h.model.locked  # still plugged: stays locked until unplug
        await h.station.stop()

    virtual_loop(scenario())


def test_late_welding_request_after_unplug_does_not_wedge_the_next_plug_in(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=4)
        await h.stop_dc()
        sid = h.session_id
        h.ev.unplug()
        await h.settle(0.5)
        assert h.manager.state is EvseState.IDLE and h.manager.session is None
        before = journal_row(h, sid)

        await late_requests(h)
        # A SessionSetup with nothing plugged in opens no session either.
        setup = await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0102030405060708",
                                               evcc_id="000101637731"))
        await h.settle(0.3)
        assert setup is None or getattr(setup, "response_code", None) is not ResponseCode.OK
        assert h.manager.state is EvseState.IDLE and h.manager.session is None
        assert journal_row(h, sid) == before
        assert len(h.journal.sessions()) == 1
        assert_dead_output(h)
        assert h.bsp.pwm_duty_pct() == X1_DUTY and not h.model.locked

        # The next EV: plug-in opens a new session, 5 % PWM, and it charges.
        await h.start_dc()
        assert h.manager.session is not None and h.manager.session.session_id != sid
        assert h.bsp.pwm_duty_pct() == DC_DUTY
        answers = await h.loop(n=8)
        assert answers[-1].present_current_A > 20.0 and h.bsp.contactor_closed()
        await h.stop_dc()
        h.ev.unplug()
        await h.settle(0.5)
        rows = h.journal.sessions()
        assert [r.stop_cause for r in rows] == [StopCause.EV_STOP.value, StopCause.EV_STOP.value]
        assert rows[1].energy_import_Wh > 0.0
        await h.station.stop()

    virtual_loop(scenario())


def test_late_requests_after_an_evse_stop_keep_the_finished_row(virtual_loop, make_harness):
    """A session stopped by the EVSE (remote stop, the EV ignoring StopCharging) is closed; the
    EV's late requests and CP going back to B do not reopen it; re-plug gives a new session."""
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        assert await h.station.remote_stop(1)  # HLC: StopCharging, forced after evse_stop_grace_s
        await h.settle(6.0)
        assert_dead_output(h)
        before = journal_row(h, sid)
        assert before[1] == StopCause.REMOTE_STOP.value
        state = h.manager.state
        await late_requests(h)
        h.ev.set_cp_state(CPState.B)
        await h.settle(0.3)
        assert h.manager.state is state
        assert journal_row(h, sid) == before
        assert_dead_output(h)
        h.ev.set_contactor(False)
        h.ev.unplug()
        await h.settle(0.5)
        assert h.manager.state is EvseState.IDLE
        await h.start_dc()
        assert h.manager.session.session_id != sid
        await h.station.stop()

    virtual_loop(scenario())
