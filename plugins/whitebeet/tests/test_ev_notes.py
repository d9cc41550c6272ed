"""EV-role emulator values: 0xC3 tuples from the EVSE's schedules (whitebeet-hci.md 5.8, 8.4 #4)."""
from __future__ import annotations

from freev2g.model.schedule import PMaxScheduleEntry, SAScheduleList, SAScheduleTuple
from freev2g_whitebeet.emulator.ev_notes import schedule_tuples
from freev2g_whitebeet.messages import catalogue

SPEC_C3 = bytes.fromhex("01 00 01 00 02 00 00 00 00 00 00 0E 10 00 16 03 00 00 0E 10 00 01 43 70 00 0B 03")


def test_schedule_tuples_decode_like_the_sheets_example():
    sched = SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 22000.0), PMaxScheduleEntry(3600, 11000.0, 82800)])])
    spec = catalogue()["v2g.ev.schedule_received"]
    ours = spec.decode(spec.encode({"tuples": schedule_tuples(sched)}))
    sheet = spec.decode(SPEC_C3)
    assert [(e.start_s, e.interval_s, e.power_W.value) for e in ours.tuples[0].entries] == \
        [(e.start_s, e.interval_s, e.power_W.value) for e in sheet.tuples[0].entries] == [(0, 3600, 22000.0), (3600, 82800, 11000.0)]


def test_one_tuple_by_default_and_single_entries_split_in_two():
    sched = SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 50000.0, 86400)]),
                            SAScheduleTuple(2, [PMaxScheduleEntry(0, 10000.0, 86400)])])
    [only] = schedule_tuples(sched)
    assert only["tuple_id"] == 1
    assert [(e["start_s"], e["interval_s"]) for e in only["entries"]] == [(0, 43200), (43200, 43200)]
    assert [t["tuple_id"] for t in schedule_tuples(sched, max_tuples=3)] == [1, 2]
