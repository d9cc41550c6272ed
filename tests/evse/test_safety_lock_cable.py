"""Issue #10 items 5-7: the connector lock and the cable-side voltage (charging-domain.md 5.1, 5.5).

5. CP A while the cable side is above 60 V never unlocks; the lock opens by itself once the
   cable is below 60 V, or a named fault is recorded when it never gets there.
6. Cable check puts no voltage on the output until the lock has confirmed locked; a lock that
   fails or times out ends the session with `connector_lock_fault` before anything is energised.
7. The below-60 V checks around cable check read the cable side; a live cable before cable
   check ends the session with `cable_live`.

Real sim board (its `cp_open` fault cuts the CP wire with the connector still mated, so the EVSE
measures A while the DC pins stay live), real Station and journal, scripted EV peer, virtual
time. Faked: nothing, except one test that removes the IMD's optional cable-side reading to
model a board without one.
"""
from __future__ import annotations

import asyncio

from freev2g.link import (
    AuthorizationRequest,
    CableCheckRequest,
    ChargeParameterRequest,
    PaymentSelected,
    PowerDeliveryRequest,
    SessionSetup,
)
from freev2g.model.enums import (
    ChargeProgress,
    CPState,
    EnergyTransferMode,
    EVSEProcessing,
    PaymentOption,
    Protocol,
    ResponseCode,
    StopCause,
)
from freev2g.model.params import ACEVChargeParameter

X1_DUTY = 100.0


def journal_faults(h, sid: str, cause: StopCause) -> list[str]:
    return [r.data.get("detail", "") for r in h.journal.events(sid)
            if r.kind == "FaultRaised" and r.data.get("cause") == cause.value]


def watch_unlock(h) -> list[float]:
    """Cable-side (EV inlet) voltage at each moment an unlock of the (locked) sim lock starts:
    the driver's own unlock, wrapped to take the reading first."""
    seen: list[float] = []
    lock = h.station.boards["connector_lock"]
    unlock = lock.unlock

    async def measured_unlock():
        if lock.is_locked():
            seen.append(h.model.inlet_voltage_V())
        await unlock()

    lock.unlock = measured_unlock
    return seen


class UnlockedVoltage:
    """Highest output voltage (supply and cable side) seen while the connector is not locked,
    sampled every 10 ms of virtual time by a task of the test."""

    def __init__(self, h):
        self.h = h
        self.highest_V = 0.0
        self.closed_while_unlocked = False
        self._task = None

    async def _run(self):
        m = self.h.model
        while True:
            if not m.locked:
                self.highest_V = max(self.highest_V, m.psu_reading()[0], m.inlet_voltage_V())
                self.closed_while_unlocked |= m.evse_contactor
            await self.h.clock.sleep(0.01)

    def start(self):
        self._task = self.h.station.manager(1).spawn(self._run())
        return self


async def _cable_check_until_finished(h, attempts: int = 200):
    h.ev.set_cp_state(CPState.C)
    await h.settle(0.2)
    cc = None
    for _ in range(attempts):
        cc = await h.link.send(CableCheckRequest(ev_status=h.ev_status()))
        if cc.processing is EVSEProcessing.FINISHED:
            break
        await h.settle(0.25)
    return cc


# ---------------------------------------------------------------------------------- item 5

def test_5_cp_a_with_a_live_cable_keeps_the_lock_until_the_cable_is_below_60V(virtual_loop, make_harness):
    async def scenario():
        # the inlet side discharges at 200 V/s once both contactors are open
        h = await make_harness(board_options={"evse": {"cable_discharge_V_per_s": 200.0}})
        unlocks = watch_unlock(h)
        lock = h.station.boards["connector_lock"]
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        assert lock.is_locked() and h.ev.contactor_closed()
        h.model.inject("cp_open")  # EVSE measures A; the EV contactor stays closed
        await h.settle(1.0)
        print(f"\n[measure] CP A with the cable at {h.ev.inlet_voltage_V():.1f} V: unlocked at "
              f"{[round(v, 1) for v in unlocks]} V (locked={lock.is_locked()})")
        # safe: contactor open, supply off, PWM off, session closed - but still locked
        assert h.bsp.cp_state() is CPState.A
        assert not h.bsp.contactor_closed() and h.model.psu_mode == "off"
        assert h.bsp.pwm_duty_pct() == X1_DUTY
        assert h.ev.inlet_voltage_V() > 300.0
        assert lock.is_locked(), f"unlocked with the cable at {unlocks} V"
        assert unlocks == []
        assert h.journal.session(sid).stop_cause == StopCause.EV_UNPLUGGED.value
        assert journal_faults(h, sid, StopCause.CABLE_LIVE)
        # the EV opens its contactor: the cable side discharges, the lock opens by itself
        h.ev.set_contactor(False)
        t0 = h.clock.monotonic()
        await h.settle(0.5)
        assert lock.is_locked() and h.ev.inlet_voltage_V() > 60.0  # still discharging
        while lock.is_locked() and h.clock.monotonic() - t0 < 5.0:
            await h.settle(0.05)
        print(f"[measure] after the EV contactor opened: unlocked at {[round(v, 1) for v in unlocks]} V, "
              f"{h.clock.monotonic() - t0:.2f} s later (lock takes 0.3 s)")
        assert not lock.is_locked()
        assert len(unlocks) == 1 and unlocks[0] < 60.0
        await h.station.stop()

    virtual_loop(scenario())


def test_5_cable_that_never_discharges_is_a_named_fault_and_stays_locked(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        lock = h.station.boards["connector_lock"]
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        h.model.inject("cp_open")
        wait_s = getattr(h.manager.tunables, "unlock_discharge_timeout_s", 10.0)
        await h.settle(wait_s + 2.0)
        assert lock.is_locked()
        assert not h.bsp.contactor_closed() and h.model.psu_mode == "off"
        assert h.bsp.pwm_duty_pct() == X1_DUTY
        details = journal_faults(h, sid, StopCause.CABLE_LIVE)
        assert any("stays locked" in d and "after" in d for d in details), details
        # the wait is bounded: a late discharge no longer unlocks by itself; the remote unlock does
        h.ev.set_contactor(False)
        await h.settle(1.0)
        assert lock.is_locked()
        assert await h.station.unlock_connector(1) is True
        assert not lock.is_locked()
        await h.station.stop()

    virtual_loop(scenario())


def test_5_plain_unplug_with_a_dead_cable_unlocks_at_once(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        unlocks = watch_unlock(h)
        lock = h.station.boards["connector_lock"]
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        h.ev.set_contactor(False)
        h.model.inject("cp_open")
        await h.settle(1.0)
        assert not lock.is_locked() and len(unlocks) == 1 and unlocks[0] < 60.0
        assert not journal_faults(h, sid, StopCause.CABLE_LIVE)
        await h.station.stop()

    virtual_loop(scenario())


# ---------------------------------------------------------------------------------- item 6

def test_6_lock_that_fails_ends_the_session_before_anything_is_energised(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"lock_connector_in_state_b": False})
        await h.dc_until_charge_parameters()
        sid = h.session_id
        h.model.inject("lock_failure", mode="lock")
        watch = UnlockedVoltage(h).start()
        cc = await _cable_check_until_finished(h)
        print(f"\n[measure] cable check {cc.status_code.name}: highest output voltage while unlocked "
              f"{watch.highest_V:.1f} V")
        await h.settle(1.0)
        assert cc.processing is EVSEProcessing.FINISHED and cc.status_code.name == "SHUTDOWN"
        assert not h.model.locked
        assert watch.highest_V < 60.0, f"{watch.highest_V:.0f} V on an unlocked connector"
        assert not watch.closed_while_unlocked
        assert not h.bsp.contactor_closed() and h.bsp.pwm_duty_pct() == X1_DUTY
        assert h.journal.session(sid).stop_cause == StopCause.CONNECTOR_LOCK_FAULT.value
        await h.station.stop()

    virtual_loop(scenario())


def test_6_lock_that_never_confirms_times_out_with_connector_lock_fault(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"lock_connector_in_state_b": False}, board_options={"lock": {"lock_time_s": 120.0}})
        await h.dc_until_charge_parameters()
        sid = h.session_id
        watch = UnlockedVoltage(h).start()
        cc = await _cable_check_until_finished(h)
        print(f"\n[measure] cable check {cc.status_code.name}: highest output voltage while unlocked "
              f"{watch.highest_V:.1f} V")
        await h.settle(1.0)
        assert cc.processing is EVSEProcessing.FINISHED and cc.status_code.name == "SHUTDOWN"
        assert watch.highest_V < 60.0, f"{watch.highest_V:.0f} V on an unlocked connector"
        assert not watch.closed_while_unlocked
        assert not h.bsp.contactor_closed()
        summary = h.journal.session(sid)
        assert summary.stop_cause == StopCause.CONNECTOR_LOCK_FAULT.value
        assert "not locked" in (summary.stop_detail or ""), summary.stop_detail
        await h.station.stop()

    virtual_loop(scenario())


def test_6_working_lock_confirms_before_the_test_voltage(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"lock_connector_in_state_b": False}, board_options={"lock": {"lock_time_s": 1.5}})
        await h.dc_until_charge_parameters()
        watch = UnlockedVoltage(h).start()
        cc = await _cable_check_until_finished(h)
        print(f"\n[measure] cable check {cc.status_code.name}: highest output voltage while unlocked "
              f"{watch.highest_V:.1f} V")
        assert cc.status_code.name == "READY", cc
        assert h.model.locked
        assert watch.highest_V < 60.0, f"{watch.highest_V:.0f} V on an unlocked connector"
        assert not watch.closed_while_unlocked
        await h.station.stop()

    virtual_loop(scenario())


# ---------------------------------------------------------------------------------- item 7

def test_7_live_cable_before_cable_check_ends_with_cable_live(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        sid = h.session_id
        h.ev.set_contactor(True)  # EV contactor closed (early or welded): battery on the cable
        assert h.ev.inlet_voltage_V() > 300.0 and h.model.psu_reading()[0] < 60.0
        closed = []
        h.model.subscribe("bsp", lambda e: closed.append(e.value) if e.kind == "relay" else None)
        cc = await _cable_check_until_finished(h)
        await h.settle(1.0)
        assert cc.status_code.name == "SHUTDOWN"
        assert True not in closed, "EVSE contactor closed onto a live cable"
        assert not h.bsp.contactor_closed() and h.model.psu_mode == "off"
        summary = h.journal.session(sid)
        print(f"\n[measure] live cable before cable check: {summary.stop_cause}: {summary.stop_detail}")
        assert summary.stop_cause == StopCause.CABLE_LIVE.value, (summary.stop_cause, summary.stop_detail)
        assert "cable" in summary.stop_detail and "60 V" in summary.stop_detail
        await h.station.stop()

    virtual_loop(scenario())


def test_7_board_without_a_cable_reading_uses_the_supply_side(virtual_loop, make_harness):
    """Faked: the IMD's optional cable_voltage_V is removed (a board without that reading)."""

    async def scenario():
        h = await make_harness()
        h.station.boards["imd"].cable_voltage_V = None
        await h.dc_until_charge_parameters()
        cc = await _cable_check_until_finished(h)
        assert cc.status_code.name == "READY"
        assert h.model.psu_reading()[0] < 60.0
        await h.station.stop()

    virtual_loop(scenario())


def test_6_ac_lock_that_never_confirms_ends_the_session_without_closing(virtual_loop, make_harness):
    """Basic AC charging: a lock that never confirms ends the session with connector_lock_fault
    and the contactor never closes (before, the CP handling waited for it without end)."""

    async def scenario():
        h = await make_harness(evse={"charge_mode": "AC", "lock_connector_in_state_b": False},
                               board_options={"lock": {"lock_time_s": 120.0}})
        h.ev.plug_in()
        await h.settle(1.0)
        sid = h.session_id
        closed = []
        h.model.subscribe("bsp", lambda e: closed.append(e.value) if e.kind == "relay" else None)
        h.ev.set_ac_current_draw(16.0, 3)
        h.ev.set_cp_state(CPState.C)
        await h.settle(h.manager.tunables.lock_confirm_timeout_s + 2.0)
        assert True not in closed and not h.bsp.contactor_closed()
        assert h.model.ac_current_A == 0.0
        summary = h.journal.session(sid)
        assert summary is not None and summary.stop_cause == StopCause.CONNECTOR_LOCK_FAULT.value, summary
        await h.station.stop()

    virtual_loop(scenario())


def test_6_lock_that_opens_while_energised_stops_with_connector_lock_fault(virtual_loop, make_harness):
    """The lock opens under load (released by hand or failing open: the driver's own unlock
    called from outside the EvseManager): the output is switched off at once."""

    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=2)
        sid = h.session_id
        assert h.bsp.contactor_closed() and h.model.psu_current_A > 50.0
        await h.station.boards["connector_lock"].unlock()
        await h.settle(1.0)
        assert not h.bsp.contactor_closed() and h.model.psu_mode == "off"
        assert h.model.psu_current_A == 0.0
        assert h.journal.session(sid).stop_cause == StopCause.CONNECTOR_LOCK_FAULT.value
        await h.station.stop()

    virtual_loop(scenario())


def test_6_ac_hlc_power_delivery_closes_only_once_the_lock_has_confirmed(virtual_loop, make_harness):
    """AC with HLC: PowerDelivery(Start) right after C must not close the contactor on an
    unlocked connector (the lock takes 1.5 s here)."""

    async def scenario():
        h = await make_harness(evse={"charge_mode": "AC", "ac_hlc_enabled": True, "ac_hlc_use_5percent": True,
                                     "ac_enforce_hlc": True, "lock_connector_in_state_b": False},
                               board_options={"lock": {"lock_time_s": 1.5}})
        h.ev.plug_in()
        await h.settle(0.5)
        await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="aabbccddeeff0011", evcc_id="0a0b0c0d0e0f"))
        await h.link.send(PaymentSelected(option=PaymentOption.EXTERNAL_PAYMENT))
        await h.link.send(AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT))
        await h.link.send(ChargeParameterRequest(
            mode=EnergyTransferMode.AC_THREE_PHASE_CORE,
            ac=ACEVChargeParameter(e_amount_Wh=10_000, ev_max_voltage_V=400, ev_max_current_A=32, ev_min_current_A=6),
            max_entries=3))
        closed_unlocked = []
        h.model.subscribe("bsp", lambda e: closed_unlocked.append(not h.model.locked)
                          if e.kind == "relay" and e.value is True else None)
        h.ev.set_cp_state(CPState.C)
        pd = await asyncio.ensure_future(h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1)))
        await h.settle(2.0)
        print(f"\n[measure] AC HLC PowerDelivery(Start) {pd.response_code.name}: contactor closed while unlocked "
              f"{closed_unlocked}")
        assert pd.response_code is ResponseCode.OK
        assert h.model.locked and h.bsp.contactor_closed()
        assert closed_unlocked == [False], closed_unlocked
        await h.station.stop()

    virtual_loop(scenario())
