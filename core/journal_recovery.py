"""Crash recovery of the session journal (issue #10 item 10).

A station process that dies (SIGKILL, power cut, crash) leaves its running session open in the
journal: no SessionFinished, no ended_at. At the next start, before anything new is recorded,
the station closes each such session: an open session then cannot belong to a running process
(one station process per journal file).

Each gets one appended SessionFinished with cause `process_crash`, timestamped with the
session's last record (so ended_at = last record), energies = the last meter sample minus the
session's first (its start sample), SoC from the first and last samples, and
`energy_incomplete` set: what flowed between the last sample and the power really going off
is unknown. Nothing recorded before is changed.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .model import events as ev
from .model.enums import StopCause

if TYPE_CHECKING:  # pragma: no cover
    from .journal import Journal, SessionSummary


def close_crashed_sessions(journal: "Journal", cause: StopCause = StopCause.PROCESS_CRASH) -> list["SessionSummary"]:
    """Close every open session of `journal`; returns the closed sessions' summaries."""
    x = journal._x
    closed = []
    for sid in journal.open_session_ids():
        last = x("SELECT timestamp, evse_index FROM events WHERE session_id=? ORDER BY seq DESC LIMIT 1", (sid,)).fetchone()
        if last is None:  # a row without events (not written by record()): use the row itself
            last = x("SELECT started_at, evse_index FROM sessions WHERE session_id=?", (sid,)).fetchone()
        meters = x("SELECT energy_import_Wh, energy_export_Wh, soc_pct FROM meter_values WHERE session_id=? ORDER BY seq",
                   (sid,)).fetchall()
        first, final = (meters[0], meters[-1]) if meters else ((0.0, 0.0, None), (0.0, 0.0, None))
        detail = (f"the station process ended without closing the session; closed at the next start, "
                  f"ended_at = last record ({last[0]}), energy from {len(meters)} meter sample(s)")
        journal.record(ev.SessionFinished(
            session_id=sid, timestamp=datetime.fromisoformat(last[0]), evse_index=last[1], cause=cause, detail=detail,
            energy_import_Wh=round(final[0] - first[0], 3), energy_export_Wh=round(final[1] - first[1], 3),
            start_soc_pct=first[2], end_soc_pct=final[2], energy_incomplete=True,
        ))
        closed.append(journal.session(sid))
    return closed
