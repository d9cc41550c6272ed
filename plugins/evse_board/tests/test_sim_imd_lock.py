"""Isolation monitor (charging-domain.md 5.1, 5.3), connector lock timing and failure, meter."""
import asyncio

import pytest
from freev2g.boards import DeviceFault


def test_imd_self_test_takes_its_time_and_passes(bench, virtual_loop):
    async def go():
        seen = []
        bench.imd.subscribe(seen.append)
        t0 = bench.clock.monotonic()
        assert await bench.imd.self_test(500.0) is True
        assert bench.clock.monotonic() - t0 == pytest.approx(2.0)
        assert [(e.kind, e.value) for e in seen] == [("self_test", True)]

    virtual_loop(go())


def test_imd_healthy_reading_then_insulation_fault(bench, virtual_loop):
    async def go():
        seen = []
        bench.imd.subscribe(seen.append)
        await bench.imd.start()
        healthy = await bench.imd.read()
        assert healthy.resistance_F_Ohm >= 100e3 and healthy.resistance_N_Ohm >= 100e3
        bench.model.inject("imd_fault", resistance_Ohm=40e3)
        assert ("fault", "imd_fault") in [(e.kind, e.value) for e in seen]
        faulty = await bench.imd.read()
        assert faulty.resistance_F_Ohm == 40e3 < 100e3
        assert await bench.imd.self_test(500.0) is True  # the device itself is fine
        bench.model.clear("imd_fault")
        assert (await bench.imd.read()).resistance_F_Ohm == healthy.resistance_F_Ohm
        await bench.imd.stop()
        assert not bench.imd.running()

    virtual_loop(go())


def test_imd_device_fault_fails_self_test_and_reads(bench, virtual_loop):
    async def go():
        bench.model.inject("imd_fault", mode="device")
        assert await bench.imd.self_test(500.0) is False
        with pytest.raises(DeviceFault, match="isolation monitor"):
            await bench.imd.read()

    virtual_loop(go())


def test_bad_fault_names_and_parameters(bench):
    with pytest.raises(ValueError, match="unknown sim fault 'nope'"):
        bench.model.inject("nope")
    with pytest.raises(ValueError, match="resistance"):
        bench.model.inject("imd_fault", ohms=3)
    with pytest.raises(ValueError, match="mode"):
        bench.model.inject("lock_failure", mode="sideways")
    assert bench.model.faults == {}
    assert bench.model.clear("cp_short") is False


def test_lock_takes_lock_time(bench, virtual_loop):
    async def go():
        seen = []
        bench.lock.subscribe(seen.append)
        t0 = bench.clock.monotonic()
        task = asyncio.ensure_future(bench.lock.lock())
        await bench.clock.sleep(0.1)
        assert not bench.lock.is_locked()  # still moving
        await task
        assert bench.lock.is_locked()
        assert bench.clock.monotonic() - t0 == pytest.approx(0.3)
        await bench.lock.unlock()
        assert not bench.lock.is_locked()
        assert [(e.kind, e.value) for e in seen] == [("lock", True), ("lock", False)]

    virtual_loop(go())


def test_lock_failure_to_lock(bench, virtual_loop):
    async def go():
        bench.model.inject("lock_failure")
        with pytest.raises(DeviceFault, match="failed to lock"):
            await bench.lock.lock()
        assert not bench.lock.is_locked()
        bench.model.clear("lock_failure")
        await bench.lock.lock()
        assert bench.lock.is_locked()

    virtual_loop(go())


def test_lock_jammed_when_unlocking(bench, virtual_loop):
    async def go():
        await bench.lock.lock()
        bench.model.inject("lock_failure", mode="unlock")
        with pytest.raises(DeviceFault, match="unlock"):
            await bench.lock.unlock()
        assert bench.lock.is_locked()

    virtual_loop(go())


def test_meter_starts_at_zero(bench):
    r = bench.meter.read()
    assert (r.energy_import_Wh, r.energy_export_Wh, r.power_W) == (0.0, 0.0, 0.0)
