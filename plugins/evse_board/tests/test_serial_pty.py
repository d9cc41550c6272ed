"""The serial driver against the board emulator over a real pty (PROTOCOL.md): commands,
events, garbage on the line, a silent board, the board's own host timeout. Real event loop,
short heartbeat timeouts; waits are bounded by events, never timed."""
import asyncio

import pytest
from attrs import evolve
from freev2g.boards import CommunicationFault, DeviceFault
from freev2g.clock import Clock
from freev2g.framing import encode_frame
from freev2g.model.enums import CPState
from freev2g.registry import BoardContext

from freev2g_evse_board.serialboard import protocol as p
from freev2g_evse_board.serialboard.driver import make_serial_factory
from freev2g_evse_board.serialboard.emulator import BoardEmulator
from freev2g_evse_board.sim import SimModel, parse_sim_config

BOUND_S = 10.0  # only guards against hanging; nothing asserts on it


async def wait_for_event(subscribe, predicate):
    got = asyncio.Event()
    subscribe(lambda e: got.set() if predicate(e) else None)
    await asyncio.wait_for(got.wait(), BOUND_S)


class Rig:
    def __init__(self, emulator, ctx, options):
        self.emu, self.ctx, self.options = emulator, ctx, options
        kinds = ("bsp", "imd", "power_supply", "connector_lock", "power_meter")
        self.d = {k: make_serial_factory(k)(options, ctx) for k in kinds}
        self.link = ctx.shared[f"serial_board:{options['port']}"]

    async def connected(self):
        # the board answers hello with a snapshot, whose CP frame is the first cp_state event
        await wait_for_event(self.d["bsp"].subscribe, lambda e: e.kind == "cp_state")
        assert self.link.connected


def run_rig(test, *, heartbeat_timeout_s=1.0, host_timeout_s=5.0):
    async def main():
        clock = Clock()
        fast = parse_sim_config({"imd": {"self_test_time_s": 0.05, "measure_time_s": 0.01},
                                 "lock": {"lock_time_s": 0.05, "unlock_time_s": 0.05}})
        emu = BoardEmulator(SimModel(clock, fast), clock=clock, heartbeat_s=0.05, meter_period_s=0.1,
                            host_timeout_s=host_timeout_s)
        path = await emu.start()
        ctx = BoardContext(clock=Clock())
        rig = Rig(emu, ctx, {"port": path, "heartbeat_timeout_s": heartbeat_timeout_s, "command_timeout_s": 2.0})
        try:
            await rig.connected()
            await test(rig)
        finally:
            await rig.link.close()
            await emu.stop()

    asyncio.run(main())


def test_commands_and_events_round_trip():
    async def test(r):
        bsp, psu, lock, imd, meter = (r.d[k] for k in ("bsp", "power_supply", "connector_lock", "imd", "power_meter"))
        assert bsp.cp_state() is CPState.A and r.link.board_name == "freev2g-sim-board"
        r.emu.model.set_ev_state(CPState.B)
        await wait_for_event(bsp.subscribe, lambda e: e.value is CPState.B)
        assert bsp.cable_rating_A() == 32.0
        await bsp.set_pwm_duty(5.0)
        assert r.emu.model.evse_duty_pct() == 5.0 and bsp.pwm_duty_pct() == 5.0
        r.emu.model.set_ev_state(CPState.C)
        await wait_for_event(bsp.subscribe, lambda e: e.value is CPState.C)
        await lock.lock()
        assert r.emu.model.locked and lock.is_locked()
        await bsp.allow_power_on(True)
        assert r.emu.model.evse_contactor and bsp.contactor_closed()
        assert await imd.self_test(500.0) is True
        reading = await imd.read()
        assert reading.resistance_F_Ohm == 5e6
        await psu.set_over_voltage_limit(550.0)
        assert r.emu.model.ovm_limit_V == 550.0
        r.emu.model.set_ev_contactor(True)
        await psu.set_mode("export")
        await psu.set_voltage_current(420.0, 20.0)
        assert (r.emu.model.psu_mode, r.emu.model.psu_v_set, r.emu.model.psu_i_set) == ("export", 420.0, 20.0)
        await wait_for_event(meter.subscribe, lambda e: e.kind == "reading" and e.value.energy_import_Wh > 0)
        assert psu.read().current_A > 0
        await psu.set_mode("off")
        await bsp.allow_power_on(False)
        assert not r.emu.model.evse_contactor

    run_rig(test)


def test_board_faults_arrive_as_events_and_device_fault_responses():
    async def test(r):
        bsp, psu, lock = r.d["bsp"], r.d["power_supply"], r.d["connector_lock"]
        seen = []
        psu.subscribe(seen.append)
        r.emu.model.inject("psu_fault")
        await wait_for_event(psu.subscribe, lambda e: e.kind == "fault")
        assert ("fault", "psu_fault") in [(e.kind, e.value) for e in seen]
        with pytest.raises(DeviceFault, match="faulted"):
            await psu.set_mode("export")
        r.emu.model.inject("lock_failure")
        with pytest.raises(DeviceFault, match="lock"):
            await lock.lock()
        r.emu.model.inject("imd_fault", resistance_Ohm=40e3)
        assert (await r.d["imd"].read()).resistance_F_Ohm == 40e3
        r.emu.model.inject("cp_short")
        await wait_for_event(bsp.subscribe, lambda e: e.value is CPState.E)
        assert "cp_short" in r.link.faults

    run_rig(test)


def test_garbage_on_the_line_is_counted_and_skipped():
    async def test(r):
        bsp = r.d["bsp"]
        r.emu.send_garbage(b"\x00\x01noise\xff\xfe" * 4)
        bad_checksum = bytearray(p.encode("cp", 0, state=ord("D"), positive_mV=3000, negative_mV=-12000,
                                          duty_centi_pct=500))
        bad_checksum[-2] ^= 0x55
        r.emu.send_garbage(bytes(bad_checksum))
        r.emu.send_garbage(encode_frame(0x20, 0x7E, 0, b"??"))  # valid frame, unknown message
        r.emu.model.set_ev_state(CPState.B)  # a real event after the junk still gets through
        await wait_for_event(bsp.subscribe, lambda e: e.value is CPState.B)
        stats = r.link.decoder.stats
        assert stats.garbage_bytes >= 40 and stats.bad_checksum == 1
        assert r.link.protocol_errors == 1
        assert bsp.cp_state() is CPState.B  # the corrupted "D" never took effect
        await bsp.set_pwm_duty(10.0)
        assert r.emu.model.evse_duty_pct() == 10.0

    run_rig(test)


def test_silent_board_gives_communication_fault_then_recovers():
    async def test(r):
        bsp = r.d["bsp"]
        faults = []
        bsp.subscribe(faults.append)
        r.emu.silence()
        await wait_for_event(bsp.subscribe, lambda e: e.kind == "fault" and e.value == "communication")
        with pytest.raises(CommunicationFault):
            bsp.cp_state()
        with pytest.raises(CommunicationFault):
            await bsp.set_pwm_duty(5.0)
        with pytest.raises(CommunicationFault):
            r.d["power_meter"].read()
        r.emu.silence(False)
        await wait_for_event(bsp.subscribe, lambda e: e.kind == "fault_cleared")
        await bsp.set_pwm_duty(5.0)
        assert bsp.pwm_duty_pct() == 5.0
        assert [e.value for e in faults if e.kind == "fault"] == ["communication"]

    run_rig(test)


def test_pending_command_fails_when_board_goes_silent_mid_command():
    async def test(r):
        cfg = r.emu.model.config
        r.emu.model.config = evolve(cfg, lock=evolve(cfg.lock, lock_time_s=30.0))
        task = asyncio.ensure_future(r.d["connector_lock"].lock())
        await asyncio.sleep(0)
        r.emu.silence()
        with pytest.raises(CommunicationFault):
            await task

    run_rig(test)


def test_board_fails_safe_when_host_goes_silent():
    async def test(r):
        r.emu.model.set_ev_state(CPState.C)
        await r.d["bsp"].set_pwm_duty(16.0)
        await r.d["bsp"].allow_power_on(True)
        opened = asyncio.Event()
        r.emu.model.subscribe("bsp", lambda e: opened.set() if e.kind == "relay" and e.value is False else None)
        await r.link.close()  # host stops talking
        await asyncio.wait_for(opened.wait(), BOUND_S)
        assert not r.emu.model.evse_contactor and r.emu.model.evse_duty_pct() == 100.0

    run_rig(test, heartbeat_timeout_s=0.4, host_timeout_s=1.0)


def test_port_that_does_not_exist_is_a_communication_fault():
    async def main():
        with pytest.raises(CommunicationFault, match="cannot open"):
            make_serial_factory("bsp")({"port": "/dev/does-not-exist"}, BoardContext(clock=Clock()))

    asyncio.run(main())


@pytest.mark.parametrize("options, fragment", [({}, "port"), ({"port": "/dev/x", "speed": 1}, "speed"),
                                               ({"port": "/dev/x", "heartbeat_timeout_s": 0}, "heartbeat")])
def test_bad_options_name_the_key(options, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_serial_factory("bsp")(options, BoardContext(clock=Clock()))


def test_wait_connected_returns_once_the_board_has_said_hello_not_on_an_earlier_heartbeat():
    """A board whose heartbeat reaches the host before its hello answer (seen on a loaded CI
    machine: `board serial` printed 'connected to board' with no name): wait_connected must wait
    for the hello, so the board's name and protocol version are known when it returns."""
    import os
    import tty

    from freev2g.framing import FrameDecoder
    from freev2g_evse_board.serialboard.link import SerialBoardLink

    async def main():
        master, slave = os.openpty()
        tty.setraw(slave)
        loop = asyncio.get_running_loop()
        decoder = FrameDecoder(max_payload=p.MAX_PAYLOAD)

        def board_reads():
            for frame in decoder.feed(os.read(master, 4096)):
                if p.decode(frame).name == "hello":
                    os.write(master, p.encode("heartbeat", 0, uptime_ms=1))
                    loop.call_later(0.3, os.write, master,
                                    p.encode("hello", 0, version=p.PROTOCOL_VERSION, heartbeat_ms=100, ident="late-hello-board"))

        loop.add_reader(master, board_reads)
        link = SerialBoardLink(os.ttyname(slave), heartbeat_timeout_s=2.0)
        try:
            await asyncio.wait_for(link.wait_connected(3.0), BOUND_S)
            assert link.board_name == "late-hello-board"
        finally:
            loop.remove_reader(master)
            await link.close()
            os.close(master)
            os.close(slave)

    asyncio.run(main())
