"""Issue #10 items 11 and 12: a failing meter and a failing power-supply reading are named right.

Real sim board, real Station and journal (sqlite file), scripted EV peer, virtual time. The sim
board has no fault injection for a meter that raises or hangs, nor for a supply whose *reading*
fails (its psu_fault makes the setpoint commands fail), so a test plugin registers thin
subclasses of the sim drivers ("sim_flaky") whose read() raises, or - for the meter - is an
asynchronous read (a meter on a bus) that stops answering; everything else is the sim model.
"""
from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from freev2g import hookimpl
from freev2g.boards import CommunicationFault
from freev2g.cli import make_cli
from freev2g.link import CableCheckRequest, DCChargeLoopRequest, PowerDeliveryRequest, PreChargeRequest
from freev2g.model.enums import ChargeProgress, CPState, StopCause

from .conftest import make_pm

FLAKY = {"meter": None, "psu": None}  # None | "raise" | "hang" (meter only)


class _FlakyBoards:
    @hookimpl
    def freev2g_register_boards(self, registry):
        from freev2g_evse_board.sim.drivers import SimPowerMeter, SimPowerSupply, shared_model

        class FlakyMeter(SimPowerMeter):
            def read(self):
                if FLAKY["meter"] == "raise":
                    raise CommunicationFault("modbus timeout", device="flaky.meter")
                return super().read()

        class BusMeter(SimPowerMeter):
            """An asynchronous meter: read() is awaited; in "hang" mode it never answers."""

            def read(self):
                async def answer():
                    if FLAKY["meter"] == "hang":
                        await asyncio.Event().wait()
                    return SimPowerMeter.read(self)
                return answer()

        class FlakySupply(SimPowerSupply):
            def read(self):
                if FLAKY["psu"] == "raise":
                    raise CommunicationFault("CAN bus silent", device="flaky.psu")
                return super().read()

        registry.register("power_meter", "sim_flaky", lambda cfg, ctx: FlakyMeter(shared_model(cfg, ctx)))
        registry.register("power_meter", "sim_bus", lambda cfg, ctx: BusMeter(shared_model(cfg, ctx)))
        registry.register("power_supply", "sim_flaky", lambda cfg, ctx: FlakySupply(shared_model(cfg, ctx)))


async def _harness(tmp_path_factory, *, meter="sim_flaky", psu="sim_flaky", **evse):
    from freev2g.clock import Clock
    from freev2g.evse.station import Station
    from freev2g.evse.states import EvseTunables

    from .conftest import Harness, station_config

    cfg = station_config(evse=evse)
    cfg.board.power_meter = meter
    cfg.board.power_supply = psu
    shared: dict = {}
    journal = tmp_path_factory.mktemp("j") / "journal.sqlite"
    station = Station(cfg, pm=make_pm(("flaky", _FlakyBoards())), clock=Clock(), board_shared=shared,
                      link_shared={}, journal_path=str(journal), tunables=EvseTunables(meter_interval_s=5.0))
    await station.start()
    return Harness(station, shared)


@pytest.fixture
def harness(tmp_path_factory):
    FLAKY.update(meter=None, psu=None)

    def build(**kw):
        return _harness(tmp_path_factory, **kw)

    yield build
    FLAKY.update(meter=None, psu=None)


def _charging(h) -> bool:
    return h.bsp.contactor_closed() and h.ev.battery_current_A() > 10.0


def _stopped_safely(h) -> bool:
    return not h.bsp.contactor_closed() and h.ev.battery_current_A() == 0.0 and abs(h.model.psu_current_A) < 1.0


def _samples(h):
    return [e for e in h.events if e.kind == "MeterSample"]


# ---------------------------------------------------------------------------------- item 11: meter


def test_meter_that_raises_stops_the_session_with_power_meter_fault(virtual_loop, harness):
    async def scenario():
        h = await harness(fail_on_powermeter_errors=True)
        await h.start_dc()
        before = await h.loop(n=4)
        assert _charging(h) and before[-1].meter_Wh is not None
        sid = h.session_id
        FLAKY["meter"] = "raise"
        after = await h.loop(n=8)  # 2 s
        assert _stopped_safely(h)
        row = h.journal.session(sid)
        assert row.stop_cause == StopCause.POWER_METER_FAULT.value
        assert "modbus timeout" in row.stop_detail
        assert row.energy_import_Wh >= 0.0 and row.energy_incomplete
        # No answer after the failure reports a meter value it did not read.
        assert all(a.meter_Wh is None for a in after)
        await h.station.stop()

    virtual_loop(scenario())


def test_meter_that_raises_with_fail_false_keeps_charging_and_journals_honest_incomplete_energy(virtual_loop, harness):
    async def scenario():
        h = await harness(fail_on_powermeter_errors=False)
        await h.start_dc()
        before = await h.loop(n=8)
        sid = h.session_id
        start_Wh = _samples(h)[0].energy_import_Wh
        last_good_Wh = before[-1].meter_Wh
        assert last_good_Wh > start_Wh
        FLAKY["meter"] = "raise"
        n_samples = len(_samples(h))
        after = await h.loop(n=8)
        assert _charging(h)  # the session goes on: contactor closed, current flowing
        assert all(a.meter_Wh is None for a in after)  # nothing made up in CurrentDemandRes
        assert len(_samples(h)) == n_samples  # and no invented MeterSample in the journal
        snap = h.station.session(1)  # what uplinks (OCPP MeterValues) see
        assert snap.power_W is None and snap.energy_import_Wh == pytest.approx(last_good_Wh - start_Wh, abs=0.01)
        await h.stop_dc()
        assert _stopped_safely(h)
        row = h.journal.session(sid)
        assert row.stop_cause == StopCause.EV_STOP.value
        # Energy = last good register - first: positive, below what really flowed, flagged.
        assert row.energy_import_Wh == pytest.approx(last_good_Wh - start_Wh, abs=0.01)
        assert 0.0 < row.energy_import_Wh < h.model.energy_import_Wh - start_Wh
        assert row.energy_incomplete
        faults = [e for e in h.events if e.kind == "FaultRaised" and e.cause is StopCause.POWER_METER_FAULT]
        assert len(faults) == 1 and "charging continues" in faults[0].detail
        await h.station.stop()

    virtual_loop(scenario())


def test_meter_that_stops_answering_is_a_fault_after_the_read_timeout(virtual_loop, harness):
    """The meter's read() is awaited (a bus meter); in "hang" mode it never returns. The product
    code's timeout around the read (Metering.read_timeout_s) turns that into power_meter_fault."""

    async def scenario():
        h = await harness(meter="sim_bus", fail_on_powermeter_errors=True)
        await h.start_dc()
        before = await h.loop(n=8)
        assert _charging(h) and before[-1].meter_Wh is not None
        sid = h.session_id
        FLAKY["meter"] = "hang"
        await h.loop(n=20)  # 5 s: poll every 1 s, timeout 2 s
        assert _stopped_safely(h)
        row = h.journal.session(sid)
        assert row.stop_cause == StopCause.POWER_METER_FAULT.value
        assert "no answer in 2 s" in row.stop_detail
        assert row.energy_import_Wh > 0.0 and row.energy_incomplete
        await h.station.stop()

    virtual_loop(scenario())


def test_meter_fault_event_names_power_meter_fault(virtual_loop, harness):
    async def scenario():
        h = await harness(fail_on_powermeter_errors=True)
        await h.start_dc()
        await h.loop(n=4)
        sid = h.session_id
        h.model.emit("power_meter", "fault", "meter_error", "internal error 17")  # the driver reports
        await h.settle(0.5)
        assert _stopped_safely(h)
        assert h.journal.session(sid).stop_cause == StopCause.POWER_METER_FAULT.value
        await h.station.stop()

    virtual_loop(scenario())


def test_complete_session_is_not_marked_incomplete(virtual_loop, harness):
    async def scenario():
        h = await harness()
        await h.start_dc()
        await h.loop(n=8)
        sid = h.session_id
        await h.stop_dc()
        row = h.journal.session(sid)
        assert row.energy_import_Wh > 0.0 and not row.energy_incomplete
        await h.station.stop()

    virtual_loop(scenario())


def test_config_check_no_longer_calls_fail_on_powermeter_errors_no_effect(tmp_path):
    from freev2g.plugins import get_plugin_manager

    path = tmp_path / "station.toml"
    path.write_text('[evse]\ncharge_mode = "DC"\nfail_on_powermeter_errors = false\n')
    result = CliRunner().invoke(make_cli(get_plugin_manager()), ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "fail_on_powermeter_errors" not in result.output


# ---------------------------------------------------------------------------- item 12: supply read


@pytest.mark.parametrize("phase", ["cable_check", "precharge", "charge_loop", "power_delivery"])
def test_power_supply_read_failure_is_power_supply_fault(virtual_loop, harness, phase):
    async def scenario():
        h = await harness()
        cpd = await h.dc_until_charge_parameters()
        sid = h.session_id
        if phase == "cable_check":
            h.ev.set_cp_state(CPState.C)
            await h.settle(0.2)
            await h.link.send(CableCheckRequest(ev_status=h.ev_status()))  # starts the check
            await h.settle(0.5)  # contactor closed, ramping to the test voltage
            assert h.bsp.contactor_closed()
            FLAKY["psu"] = "raise"
            await h.settle(1.0)
        else:
            await h.cable_check()
        if phase == "cable_check":
            pass
        elif phase == "precharge":
            FLAKY["psu"] = "raise"
            with pytest.raises(Exception):
                await h.link.send(PreChargeRequest(ev_status=h.ev_status(), target_voltage_V=380.0,
                                                   target_current_A=2.0))
        else:
            await h.precharge()
            if phase == "power_delivery":
                FLAKY["psu"] = "raise"
                with pytest.raises(Exception):
                    await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START,
                                                           tuple_id=cpd.schedules.tuples[0].tuple_id))
            else:
                await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START,
                                                       tuple_id=cpd.schedules.tuples[0].tuple_id))
                await h.loop(n=4)
                assert _charging(h)
                FLAKY["psu"] = "raise"
                with pytest.raises(Exception):
                    await h.link.send(DCChargeLoopRequest(ev_status=h.ev_status(), target_voltage_V=410.0,
                                                          target_current_A=100.0, ev_max_voltage_V=420.0,
                                                          ev_max_current_A=200.0))
        await h.settle(0.5)
        assert not h.bsp.contactor_closed() and h.ev.battery_current_A() == 0.0
        assert abs(h.model.psu_current_A) < 1.0
        row = h.journal.session(sid)
        assert row.stop_cause == StopCause.POWER_SUPPLY_FAULT.value, (row.stop_cause, row.stop_detail)
        assert "CAN bus silent" in row.stop_detail and "internal error" not in row.stop_detail
        FLAKY["psu"] = None
        await h.station.stop()

    virtual_loop(scenario())


# ------------------------------------------------------------------ journal: old files stay readable


def test_journal_written_before_the_energy_incomplete_column_opens_and_reads(tmp_path):
    """A journal file from before this change (the sessions table without energy_incomplete,
    written here with the previous schema's SQL) opens, reads as complete, and takes new rows."""
    import sqlite3
    from datetime import datetime, timezone

    from freev2g.journal import Journal
    from freev2g.model import events as ev

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE sessions (session_id TEXT PRIMARY KEY, evse_index INTEGER NOT NULL, started_at TEXT NOT NULL,
            ended_at TEXT, protocol TEXT, iso_session_id TEXT, ev_id TEXT, id_token TEXT, auth_method TEXT, state TEXT,
            stop_cause TEXT, stop_detail TEXT, energy_import_Wh REAL, energy_export_Wh REAL, start_soc_pct REAL,
            end_soc_pct REAL, ev_parameters TEXT, evse_parameters TEXT);
        INSERT INTO sessions(session_id, evse_index, started_at, ended_at, state, stop_cause, energy_import_Wh,
            energy_export_Wh) VALUES ('old', 1, '2026-01-01T10:00:00+00:00', '2026-01-01T11:00:00+00:00', 'Finished',
            'ev_stop', 1234.5, 0.0);
    """)
    db.commit()
    db.close()
    j = Journal(path)
    old = j.session("old")
    assert old.energy_import_Wh == 1234.5 and old.stop_cause == "ev_stop" and not old.energy_incomplete
    ts = datetime(2026, 1, 2, 10, 0, tzinfo=timezone.utc)
    j.record(ev.PluggedIn(session_id="new", timestamp=ts, evse_index=1))
    j.record(ev.SessionFinished(session_id="new", timestamp=ts, evse_index=1, cause=StopCause.EV_STOP,
                                energy_import_Wh=10.0, energy_incomplete=True))
    assert j.session("new").energy_incomplete and not j.session("old").energy_incomplete
    j.close()
    assert Journal(path).session("new").energy_incomplete  # reopened: the column is there for good
