"""Journal: sqlite session store; what record() stored survives SIGKILL (ARCHITECTURE.md)."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from freev2g.journal import Journal, JournalError
from freev2g.model import events as ev
from freev2g.model.enums import EnergyTransferMode, Protocol, StopCause
from freev2g.model.params import DCEVChargeParameter, DCEVStatus, ScaleNeeds
from freev2g.model.schedule import PMaxScheduleEntry, SAScheduleList, SAScheduleTuple

T = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def test_session_summary_parameters_meter_and_schedules(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    sid = "a3c2d8a0-0000-4000-8000-000000000001"
    j.record(ev.PluggedIn(session_id=sid, timestamp=T))
    j.record(ev.SessionStarted(session_id=sid, protocol=Protocol.ISO15118_2, iso_session_id="0011223344556677", ev_id="0a0b"))
    dc = DCEVChargeParameter(DCEVStatus(soc_pct=20.0), 200.0, 420.0,
                             scale=ScaleNeeds(ev_min_energy_request_Wh=5_000.0, ev_max_energy_request_Wh=40_000.0))
    j.record(ev.EVNeedsReceived(session_id=sid, mode=EnergyTransferMode.DC_EXTENDED, dc=dc, max_entries=12))
    sl = SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 11_000.0, 86_400)])])
    j.record(ev.ScheduleOffered(session_id=sid, schedules=sl))
    j.record(ev.StateChanged(session_id=sid, previous="Idle", state="Charging", cause="PowerDelivery(Start)"))
    j.record(ev.MeterSample(session_id=sid, energy_import_Wh=1_000.0, power_W=10_000.0, soc_pct=20.0))
    j.record(ev.MeterSample(session_id=sid, energy_import_Wh=1_500.0, power_W=10_000.0, soc_pct=21.0))
    live = j.session(sid)
    assert live.energy_import_Wh == 500.0 and not live.finished and live.state == "Charging"
    j.record(ev.SessionFinished(session_id=sid, cause=StopCause.EV_STOP, energy_import_Wh=512.0, end_soc_pct=21.5))
    s = j.session(sid)
    assert s.finished and s.stop_cause == "ev_stop" and s.energy_import_Wh == 512.0
    assert s.iso_session_id == "0011223344556677" and s.protocol == "iso2"
    assert s.ev_parameters["dc"]["scale"]["ev_max_energy_request_Wh"] == 40_000.0
    assert j.schedules(sid)[0].schedules == sl
    assert [m.energy_import_Wh for m in j.meter_values(sid)] == [1_000.0, 1_500.0]
    records = j.events(sid)
    assert [r.kind for r in records][:3] == ["PluggedIn", "SessionStarted", "EVNeedsReceived"]
    assert records[2].to_event().dc == dc  # typed round trip, SCALE data included
    assert [x.session_id for x in j.sessions()] == [sid]
    assert j.session("missing") is None
    j.close()


def test_wal_and_sync_per_durability(tmp_path):
    j = Journal(tmp_path / "j.sqlite")  # default: survives a process crash, no fsync per record
    assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    j.close()
    j = Journal(tmp_path / "j.sqlite", durability="power_loss")
    assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert j._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    j.close()
    with pytest.raises(JournalError, match="durability must be one of process, power_loss"):
        Journal(tmp_path / "j.sqlite", durability="sometimes")


def test_bad_input_keeps_records(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.record(ev.PluggedIn(session_id="s1"))
    with pytest.raises(TypeError, match="SessionEvent"):
        j.record({"kind": "PluggedIn"})  # type: ignore[arg-type]
    assert len(j.events("s1")) == 1
    j.close()


def test_not_a_journal_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError, match="bad.sqlite"):
        Journal(bad)


WRITER = textwrap.dedent(
    """
    import sys
    from freev2g.journal import Journal
    from freev2g.model import events as ev
    j = Journal(sys.argv[1])
    i = 0
    while True:
        j.record(ev.MeterSample(session_id="crash", energy_import_Wh=float(i)))
        print(i, flush=True)
        i += 1
    """
)


def test_killed_writer_loses_nothing_it_recorded(tmp_path):
    path = tmp_path / "crash.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    acknowledged = -1
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 200:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    j = Journal(path)
    assert j.integrity_ok()
    values = [m.energy_import_Wh for m in j.meter_values("crash")]
    assert len(values) >= acknowledged + 1  # every acknowledged record is there
    assert values[: acknowledged + 1] == [float(i) for i in range(acknowledged + 1)]
    j.record(ev.SessionFinished(session_id="crash", cause=StopCause.PROCESS_SHUTDOWN))  # still writable
    assert j.session("crash").stop_cause == "process_shutdown"
    j.close()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_station_passes_the_journal_durability_on(tmp_path, virtual_loop, plugin_manager):
    from freev2g.clock import Clock
    from freev2g.config import StationConfig
    from freev2g.evse.station import Station

    async def scenario():
        found = {}
        for durability in ("process", "power_loss"):
            station = Station(StationConfig(), pm=plugin_manager, clock=Clock(1.0),
                              journal_path=str(tmp_path / f"{durability}.sqlite"), journal_durability=durability)
            await station.start()
            found[durability] = station.journal._db.execute("PRAGMA synchronous").fetchone()[0]
            await station.stop()
        return found

    assert virtual_loop(scenario()) == {"process": 1, "power_loss": 2}


def test_station_toml_chooses_the_journal_durability(tmp_path, virtual_loop, plugin_manager):
    from freev2g.clock import Clock
    from freev2g.config import ConfigError, parse_station_config
    from freev2g.evse.station import Station

    cfg = parse_station_config({"journal": str(tmp_path / "j.sqlite"), "journal_durability": "power_loss"})
    with pytest.raises(ConfigError, match="journal_durability must be one of process, power_loss"):
        parse_station_config({"journal_durability": "sometimes"})

    async def scenario():
        station = Station(cfg, pm=plugin_manager, clock=Clock(1.0))
        await station.start()
        sync = station.journal._db.execute("PRAGMA synchronous").fetchone()[0]
        await station.stop()
        return sync

    assert virtual_loop(scenario()) == 2  # FULL
