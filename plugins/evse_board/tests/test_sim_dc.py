"""DC physics of the sim board: ramps, limits, precharge, contactors, BPT, supply faults,
over-voltage (charging-domain.md 5.4, 5.6)."""
import pytest
from freev2g.boards import DeviceFault
from freev2g.model.enums import CPState


async def _connect_c(bench):
    bench.ev.set_cp_state(CPState.C)
    await bench.bsp.set_pwm_duty(5.0)


def test_voltage_ramps_at_configured_rate_without_load(bench, virtual_loop):
    async def go():
        await _connect_c(bench)
        await bench.bsp.allow_power_on(True)
        await bench.psu.set_mode("cable_check")
        await bench.psu.set_voltage_current(500.0, 2.0)
        assert bench.psu.read().voltage_V == 0.0
        await bench.clock.sleep(0.5)  # ramp 500 V/s
        assert bench.psu.read().voltage_V == pytest.approx(250.0)
        await bench.clock.sleep(0.5)
        assert bench.psu.read().voltage_V == pytest.approx(500.0)
        await bench.clock.sleep(5.0)
        assert bench.psu.read() .voltage_V == pytest.approx(500.0)  # no overshoot
        assert bench.psu.read().current_A == 0.0  # EV contactor open: no load
        await bench.psu.set_mode("off")
        await bench.clock.sleep(0.5)  # discharge 1000 V/s
        assert bench.psu.read().voltage_V < 60.0

    virtual_loop(go())


def test_precharge_then_both_contactors_close_and_current_flows(bench, virtual_loop):
    async def go():
        await _connect_c(bench)
        soc0 = bench.ev.battery_soc_pct()
        await bench.bsp.allow_power_on(True)
        await bench.psu.set_mode("precharge")
        await bench.psu.set_voltage_current(bench.ev.battery_voltage_V(), 2.0)
        await bench.clock.sleep(2.0)
        assert abs(bench.ev.inlet_voltage_V() - bench.ev.battery_voltage_V()) < 20.0  # 5.4
        assert bench.ev.battery_soc_pct() == soc0  # EV contactor open: nothing reaches the battery
        bench.ev.set_contactor(True)
        await bench.clock.sleep(1.0)
        assert 0.0 <= bench.psu.read().current_A <= 2.0
        await bench.psu.set_mode("export")
        await bench.psu.set_voltage_current(450.0, 100.0)
        await bench.clock.sleep(0.25)
        assert bench.psu.read().current_A == pytest.approx(52.0)  # from 2 A at 200 A/s
        await bench.clock.sleep(10.0)
        assert bench.psu.read().current_A == pytest.approx(100.0)
        assert bench.ev.battery_current_A() == pytest.approx(100.0)
        assert bench.ev.battery_soc_pct() > soc0
        reading = bench.psu.read()
        assert reading.voltage_V == pytest.approx(bench.ev.battery_voltage_V())

    virtual_loop(go())


@pytest.mark.parametrize("evse_closed, ev_closed", [(False, True), (True, False), (False, False)])
def test_no_energy_reaches_battery_unless_both_contactors_closed(bench, virtual_loop, evse_closed, ev_closed):
    async def go():
        await _connect_c(bench)
        await bench.bsp.allow_power_on(evse_closed)
        bench.ev.set_contactor(ev_closed)
        await bench.psu.set_mode("export")
        await bench.psu.set_voltage_current(450.0, 100.0)
        soc0 = bench.ev.battery_soc_pct()
        await bench.clock.sleep(30.0)
        assert bench.ev.battery_soc_pct() == soc0
        assert bench.meter.read().energy_import_Wh == 0.0
        expected_inlet = 450.0 if evse_closed else (bench.ev.battery_voltage_V() if ev_closed else 0.0)
        assert bench.ev.inlet_voltage_V() == pytest.approx(expected_inlet)

    virtual_loop(go())


def test_supply_clamps_to_voltage_current_and_power_limits(bench, virtual_loop):
    async def go():
        caps = bench.psu.capabilities()
        await _connect_c(bench)
        await bench.bsp.allow_power_on(True)
        bench.ev.set_contactor(True)
        await bench.psu.set_mode("export")
        await bench.psu.set_voltage_current(5000.0, 5000.0)
        assert bench.model.psu_v_set == caps.max_export_voltage_V
        await bench.clock.sleep(20.0)
        r = bench.psu.read()
        assert r.current_A <= caps.max_export_current_A
        assert r.voltage_V * r.current_A <= caps.max_export_power_W + 1e-6
        assert r.current_A == pytest.approx(caps.max_export_power_W / caps.max_export_voltage_V)

    virtual_loop(go())


def test_bidirectional_import_discharges_the_battery(bench_factory, virtual_loop):
    b = bench_factory({"power_supply": {"max_import_current_A": 50.0, "max_import_power_W": 20000.0}})

    async def go():
        await _connect_c(b)
        await b.bsp.allow_power_on(True)
        b.ev.set_contactor(True)
        soc0 = b.ev.battery_soc_pct()
        await b.psu.set_mode("import")
        await b.psu.set_voltage_current(300.0, 80.0)  # voltage floor, current clamps to 50
        await b.clock.sleep(60.0)
        r = b.psu.read()
        assert r.current_A == pytest.approx(-50.0)
        assert b.ev.battery_soc_pct() < soc0
        m = b.meter.read()
        assert m.energy_export_Wh > 0 and m.energy_import_Wh == 0.0 and m.power_W < 0

    virtual_loop(go())


def test_import_needs_a_bidirectional_supply(bench, virtual_loop):
    with pytest.raises(DeviceFault, match="bidirectional"):
        virtual_loop(bench.psu.set_mode("import"))


def test_psu_fault_drops_output_and_blocks_until_cleared(bench, virtual_loop):
    async def go():
        seen = []
        bench.psu.subscribe(seen.append)
        await _connect_c(bench)
        await bench.bsp.allow_power_on(True)
        await bench.psu.set_mode("precharge")
        await bench.psu.set_voltage_current(400.0, 2.0)
        await bench.clock.sleep(2.0)
        bench.model.inject("psu_fault")
        assert bench.psu.read().voltage_V == 0.0
        with pytest.raises(DeviceFault, match="faulted"):
            await bench.psu.set_mode("export")
        with pytest.raises(DeviceFault):
            await bench.psu.set_voltage_current(400.0, 10.0)
        await bench.psu.set_mode("off")  # switching off never fails
        assert [(e.kind, e.value) for e in seen] == [("fault", "psu_fault")]
        bench.model.clear("psu_fault")
        await bench.psu.set_mode("export")
        assert seen[-1].kind == "fault_cleared"

    virtual_loop(go())


def test_injected_over_voltage_reaches_supply_and_bsp_listeners(bench, virtual_loop):
    async def go():
        psu_seen, bsp_seen = [], []
        bench.psu.subscribe(psu_seen.append)
        bench.bsp.subscribe(bsp_seen.append)
        await bench.psu.set_over_voltage_limit(550.0)
        bench.model.inject("over_voltage")
        assert bench.psu.read().voltage_V == pytest.approx(605.0)
        assert ("fault", "over_voltage") in [(e.kind, e.value) for e in psu_seen]
        assert ("fault", "over_voltage") in [(e.kind, e.value) for e in bsp_seen]

    virtual_loop(go())


def test_over_voltage_monitor_trips_when_output_exceeds_its_limit(bench, virtual_loop):
    async def go():
        seen = []
        bench.psu.subscribe(seen.append)
        await bench.psu.set_over_voltage_limit(550.0)
        await bench.psu.set_mode("cable_check")
        await bench.psu.set_voltage_current(600.0, 2.0)
        await bench.clock.sleep(0.5)
        assert seen == []
        await bench.clock.sleep(1.0)
        bench.psu.read()
        assert [(e.kind, e.value) for e in seen] == [("fault", "over_voltage")]
        assert "over_voltage" in bench.model.faults

    virtual_loop(go())


def test_welded_contactor_raises_when_opening(bench, virtual_loop):
    async def go():
        await _connect_c(bench)
        await bench.bsp.allow_power_on(True)
        bench.model.inject("contactor_welded")
        with pytest.raises(DeviceFault, match="welded"):
            await bench.bsp.allow_power_on(False)
        assert bench.bsp.contactor_closed()
        bench.model.clear("contactor_welded")
        await bench.bsp.allow_power_on(False)
        assert not bench.bsp.contactor_closed()

    virtual_loop(go())


def test_rcd_trip_opens_contactor_and_blocks_closing(bench, virtual_loop):
    async def go():
        await _connect_c(bench)
        await bench.bsp.allow_power_on(True)
        bench.model.inject("rcd_trip")
        assert not bench.bsp.contactor_closed() and bench.bsp.rcd_tripped()
        with pytest.raises(DeviceFault, match="RCD"):
            await bench.bsp.allow_power_on(True)

    virtual_loop(go())


def test_cable_side_discharges_at_the_configured_rate(bench_factory, virtual_loop):
    """evse.cable_discharge_V_per_s: with both contactors open the inlet side falls at that
    rate; left out, it is 0 V at once."""

    async def go():
        for rate, expect_V in ((100.0, None), (None, 0.0)):
            b = bench_factory({"evse": {"cable_discharge_V_per_s": rate}} if rate else {})
            b.ev.plug_in()
            b.ev.set_contactor(True)
            ocv = b.imd.cable_voltage_V()
            assert ocv > 300.0
            b.ev.set_contactor(False)
            await b.clock.sleep(1.0)
            expected = ocv - 100.0 if expect_V is None else expect_V
            assert b.imd.cable_voltage_V() == pytest.approx(expected, abs=1.0)
            assert b.ev.inlet_voltage_V() == b.imd.cable_voltage_V()

    virtual_loop(go())


def test_cable_discharge_rate_is_validated(bench_factory):
    from freev2g_evse_board.sim.config import SimConfigError

    with pytest.raises(SimConfigError, match="cable_discharge_V_per_s"):
        bench_factory({"evse": {"cable_discharge_V_per_s": -5.0}})
