"""Offline behaviour: the CSMS goes away mid-session and comes back; the station process is
killed mid-session and restarted; a CALLERROR is final. Every event arrives once, in order,
with its original timestamp and seqNo."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

from freev2g_ocpp import OcppUplink
from freev2g_ocpp.outbox import Outbox

SESSION = "9d8f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def _seq_check(csms):
    tx = csms.calls("TransactionEvent")
    seqs = [p["seqNo"] for p in tx]
    assert seqs == list(range(len(seqs))), f"seqNos not once-in-order: {seqs}"
    return tx


def test_csms_down_and_back_every_event_once_in_order(make_csms, make_station, uplink_config, session_events):
    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url), station)
        await uplink.start()
        events = session_events(SESSION, samples=6)
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot")
            for event in events[:6]:  # up to the first meter sample
                station.emit(event)
            await csms.wait_for(lambda c: len(c.calls("TransactionEvent")) >= 5, "first half")
            await asyncio.wait_for(uplink.wait_idle(), 20)
            await csms.stop()
            while uplink.connected:  # the station notices the closed socket (no timing assumed)
                await asyncio.sleep(0)
            offline_events = events[6:]
            for event in offline_events:
                station.emit(event)
            assert uplink.outbox.depth() > 0
            queued_before = len(csms.calls("TransactionEvent"))
            await csms.start()  # same port
            await csms.wait_for(lambda c: any(p["eventType"] == "Ended" for p in c.calls("TransactionEvent")),
                                "Ended after reconnect")
            await asyncio.wait_for(uplink.wait_idle(), 20)
        finally:
            await uplink.stop()
            await csms.stop()
        return csms, events, queued_before

    csms, events, queued_before = asyncio.run(main())
    tx = _seq_check(csms)
    assert len(csms.identities) == 2  # two connections
    late = tx[queued_before:]
    assert late and all(p.get("offline") is True for p in late)
    assert [p["triggerReason"] for p in late].count("MeterValuePeriodic") == 5
    # Original timestamps: the last event's own time, not the time of delivery.
    from freev2g_ocpp.mapping_base import iso
    assert tx[-1]["timestamp"] == iso(events[-2].timestamp)
    assert [b for b in csms.actions() if b == "BootNotification"] == ["BootNotification"] * 2


def test_callerror_is_final_and_later_events_still_flow(make_csms, make_station, uplink_config, session_events):
    async def main():
        csms = make_csms("2.0.1")
        csms.fail_tx_seq = 2  # the CSMS answers seqNo 2 with an InternalError
        await csms.start()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url), station)
        await uplink.start()
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot")
            for event in session_events(SESSION):
                station.emit(event)
            await csms.wait_for(lambda c: len(c.calls("StatusNotification")) == 3, "whole session")
            rejected = uplink.outbox.entries("rejected")
        finally:
            await uplink.stop()
            await csms.stop()
        return csms, rejected

    csms, rejected = asyncio.run(main())
    tx = _seq_check(csms)  # seqNo 2 sent once, not retried
    assert [r[2]["seqNo"] for r in rejected] == [2]
    assert tx[-1]["eventType"] == "Ended"


CHILD = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {tests!r})
    from conftest import FakeStation, dc_session_events
    from freev2g_ocpp import OcppConfig, OcppUplink

    async def main():
        station = FakeStation()
        cfg = OcppConfig(url={url!r}, queue_path={queue!r}, reconnect_min_s=5.0, reconnect_max_s=5.0)
        uplink = OcppUplink(cfg, station)
        await uplink.start()
        for event in dc_session_events({session!r}, samples=4)[:-3]:  # killed before the session ends
            station.emit(event)
        print("queued", uplink.outbox.depth(), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")


def test_killed_process_keeps_its_queue(make_csms, make_station, uplink_config, tmp_path):
    queue = str(tmp_path / "queue.sqlite")

    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        port = csms.port
        await csms.stop()  # unreachable while the first process runs
        script = CHILD.format(tests=TESTS_DIR, url=f"ws://127.0.0.1:{port}/ocpp", queue=queue, session=SESSION)
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE)
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        assert line.startswith(b"queued"), line
        os.kill(child.pid, signal.SIGKILL)
        await child.wait()
        box = Outbox(queue)
        pending = [(a, p.get("seqNo")) for _, a, p, _ in box.entries("pending")]
        box.close()
        await csms.start()  # same port, then a new process (here: a new uplink) on the same queue
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url, queue_path=queue), station)
        await uplink.start()
        try:
            await csms.wait_for(lambda c: any(p["eventType"] == "Ended" for p in c.calls("TransactionEvent")),
                                "queued events and the orphan's end")
            await asyncio.wait_for(uplink.wait_idle(), 20)
        finally:
            await uplink.stop()
            await csms.stop()
        return csms, pending

    csms, pending = asyncio.run(main())
    tx = _seq_check(csms)
    durable = [s for a, s in pending if a == "TransactionEvent"]
    assert [p["seqNo"] for p in tx[:len(durable)]] == durable
    assert len(tx) == len(durable) + 1
    assert tx[-1]["eventType"] == "Ended" and tx[-1]["transactionInfo"]["stoppedReason"] == "Reboot"
    assert all(p.get("offline") for p in tx[:len(durable)])
    # Volatile messages (status, charging needs) of the dead process were dropped, not replayed.
    assert "NotifyEVChargingNeeds" not in csms.actions()
