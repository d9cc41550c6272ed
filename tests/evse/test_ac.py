"""AC charging: basic PWM charging, AC with HLC, authorization, policy hooks, phase switching,
state F after faults, ventilation and lock keys. Real sim board, scripted link."""
from __future__ import annotations

import pytest

from freev2g import hookimpl
from freev2g.evse.ac import current_for_duty_A, duty_for_current_pct
from freev2g.evse.states import EvseState
from freev2g.link import (
    ACChargeLoopRequest,
    AuthorizationRequest,
    ChargeParameterRequest,
    PaymentSelected,
    PowerDeliveryRequest,
    SessionEnded,
    SessionSetup,
)
from freev2g.model.enums import (
    ChargeProgress,
    CPState,
    EnergyTransferMode,
    PaymentOption,
    Protocol,
    ResponseCode,
    StopCause,
)
from freev2g.model.params import ACEVChargeParameter
from freev2g.registry import AuthorizationDecision


AC = {"charge_mode": "AC"}


@pytest.mark.parametrize(
    "current_A,duty", [(6, 10.0), (10, 16.67), (16, 26.67), (32, 53.33), (48, 80.0), (51, 85.0), (63, 89.2), (80, 96.0)]
)
def test_duty_for_current_worked_values(current_A, duty):
    """charging-domain.md 1.3 worked values."""
    assert duty_for_current_pct(current_A) == pytest.approx(duty, abs=0.01)
    assert current_for_duty_A(duty_for_current_pct(current_A)) == pytest.approx(current_A, abs=0.05)


def test_duty_below_6A_is_not_signallable():
    assert duty_for_current_pct(5.9) is None


def test_basic_ac_charging_pwm_contactor_pause_unplug(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "max_current_import_A": 16.0})
        h.ev.plug_in()
        await h.settle(1.0)
        assert h.bsp.pwm_duty_pct() == pytest.approx(26.67, abs=0.01)  # 16 A
        assert h.link.matching_allowed == 0  # no HLC in basic AC
        assert not h.bsp.contactor_closed()
        h.ev.set_cp_state(CPState.C)
        h.ev.set_ac_current_draw(16.0, 3)
        await h.settle(0.5)
        assert h.bsp.contactor_closed()
        assert h.manager.state is EvseState.CHARGING
        await h.settle(60.0)
        sid = h.session_id
        h.ev.set_cp_state(CPState.B)  # EV pauses: open within 100 ms
        await h.settle(0.1)
        assert not h.bsp.contactor_closed()
        assert h.manager.state is EvseState.PAUSED_EV
        h.ev.set_cp_state(CPState.C)
        await h.settle(0.5)
        assert h.bsp.contactor_closed()
        h.ev.unplug()
        await h.settle(0.5)
        assert h.power_is_off()
        summary = h.journal.session(sid)
        assert summary.stop_cause == "ev_unplugged"
        assert summary.energy_import_Wh > 100.0  # ~11 kW for a minute
        assert {"ChargingPaused", "ChargingResumed", "SessionStarted"} <= set(h.kinds())
        await h.station.stop()

    virtual_loop(scenario())


def test_cable_rating_caps_the_duty(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse=AC)  # 32 A configured
        h.ev.plug_in(cable_rating_A=13.0)
        await h.settle(1.0)
        assert h.bsp.pwm_duty_pct() == pytest.approx(21.67, abs=0.01)
        await h.station.stop()

    virtual_loop(scenario())


def test_without_authorization_pwm_stays_off_until_remote_start(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "disable_authentication": False})
        h.ev.plug_in()
        h.ev.set_cp_state(CPState.C)
        await h.settle(2.0)
        assert h.bsp.pwm_duty_pct() == 100.0  # X1: not authorised
        assert not h.bsp.contactor_closed()
        assert h.manager.state is EvseState.WAITING_FOR_AUTH
        assert await h.station.remote_start(1, "RFID-1234")
        await h.settle(0.5)
        assert h.bsp.pwm_duty_pct() == pytest.approx(53.33, abs=0.01)
        assert h.bsp.contactor_closed()
        auth = [e for e in h.events if e.kind == "Authorized"][-1]
        assert auth.id_token == "RFID-1234" and auth.accepted
        assert h.journal.session(h.session_id).id_token == "RFID-1234"
        await h.station.stop()

    virtual_loop(scenario())


def test_remote_start_before_plug_in_authorizes_next_session(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "disable_authentication": False})
        assert await h.station.remote_start(1, "APP-9")
        h.ev.plug_in()
        await h.settle(1.0)
        assert h.bsp.pwm_duty_pct() > 10.0
        assert h.station.session(1).id_token == "APP-9"
        await h.station.stop()

    virtual_loop(scenario())


class _Policy:
    def __init__(self, accept=None, limit_W=None):
        self.accept, self.limit_W, self.queries = accept, limit_W, []

    @hookimpl
    def freev2g_authorize(self, request):
        self.queries.append(request)
        return None if self.accept is None else AuthorizationDecision(accepted=self.accept, id_token="policy")

    @hookimpl
    def freev2g_power_limit(self, query):
        return self.limit_W


def test_authorize_hook_and_power_limit_hook(virtual_loop, make_harness, pm_with):
    async def scenario():
        policy = _Policy(accept=True, limit_W=6_900.0)  # 6.9 kW / (230 V x 3) = 10 A
        h = await make_harness(evse={**AC, "disable_authentication": False}, pm=pm_with(("policy", policy)))
        h.ev.plug_in()
        await h.settle(1.0)
        assert policy.queries and policy.queries[0].method is PaymentOption.EXTERNAL_PAYMENT
        assert h.bsp.pwm_duty_pct() == pytest.approx(16.67, abs=0.01)
        await h.station.stop()

    virtual_loop(scenario())


def test_authorize_hook_rejection_keeps_pwm_off(virtual_loop, make_harness, pm_with):
    async def scenario():
        policy = _Policy(accept=False)
        h = await make_harness(evse={**AC, "disable_authentication": False}, pm=pm_with(("policy", policy)))
        h.ev.plug_in()
        await h.settle(1.0)
        assert h.bsp.pwm_duty_pct() == 100.0
        assert [e.accepted for e in h.events if e.kind == "Authorized"] == [False]
        await h.station.stop()

    virtual_loop(scenario())


def test_ac_hlc_5percent_falls_back_to_nominal_on_eim(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "ac_hlc_enabled": True, "ac_hlc_use_5percent": True})
        h.ev.plug_in()
        await h.settle(0.5)
        assert h.link.matching_allowed == 1
        assert h.bsp.pwm_duty_pct() == 0.0  # free service = EIM before SLAC: E/F for T_step_EF
        await h.settle(4.5)
        assert h.bsp.pwm_duty_pct() == pytest.approx(53.33, abs=0.01)  # nominal
        await h.station.stop()

    virtual_loop(scenario())


def test_ac_enforce_hlc_keeps_5_percent(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "ac_hlc_enabled": True, "ac_hlc_use_5percent": True, "ac_enforce_hlc": True})
        h.ev.plug_in()
        await h.settle(6.0)
        assert h.bsp.pwm_duty_pct() == 5.0
        await h.station.stop()

    virtual_loop(scenario())


def test_ac_hlc_without_5percent_uses_nominal_pwm_and_allows_slac(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "ac_hlc_enabled": True})
        h.ev.plug_in()
        await h.settle(0.5)
        assert h.link.matching_allowed == 1
        assert h.bsp.pwm_duty_pct() == pytest.approx(53.33, abs=0.01)
        await h.station.stop()

    virtual_loop(scenario())


def test_ac_hlc_session(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "ac_hlc_enabled": True, "ac_hlc_use_5percent": True, "ac_enforce_hlc": True,
                                     "ac_nominal_voltage": 220.0, "max_current_import_A": 20.0})
        h.ev.plug_in()
        await h.settle(0.5)
        await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="aabbccddeeff0011", evcc_id="0a0b0c0d0e0f"))
        await h.link.send(PaymentSelected(option=PaymentOption.EXTERNAL_PAYMENT))
        auth = await h.link.send(AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT))
        assert auth.accepted
        cpd = await h.link.send(ChargeParameterRequest(
            mode=EnergyTransferMode.AC_THREE_PHASE_CORE,
            ac=ACEVChargeParameter(e_amount_Wh=10_000, ev_max_voltage_V=400, ev_max_current_A=32, ev_min_current_A=6),
            max_entries=3))
        assert cpd.ac.nominal_voltage_V == 220.0 and cpd.ac.max_current_A == 20.0
        assert cpd.schedules.tuples[0].entries[0].pmax_W == 20.0 * 220.0 * 3
        assert h.bsp.pwm_duty_pct() == 5.0
        h.ev.set_cp_state(CPState.C)
        pd = await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        assert pd.response_code is ResponseCode.OK and h.bsp.contactor_closed()
        h.ev.set_ac_current_draw(20.0, 3)
        for _ in range(10):  # the EV's ChargingStatusReq loop (a silent EV is cut off: test_safety_energy.py)
            await h.settle(1.0)
            loop = await h.link.send(ACChargeLoopRequest())
        assert loop.evse_max_current_A == 20.0 and loop.meter_Wh > 0
        sid = h.session_id
        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.STOP))
        assert not h.bsp.contactor_closed()
        h.ev.set_cp_state(CPState.B)
        await h.link.send(SessionEnded(cause=StopCause.EV_STOP))
        await h.settle(0.2)
        assert h.power_is_off()
        assert h.journal.session(sid).stop_cause == "ev_stop"
        await h.station.stop()

    virtual_loop(scenario())


def test_ac_hlc_power_delivery_without_state_c_fails(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**AC, "ac_hlc_enabled": True, "ac_hlc_use_5percent": True, "ac_enforce_hlc": True})
        h.ev.plug_in()
        await h.settle(0.5)
        await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="aabbccddeeff0011", evcc_id="0a0b0c0d0e0f"))
        pd = await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START))
        assert pd.response_code is ResponseCode.FAILED_CONTACTOR_ERROR
        assert not h.bsp.contactor_closed()
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("f_ms,duty_after_100ms", [(300, 0.0), (0, 100.0)])
def test_state_f_after_fault_in_basic_charging(virtual_loop, make_harness, f_ms, duty_after_100ms):
    async def scenario():
        h = await make_harness(evse={**AC, "state_F_after_fault_ms": f_ms})
        h.ev.plug_in()
        h.ev.set_cp_state(CPState.C)
        await h.settle(1.0)
        assert h.bsp.contactor_closed()
        sid = h.session_id
        h.model.inject("rcd_trip")
        await h.settle(0.1)
        assert not h.bsp.contactor_closed()
        assert h.bsp.pwm_duty_pct() == duty_after_100ms
        await h.settle(0.5)
        assert h.bsp.pwm_duty_pct() == 100.0  # back to X1 (C1)
        assert h.journal.session(sid).stop_cause == "other"
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("ventilation,closes", [(True, True), (False, False)])
def test_state_d_needs_ventilation(virtual_loop, make_harness, ventilation, closes):
    async def scenario():
        h = await make_harness(evse={**AC, "has_ventilation": ventilation})
        h.ev.plug_in()
        h.ev.set_cp_state(CPState.D)
        await h.settle(1.0)
        assert h.bsp.contactor_closed() is closes
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("lock_in_b", [True, False])
def test_lock_connector_in_state_b(virtual_loop, make_harness, lock_in_b):
    async def scenario():
        h = await make_harness(evse={**AC, "lock_connector_in_state_b": lock_in_b, "disable_authentication": False})
        h.ev.plug_in()
        await h.settle(1.0)
        assert h.model.locked is lock_in_b
        h.ev.set_cp_state(CPState.C)
        await h.settle(1.0)
        assert h.model.locked  # always locked before energy
        await h.station.stop()

    virtual_loop(scenario())
