"""AC current selection (charging-domain.md 1.3, 1.7) and the energy balance of the sim:
metered energy = what the battery stored + losses."""
import pytest
from freev2g.model.enums import CPState

from freev2g_evse_board.pilot import current_to_duty_pct


async def _ac_session(b, *, duty_pct, request_A=32.0, phases=3, cable_A=32.0, state=CPState.C):
    b.model.plug_in(cable_A)
    await b.bsp.set_pwm_duty(duty_pct)
    b.ev.set_cp_state(state)
    await b.bsp.allow_power_on(True)
    b.ev.set_ac_current_draw(request_A, phases)
    await b.clock.sleep(1.0)
    return b.ev.ac_current_A()


@pytest.mark.parametrize(
    "signalled_A, request_A, cable_A, ev_max_A, expected_A",
    [
        (16.0, 32.0, 32.0, 32.0, 16.0),  # PWM limit
        (32.0, 32.0, 13.0, 32.0, 13.0),  # cable rating (PP)
        (32.0, 32.0, 32.0, 10.0, 10.0),  # EV maximum
        (32.0, 20.0, 32.0, 32.0, 20.0),  # the EV's own request
    ],
)
def test_ac_current_is_the_smallest_limit(bench_factory, virtual_loop, signalled_A, request_A, cable_A, ev_max_A, expected_A):
    b = bench_factory(ev_options={"ev": {"max_ac_current_A": ev_max_A}})
    got = virtual_loop(_ac_session(b, duty_pct=current_to_duty_pct(signalled_A), request_A=request_A, cable_A=cable_A))
    assert got == pytest.approx(expected_A)
    assert b.meter.read().current_A == pytest.approx(expected_A)


def test_five_percent_uses_the_hlc_request_within_cable_rating(bench, virtual_loop):
    assert virtual_loop(_ac_session(bench, duty_pct=5.0, request_A=25.0, cable_A=20.0)) == pytest.approx(20.0)


@pytest.mark.parametrize("duty", [100.0, 7.5, 2.0])
def test_no_current_without_a_current_offering_duty(bench, virtual_loop, duty):
    assert virtual_loop(_ac_session(bench, duty_pct=duty)) == 0.0
    assert bench.meter.read().energy_import_Wh == 0.0


def test_no_current_in_state_b_or_with_contactor_open(bench, virtual_loop):
    async def go():
        assert await _ac_session(bench, duty_pct=50.0, state=CPState.B) == 0.0
        bench.ev.set_cp_state(CPState.C)
        await bench.clock.sleep(1.0)
        assert bench.ev.ac_current_A() == pytest.approx(30.0)
        await bench.bsp.allow_power_on(False)
        await bench.clock.sleep(1.0)
        assert bench.ev.ac_current_A() == 0.0
        await bench.bsp.allow_power_on(True)
        bench.model.inject("unplug")
        await bench.clock.sleep(1.0)
        assert bench.ev.ac_current_A() == 0.0

    virtual_loop(go())


def test_ac_phases_follow_the_smallest_side(bench, virtual_loop):
    async def go():
        await _ac_session(bench, duty_pct=current_to_duty_pct(16.0), phases=1)
        assert bench.meter.read().power_W == pytest.approx(230.0 * 16.0)

    virtual_loop(go())


def _balance(model):
    model.update()
    bat = model.battery
    return (model.energy_import_Wh - model.energy_export_Wh, bat.stored_gain_Wh + bat.loss_Wh + model.ac_loss_Wh)


def test_ac_energy_balance(bench, virtual_loop):
    async def go():
        soc0 = bench.ev.battery_soc_pct()
        await _ac_session(bench, duty_pct=current_to_duty_pct(16.0))
        await bench.clock.sleep(3600.0)
        metered, accounted = _balance(bench.model)
        assert metered == pytest.approx(accounted, rel=1e-9)
        assert metered == pytest.approx(3 * 230 * 16 * (3601 / 3600), rel=1e-6)
        gained_pct = bench.ev.battery_soc_pct() - soc0
        assert gained_pct == pytest.approx(100 * bench.model.battery.stored_gain_Wh / 60_000.0)
        assert bench.model.ac_loss_Wh == pytest.approx(metered * (1 - 0.93), rel=1e-6)

    virtual_loop(go())


def test_dc_energy_balance_through_taper_to_full(bench_factory, virtual_loop):
    b = bench_factory(ev_options={"battery": {"soc_pct": 70.0, "capacity_Wh": 20_000.0}})

    async def go():
        b.ev.set_cp_state(CPState.C)
        await b.bsp.allow_power_on(True)
        b.ev.set_contactor(True)
        await b.psu.set_mode("export")
        currents = []
        for _ in range(120):  # an EV that asks for what its BMS accepts, every 30 s
            await b.psu.set_voltage_current(410.0, b.ev.charge_current_limit_A())
            await b.clock.sleep(30.0)
            currents.append(b.ev.battery_current_A())
        assert b.ev.battery_soc_pct() == pytest.approx(100.0, abs=0.5)
        assert b.ev.battery_soc_pct() <= 100.0
        assert max(currents[:3]) > 100.0 and currents[-1] < 10.0  # CC then CV taper
        metered, accounted = _balance(b.model)
        assert metered == pytest.approx(accounted, rel=1e-9)
        assert b.model.battery.loss_Wh > 0

    virtual_loop(go())


def test_dc_bpt_energy_balance(bench_factory, virtual_loop):
    b = bench_factory({"power_supply": {"max_import_current_A": 60.0, "max_import_power_W": 25_000.0}})

    async def go():
        b.ev.set_cp_state(CPState.C)
        await b.bsp.allow_power_on(True)
        b.ev.set_contactor(True)
        await b.psu.set_mode("export")
        await b.psu.set_voltage_current(450.0, 80.0)
        await b.clock.sleep(600.0)
        await b.psu.set_mode("import")
        await b.psu.set_voltage_current(200.0, 60.0)
        await b.clock.sleep(900.0)
        m = b.meter.read()
        assert m.energy_import_Wh > 0 and m.energy_export_Wh > 0
        metered, accounted = _balance(b.model)
        assert metered == pytest.approx(accounted, rel=1e-9)

    virtual_loop(go())


def test_many_models_in_one_process_without_tasks(bench_factory, virtual_loop):
    import asyncio

    benches = [bench_factory(ev_options={"battery": {"soc_pct": 10.0 + i % 50}}) for i in range(200)]

    async def go():
        tasks_before = len(asyncio.all_tasks())
        for b in benches:
            b.ev.set_cp_state(CPState.C)
            await b.bsp.allow_power_on(True)
            b.ev.set_contactor(True)
            await b.psu.set_mode("export")
            await b.psu.set_voltage_current(420.0, 50.0)
        assert len(asyncio.all_tasks()) == tasks_before  # lazy integration: no background tasks
        await asyncio.sleep(60.0)
        socs = [b.ev.battery_soc_pct() for b in benches]
        assert all(s > 10.0 for s in socs)

    virtual_loop(go())
