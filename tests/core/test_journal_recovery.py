"""Issue #10 item 10: sessions a crash left open in the journal are closed at the next station
start with cause `process_crash` (ended_at = last record, energy = last meter sample minus the
session's first); nothing recorded before is changed.

Real sqlite files, real processes killed with SIGKILL, a real Station on the sim board.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from freev2g.evse.station import StationError
from freev2g.journal import Journal

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    from freev2g.journal import Journal
    from freev2g.model import events as ev
    from freev2g.model.enums import Protocol, StopCause
    T = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
    j = Journal(sys.argv[1])
    # A session that finished normally: must not change.
    j.record(ev.PluggedIn(session_id="done", timestamp=T))
    j.record(ev.MeterSample(session_id="done", timestamp=T, energy_import_Wh=100.0, soc_pct=50.0))
    j.record(ev.StateChanged(session_id="done", timestamp=T, previous="Idle", state="Charging"))
    j.record(ev.MeterSample(session_id="done", timestamp=T + timedelta(minutes=5), energy_import_Wh=600.0, soc_pct=55.0))
    j.record(ev.SessionFinished(session_id="done", timestamp=T + timedelta(minutes=5), cause=StopCause.EV_STOP,
                                energy_import_Wh=500.0, start_soc_pct=50.0, end_soc_pct=55.0))
    j.record(ev.Unplugged(session_id="done", timestamp=T + timedelta(minutes=6)))
    # The session open when the process dies, on EVSE 2.
    t = T + timedelta(hours=1)
    j.record(ev.PluggedIn(session_id="open", evse_index=2, timestamp=t))
    j.record(ev.SessionStarted(session_id="open", evse_index=2, timestamp=t, protocol=Protocol.ISO15118_2))
    j.record(ev.MeterSample(session_id="open", evse_index=2, timestamp=t, energy_import_Wh=600.0, soc_pct=20.0))
    j.record(ev.StateChanged(session_id="open", evse_index=2, timestamp=t, previous="PreCharge", state="Charging"))
    i = 0
    while True:
        i += 1
        t = t + timedelta(seconds=10)
        j.record(ev.MeterSample(session_id="open", evse_index=2, timestamp=t, energy_import_Wh=600.0 + i,
                                soc_pct=20.0 + i / 100))
        print(i, flush=True)
    """
)


def dump(path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(path)
    try:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("sessions", "events", "meter_values", "schedules", "meta")}
    finally:
        db.close()


def open_ids(path) -> list[str]:
    """Sessions without an end, read with plain sqlite."""
    return [sid for (sid,) in journal_rows(path, "SELECT session_id FROM sessions WHERE ended_at IS NULL")]


def kill_writer(path) -> int:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    acknowledged = 0
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 50:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return acknowledged


async def start_and_stop_station(path, plugin_manager):
    """A station start on that journal; returns the sim board's physical state right after start."""
    from freev2g.clock import Clock
    from freev2g.config import StationConfig
    from freev2g.evse.station import Station

    shared: dict = {}
    station = Station(StationConfig(journal=str(path)), pm=plugin_manager, clock=Clock(1.0), board_shared=shared)
    await station.start()
    model = shared["sim_model"]
    physical = {"contactor": model.evse_contactor, "duty": station.boards["bsp"].pwm_duty_pct(),
                "psu_A": station.boards["power_supply"].read().current_A, "locked": model.locked}
    await station.stop()
    return physical


def test_station_start_closes_a_session_left_open_by_a_killed_writer(tmp_path, virtual_loop, plugin_manager):
    path = tmp_path / "journal.sqlite"
    kill_writer(path)
    before = dump(path)
    assert open_ids(path) == ["open"]
    j = Journal(path)
    open_events = j.events("open")
    samples = j.meter_values("open")
    j.close()

    physical = virtual_loop(start_and_stop_station(path, plugin_manager))

    assert physical == {"contactor": False, "duty": 100.0, "psu_A": 0.0, "locked": False}
    after = dump(path)
    for table, rows in before.items():  # nothing recorded before is changed: only appended
        if table != "sessions":
            assert after[table][: len(rows)] == rows, table
    done_before = [r for r in before["sessions"] if r[0] == "done"]
    assert [r for r in after["sessions"] if r[0] == "done"] == done_before
    added = after["events"][len(before["events"]):]
    assert [(r[1], r[4]) for r in added] == [("open", "SessionFinished")]  # one record, for the open session
    assert after["meter_values"] == before["meter_values"]

    j = Journal(path)
    s = j.session("open")
    assert s.finished and s.stop_cause == "process_crash" and s.evse_index == 2
    assert s.ended_at == open_events[-1].timestamp  # ended_at = the last record
    assert s.energy_import_Wh == pytest.approx(samples[-1].energy_import_Wh - samples[0].energy_import_Wh, abs=1e-3)
    assert s.start_soc_pct == samples[0].soc_pct and s.end_soc_pct == samples[-1].soc_pct
    assert s.protocol == "iso2"
    assert "without closing" in s.stop_detail
    assert s.energy_incomplete  # what flowed after the last sample is unknown
    done = j.session("done")
    assert done.stop_cause == "ev_stop" and done.energy_import_Wh == 500.0
    j.close()
    assert open_ids(path) == []

    virtual_loop(start_and_stop_station(path, plugin_manager))  # a second start: nothing more to close
    assert dump(path)["events"] == after["events"]


RUN_CLI = "import sys; from freev2g.cli import main; main(sys.argv[1:])"


def journal_rows(path, sql, params=()):
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.OperationalError:
        return []
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


@pytest.mark.slow
def test_station_killed_mid_charge_is_closed_as_process_crash_at_the_next_start(tmp_path, virtual_loop,
                                                                                plugin_manager):
    """`freev2g simulate` (station + EV, one real process) SIGKILLed while charging; while it
    runs, a second station on the same journal is refused."""
    path = tmp_path / "journal.sqlite"
    car = tmp_path / "car.toml"
    car.write_text("[battery]\nstart_soc_pct = 20\ntarget_soc_pct = 90\n")
    proc = subprocess.Popen([sys.executable, "-c", RUN_CLI, "simulate", "--speed", "10", "--journal", str(path),
                             "--ev-config", str(car), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            charging = journal_rows(path, "SELECT COUNT(*) FROM meter_values WHERE power_W > 1000")
            if charging and charging[0][0] >= 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the simulated session never charged")
        # While that station runs, a second station on its journal must not start (its crash
        # recovery would close the live session).
        with pytest.raises(StationError, match="in use by another running station"):
            virtual_loop(start_and_stop_station(path, plugin_manager))
        assert len(open_ids(path)) == 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    before = dump(path)
    (sid,) = open_ids(path)
    j = Journal(path)
    last_event = j.events(sid)[-1]
    samples = j.meter_values(sid)
    assert j.session(sid).state == "Charging"
    j.close()

    physical = virtual_loop(start_and_stop_station(path, plugin_manager))

    assert physical == {"contactor": False, "duty": 100.0, "psu_A": 0.0, "locked": False}
    after = dump(path)
    assert after["events"][: len(before["events"])] == before["events"]
    assert after["meter_values"] == before["meter_values"]
    j = Journal(path)
    s = j.session(sid)
    assert s.stop_cause == "process_crash" and s.ended_at == last_event.timestamp
    assert s.energy_import_Wh == pytest.approx(samples[-1].energy_import_Wh - samples[0].energy_import_Wh, abs=1e-3)
    assert s.energy_import_Wh > 0
    j.close()
