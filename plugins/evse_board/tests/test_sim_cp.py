"""Control pilot of the sim board: every state with its voltage, transitions, events
(charging-domain.md 1.1, 1.2)."""
import pytest
from freev2g.model.enums import CPState


def events_of(bench, source="bsp"):
    seen = []
    (bench.bsp if source == "bsp" else bench.ev).subscribe(seen.append)
    return seen


def test_state_a_without_ev(bench):
    assert bench.bsp.cp_state() is CPState.A
    assert bench.bsp.cp_levels_V() == (12.0, None)
    assert bench.bsp.pwm_duty_pct() == 100.0
    assert bench.ev.pwm_duty_pct() == 0.0  # nothing plugged: the EV sees no signal


@pytest.mark.parametrize("letter, volts", [(CPState.B, 9.0), (CPState.C, 6.0), (CPState.D, 3.0)])
def test_ev_letters_with_voltages(bench, virtual_loop, letter, volts):
    async def go():
        bench.ev.set_cp_state(letter)  # plugs in when needed
        positive, negative = bench.bsp.cp_levels_V()
        assert abs(positive - volts) < 1.0 and negative is None
        assert bench.bsp.cp_state() is letter
        await bench.bsp.set_pwm_duty(5.0)
        positive, negative = bench.bsp.cp_levels_V()
        assert abs(positive - volts) < 1.0 and negative == -12.0
        assert bench.bsp.cp_state() is letter
        assert bench.ev.pwm_duty_pct() == 5.0

    virtual_loop(go())


def test_state_e_on_cp_short(bench, virtual_loop):
    async def go():
        bench.ev.set_cp_state(CPState.C)
        await bench.bsp.set_pwm_duty(10.0)
        seen = events_of(bench)
        bench.model.inject("cp_short")
        assert bench.bsp.cp_levels_V()[0] == 0.0
        assert bench.bsp.cp_state() is CPState.E
        assert bench.ev.pwm_duty_pct() == 0.0
        assert [(e.kind, e.value) for e in seen] == [("fault", "cp_short"), ("cp_state", CPState.E)]
        assert bench.model.clear("cp_short")
        assert bench.bsp.cp_state() is CPState.C

    virtual_loop(go())


def test_state_f_is_minus_12(bench, virtual_loop):
    async def go():
        bench.ev.set_cp_state(CPState.B)
        await bench.bsp.set_state_f()
        assert bench.bsp.cp_levels_V() == (-12.0, -12.0)
        assert bench.bsp.cp_state() is CPState.F
        assert bench.bsp.pwm_duty_pct() == 0.0 and bench.ev.pwm_duty_pct() == 0.0
        await bench.bsp.set_pwm_off()
        assert bench.bsp.cp_state() is CPState.B and bench.ev.pwm_duty_pct() == 100.0

    virtual_loop(go())


def test_missing_diode_seen_only_with_pwm(bench, virtual_loop):
    async def go():
        bench.ev.set_cp_state(CPState.B)
        bench.model.inject("missing_diode")
        assert bench.bsp.cp_state() is CPState.B  # X1: no negative half to check
        await bench.bsp.set_pwm_duty(5.0)
        positive, negative = bench.bsp.cp_levels_V()
        assert negative > -10.0
        assert bench.bsp.cp_state() is CPState.DF
        bench.model.clear("missing_diode")
        assert bench.bsp.cp_state() is CPState.B

    virtual_loop(go())


def test_full_transition_sequence_emits_each_change_once(bench, virtual_loop):
    async def go():
        seen = events_of(bench)
        ev_seen = events_of(bench, "ev")
        bench.model.plug_in()
        await bench.bsp.set_pwm_duty(5.0)
        bench.ev.set_cp_state(CPState.C)
        bench.ev.set_cp_state(CPState.C)  # no change, no event
        bench.ev.set_cp_state(CPState.D)
        bench.ev.set_cp_state(CPState.B)
        await bench.bsp.set_state_f()
        await bench.bsp.set_pwm_off()
        bench.ev.set_cp_state(CPState.A)
        states = [e.value for e in seen if e.kind == "cp_state"]
        assert states == [CPState.B, CPState.C, CPState.D, CPState.B, CPState.F, CPState.B, CPState.A]
        assert [e.value for e in ev_seen if e.kind == "cp_state"] == states
        assert [e.value for e in ev_seen if e.kind == "pwm_duty"] == [100.0, 5.0, 0.0, 100.0, 0.0]

    virtual_loop(go())


def test_unplug_fault_and_clear(bench, virtual_loop):
    async def go():
        bench.ev.set_cp_state(CPState.C)
        bench.model.inject("unplug")
        assert bench.bsp.cp_state() is CPState.A
        assert bench.bsp.cable_rating_A() == 0.0
        bench.model.clear("unplug")
        assert bench.bsp.cp_state() is CPState.B
        assert bench.bsp.cable_rating_A() == 32.0

    virtual_loop(go())


def test_bad_duty_and_bad_state_are_rejected(bench, virtual_loop):
    async def go():
        for bad in (-1, 101, float("nan")):
            with pytest.raises(ValueError, match="duty_pct"):
                await bench.bsp.set_pwm_duty(bad)
        with pytest.raises(ValueError, match="A, B, C or D"):
            bench.ev.set_cp_state(CPState.E)
        assert bench.bsp.pwm_duty_pct() == 100.0

    virtual_loop(go())


def test_a_failing_listener_does_not_stop_the_others(bench):
    def broken(_event):
        raise RuntimeError("observer bug")

    seen = []
    bench.bsp.subscribe(broken)
    bench.bsp.subscribe(seen.append)
    bench.ev.set_cp_state(CPState.B)
    assert [e.value for e in seen] == [CPState.B]


def test_cable_rating_from_pp_and_fixed_cable(bench_factory):
    make_bench = bench_factory
    b = make_bench()
    b.model.plug_in(13.0)
    assert b.bsp.cable_rating_A() == 13.0
    b.model.plug_in(pp_resistance_Ohm=100.0)
    assert b.bsp.cable_rating_A() == 63.0
    fixed = make_bench({"evse": {"fixed_cable": True}})
    fixed.model.plug_in()
    assert fixed.bsp.cable_rating_A() is None


def test_cp_open_reads_a_at_the_evse_while_the_dc_pins_stay_live(bench, virtual_loop):
    """cp_open: the CP wire is cut with the connector mated. The EVSE measures A and the EV sees
    no PWM, but the EV contactor keeps the battery on the cable (inlet) side; no fault event."""

    async def go():
        bench.ev.set_cp_state(CPState.C)
        await bench.bsp.set_pwm_duty(5.0)
        bench.ev.set_contactor(True)
        seen = events_of(bench)
        assert bench.imd.cable_voltage_V() > 300.0
        bench.model.inject("cp_open")
        assert bench.bsp.cp_state() is CPState.A
        assert bench.ev.pwm_duty_pct() == 0.0
        assert bench.imd.cable_voltage_V() > 300.0  # still mated: the pins are live
        assert [(e.kind, e.value) for e in seen] == [("cp_state", CPState.A)]
        bench.ev.set_contactor(False)
        assert bench.imd.cable_voltage_V() == 0.0
        assert bench.model.clear("cp_open") is True
        assert bench.bsp.cp_state() is CPState.C and bench.ev.pwm_duty_pct() == 5.0

    virtual_loop(go())
