"""Safety issue #10, energy transfer (items 1-4): the EVSE's own charge-loop watch, no current
outside PowerDelivery(Start)..(Stop), the EV's error status in CableCheck/PreCharge, and the
isolation readings during charging.

Real sim board (freev2g-evse-board), real Station and journal (sqlite in tmp_path), scripted EV
peer (the EvseLink interface a real link uses), virtual time. The physical outcome is read from
the sim model: EVSE contactor, supply output current and voltage, CP generator, lock.

Faked on purpose: a degraded cable insulation is modelled by changing the sim IMD's configured
resistances while charging (the sim has no ageing model); no fault event is raised for it, which
is the case item 4 is about (an IMD that only reports readings).
"""
from __future__ import annotations

import asyncio

import attrs
import pytest

from freev2g.link import (
    ACChargeLoopRequest,
    AuthorizationRequest,
    CableCheckRequest,
    ChargeParameterRequest,
    DCChargeLoopRequest,
    PaymentSelected,
    PowerDeliveryRequest,
    PreChargeRequest,
    SessionSetup,
)
from freev2g.model.enums import (
    ChargeProgress,
    CPState,
    EnergyTransferMode,
    EVErrorCode,
    EVSEStatusCode,
    PaymentOption,
    Protocol,
    ResponseCode,
)
from freev2g.model.params import ACEVChargeParameter, DCEVStatus

X1_DUTY = 100.0


def summary(h, sid):
    return h.journal.session(sid)


def live(h) -> bool:
    """The EVSE output carries current: contactor closed and more than 1 A flowing."""
    m = h.model
    m.update()
    return m.evse_contactor and (abs(m.psu_current_A) > 1.0 or m.ac_current_A > 1.0)


async def time_until_dead(h, limit_s: float, step_s: float = 0.01) -> float | None:
    """Sim seconds until the contactor is open and no current flows (None: still live)."""
    start = h.clock.monotonic()
    while h.clock.monotonic() - start < limit_s:
        h.model.update()
        if not h.model.evse_contactor and abs(h.model.psu_current_A) < 0.5 and h.model.ac_current_A < 0.5:
            return h.clock.monotonic() - start
        await h.clock.sleep(step_s)
    return None


def assert_dc_dead(h) -> None:
    m = h.model
    m.update()
    assert not m.evse_contactor, "EVSE contactor still closed"
    assert abs(m.psu_current_A) < 0.5, f"output current {m.psu_current_A:.1f} A"
    assert m.psu_mode == "off", f"supply in mode {m.psu_mode}"
    assert h.bsp.pwm_duty_pct() == X1_DUTY, f"CP duty {h.bsp.pwm_duty_pct()} (expected X1)"


# ---------------------------------------------------------------------------------- item 1


@pytest.mark.parametrize("protocol", [Protocol.DIN70121, Protocol.ISO15118_2, Protocol.ISO15118_20])
def test_silent_dc_ev_in_the_charge_loop_is_cut_off(virtual_loop, make_harness, protocol, capsys):
    """The EV stops sending CurrentDemandReq / DC_ChargeLoopReq but keeps its link open."""
    async def scenario():
        h = await make_harness()
        await h.start_dc(protocol=protocol)
        await h.loop(n=6, current_A=150.0)
        sid = h.session_id
        await h.link.send(loop_request(h))  # the last request: the EV is silent from here
        assert live(h) and h.model.psu_current_A > 100.0
        dead_after = await time_until_dead(h, 10.0)
        with capsys.disabled():
            print(f"\n[measure] {protocol.value}: silent EV -> contactor open, 0 A after "
                  f"{'never (10 s)' if dead_after is None else f'{dead_after * 1000:.0f} ms'} sim time")
        assert dead_after is not None, "a silent EV still gets current after 10 s"
        await h.settle(1.0)
        assert_dc_dead(h)
        assert h.model.locked, "the lock opens only on unplug with the cable below 60 V"
        s = summary(h, sid)
        assert s.stop_cause == "link_timeout"
        assert s.stop_detail == "no charge-loop request for 1000 ms"
        await h.station.stop()

    virtual_loop(scenario())


def test_charge_loop_watch_timeout_is_configurable(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"charge_loop_timeout_ms": 3000})
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        await h.settle(2.0)  # silent, but within the configured 3 s
        assert live(h)
        await h.loop(n=1)  # a request in time restarts the watch
        await h.settle(2.5)
        assert live(h)
        await h.settle(1.5)
        assert_dc_dead(h)
        assert summary(h, sid).stop_detail == "no charge-loop request for 3000 ms"
        await h.station.stop()

    virtual_loop(scenario())


async def ac_hlc_until_power_delivery(h):
    h.ev.plug_in()
    await h.settle(0.5)
    await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="aabbccddeeff0011", evcc_id="0a0b0c0d0e0f"))
    await h.link.send(PaymentSelected(option=PaymentOption.EXTERNAL_PAYMENT))
    auth = await h.link.send(AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT))
    assert auth.accepted
    await h.link.send(ChargeParameterRequest(
        mode=EnergyTransferMode.AC_THREE_PHASE_CORE,
        ac=ACEVChargeParameter(e_amount_Wh=10_000, ev_max_voltage_V=400, ev_max_current_A=32, ev_min_current_A=6),
        max_entries=3))
    h.ev.set_cp_state(CPState.C)
    await h.settle(0.2)


AC_HLC = {"charge_mode": "AC", "ac_hlc_enabled": True, "ac_hlc_use_5percent": True, "ac_enforce_hlc": True}


def test_silent_ac_hlc_ev_is_cut_off(virtual_loop, make_harness, capsys):
    """AC with HLC: the EV stops sending ChargingStatusReq / AC_ChargeLoopReq and keeps drawing."""
    async def scenario():
        h = await make_harness(evse=AC_HLC)
        await ac_hlc_until_power_delivery(h)
        pd = await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        assert pd.response_code is ResponseCode.OK
        h.ev.set_ac_current_draw(16.0, 3)
        for _ in range(6):
            await h.settle(0.25)
            await h.link.send(ACChargeLoopRequest())  # the last one: silent from here
        sid = h.session_id
        assert live(h) and h.model.ac_current_A > 10.0
        dead_after = await time_until_dead(h, 10.0)
        with capsys.disabled():
            print(f"\n[measure] AC HLC: silent EV -> contactor open, 0 A after "
                  f"{'never (10 s)' if dead_after is None else f'{dead_after * 1000:.0f} ms'} sim time")
        assert dead_after is not None, "a silent AC EV still gets current after 10 s"
        await h.settle(0.5)
        assert not h.bsp.contactor_closed() and h.model.ac_current_A == 0.0
        assert h.bsp.pwm_duty_pct() == X1_DUTY
        s = summary(h, sid)
        assert (s.stop_cause, s.stop_detail) == ("link_timeout", "no charge-loop request for 3000 ms")
        await h.station.stop()

    virtual_loop(scenario())


# ---------------------------------------------------------------------------------- item 2


def loop_request(h, current_A=150.0):
    return DCChargeLoopRequest(ev_status=h.ev_status(), target_voltage_V=410.0, target_current_A=current_A,
                               ev_max_voltage_V=420.0, ev_max_current_A=200.0)


def test_no_current_before_power_delivery_start(virtual_loop, make_harness):
    """A link that passes CurrentDemandReq after PreCharge but before PowerDelivery(Start)."""
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        await h.cable_check()
        await h.precharge()  # EV contactor closed, output at the battery voltage
        peak = 0.0
        for _ in range(8):
            answer = await h.link.send(loop_request(h))
            await h.settle(0.25)
            h.model.update()
            peak = max(peak, abs(h.model.psu_current_A))
        assert peak < 3.0, f"{peak:.0f} A before PowerDelivery(Start)"  # precharge current at most
        assert answer.status_code is EVSEStatusCode.SHUTDOWN
        assert answer.response_code is ResponseCode.FAILED_SEQUENCE_ERROR
        assert answer.evse_max_current_A in (None, 0.0)
        await h.station.stop()

    virtual_loop(scenario())


def test_no_current_after_power_delivery_stop(virtual_loop, make_harness):
    """CurrentDemandReq arriving while PowerDelivery(Stop) ramps the current down."""
    async def scenario():
        h = await make_harness()
        await h.start_dc()
        await h.loop(n=6, current_A=150.0)
        assert h.model.psu_current_A > 100.0
        stop = asyncio.ensure_future(h.link.send(PowerDeliveryRequest(progress=ChargeProgress.STOP)))
        await asyncio.sleep(0)
        currents, setpoints = [], []
        for _ in range(10):
            await h.link.send(loop_request(h))
            await h.settle(0.1)
            h.model.update()
            currents.append(abs(h.model.psu_current_A) if h.model.evse_contactor else 0.0)
            setpoints.append(h.model.psu_i_set if h.model.psu_mode != "off" else 0.0)
        await stop
        # the supply ramps down at its slew rate; the setpoint must stay 0 and the current fall
        assert max(setpoints) == 0.0, f"current setpoints after PowerDelivery(Stop): {setpoints}"
        assert currents == sorted(currents, reverse=True) and currents[-1] == 0.0, currents
        assert not h.model.evse_contactor
        await h.station.stop()

    virtual_loop(scenario())


def test_no_ac_current_offered_before_power_delivery_start(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse=AC_HLC)
        await ac_hlc_until_power_delivery(h)
        answer = await h.link.send(ACChargeLoopRequest())
        assert answer.evse_max_current_A == 0.0 and answer.response_code is ResponseCode.FAILED_SEQUENCE_ERROR
        assert not h.bsp.contactor_closed()
        await h.station.stop()

    virtual_loop(scenario())


# ---------------------------------------------------------------------------------- item 3

BAD_STATUS = [
    pytest.param(DCEVStatus(ev_ready=False, soc_pct=40.0), "EV not ready", id="not-ready"),
    pytest.param(DCEVStatus(ev_ready=True, error_code=EVErrorCode.RESS_MALFUNCTION, soc_pct=40.0),
                 EVErrorCode.RESS_MALFUNCTION.value, id="error-code"),
]


@pytest.mark.parametrize("status,detail_part", BAD_STATUS)
def test_ev_error_status_in_cable_check_stops_before_energising(virtual_loop, make_harness, status, detail_part):
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        sid = h.session_id
        h.ev.set_cp_state(CPState.C)
        await h.settle(0.2)
        closed_ever = False
        peak_V = 0.0
        for _ in range(12):
            answer = await h.link.send(CableCheckRequest(ev_status=status))
            await h.settle(0.25)
            h.model.update()
            closed_ever |= h.model.evse_contactor
            peak_V = max(peak_V, h.model.psu_voltage_V)
        assert not closed_ever and peak_V < 60.0, f"energised for a faulty EV: {peak_V:.0f} V"
        assert answer.response_code is ResponseCode.FAILED
        assert_dc_dead(h)
        s = summary(h, sid)
        assert s.stop_cause == "ev_fault" and "CableCheckReq" in s.stop_detail and detail_part in s.stop_detail
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("status,detail_part", BAD_STATUS)
def test_ev_error_status_in_precharge_stops_and_de_energises(virtual_loop, make_harness, status, detail_part):
    async def scenario():
        h = await make_harness()
        await h.dc_until_charge_parameters()
        sid = h.session_id
        await h.cable_check()
        target = h.ev.battery_voltage_V()
        await h.link.send(PreChargeRequest(ev_status=h.ev_status(), target_voltage_V=target, target_current_A=2.0))
        await h.settle(0.5)
        assert h.model.evse_contactor and h.model.psu_voltage_V > 60.0
        answer = await h.link.send(PreChargeRequest(ev_status=status, target_voltage_V=target, target_current_A=2.0))
        assert answer.response_code is ResponseCode.FAILED
        await h.settle(0.5)
        assert_dc_dead(h)
        s = summary(h, sid)
        assert s.stop_cause == "ev_fault" and "PreChargeReq" in s.stop_detail and detail_part in s.stop_detail
        await h.station.stop()

    virtual_loop(scenario())


# ---------------------------------------------------------------------------------- item 4


def set_insulation(h, ohm: float) -> None:
    """Degraded (or restored) insulation DC+/DC- to PE in the sim model; no fault event."""
    imd = attrs.evolve(h.model.config.imd, resistance_F_Ohm=ohm, resistance_N_Ohm=ohm)
    h.model.config = attrs.evolve(h.model.config, imd=imd)


def test_low_isolation_reading_while_charging_stops_with_isolation_fault(virtual_loop, make_harness, capsys):
    async def scenario():
        h = await make_harness(evse={"isolation_fault_duration_ms": 2000})
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        set_insulation(h, 80_000.0)  # below the 100 kOhm threshold (IEC 61851-23:2023)
        for _ in range(4):  # 1 s below: shorter than the configured 2 s
            await h.loop(n=1)
        assert live(h)
        start = h.clock.monotonic()
        while live(h) and h.clock.monotonic() - start < 10.0:
            await h.loop(n=1)
        with capsys.disabled():
            print(f"\n[measure] isolation 80 kOhm -> de-energised after "
                  f"{(h.clock.monotonic() - start + 1.0) * 1000:.0f} ms sim time (duration 2000 ms)")
        await h.settle(0.5)
        assert_dc_dead(h)
        s = summary(h, sid)
        assert s.stop_cause == "isolation_fault"
        assert "80000 Ohm" in s.stop_detail and "100000 Ohm" in s.stop_detail
        await h.station.stop()

    virtual_loop(scenario())


def test_short_isolation_dip_does_not_stop(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"isolation_fault_duration_ms": 2000})
        await h.start_dc()
        await h.loop(n=4)
        set_insulation(h, 80_000.0)
        await h.loop(n=4)  # 1 s below
        set_insulation(h, 5e6)
        await h.loop(n=4)
        set_insulation(h, 80_000.0)  # the time below starts again
        await h.loop(n=6)
        assert live(h) and not h.finished()
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("key", ["charge_loop_timeout_ms", "ac_charge_loop_timeout_ms"])
def test_a_zero_charge_loop_timeout_is_a_config_error(key):
    """0 ms would stop every session at PowerDelivery(Start): rejected, naming the key."""
    from freev2g.config import ConfigError, parse_station_config

    with pytest.raises(ConfigError) as err:
        parse_station_config({"evse": {"charge_mode": "DC", key: 0}})
    assert err.value.problems == [f"evse.{key} must be > 0, got 0"]
    assert getattr(parse_station_config({"evse": {key: 250}}).evse, key) == 250


def test_isolation_threshold_is_a_station_key(virtual_loop, make_harness):
    """[evse] isolation_fault_threshold_Ohm sets the threshold the charging watch applies: at
    50 kOhm an 80 kOhm reading keeps charging, 40 kOhm stops it with isolation_fault."""
    async def scenario():
        h = await make_harness(evse={"isolation_fault_duration_ms": 1000, "isolation_fault_threshold_Ohm": 50_000.0})
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        set_insulation(h, 80_000.0)
        await h.loop(n=12)  # 3 s above the configured threshold
        assert live(h) and not h.finished()
        set_insulation(h, 40_000.0)
        start = h.clock.monotonic()
        while live(h) and h.clock.monotonic() - start < 10.0:
            await h.loop(n=1)
        await h.settle(0.5)
        assert_dc_dead(h)
        s = summary(h, sid)
        assert s.stop_cause == "isolation_fault" and "50000 Ohm" in s.stop_detail
        await h.station.stop()

    virtual_loop(scenario())


def test_lock_and_discharge_timeouts_are_station_keys():
    from freev2g.config import ConfigError, parse_station_config
    from freev2g.evse.states import tunables_from_config

    cfg = parse_station_config({"evse": {"lock_confirm_timeout_ms": 1500, "unlock_discharge_timeout_ms": 12000,
                                         "isolation_fault_threshold_Ohm": 250_000.0}}).evse
    t = tunables_from_config(cfg)
    assert (t.lock_confirm_timeout_s, t.unlock_discharge_timeout_s, t.isolation_fault_Ohm) == (1.5, 12.0, 250_000.0)
    with pytest.raises(ConfigError) as err:
        parse_station_config({"evse": {"lock_confirm_timeout_ms": 0}})
    assert err.value.problems == ["evse.lock_confirm_timeout_ms must be > 0, got 0"]
