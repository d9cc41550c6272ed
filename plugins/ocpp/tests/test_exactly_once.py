"""Delivery as close to exactly-once as OCPP-J allows: each queued message keeps one messageId
from commit to CALLRESULT. What a CSMS can see twice is only a message whose CALLRESULT never
reached the station (connection lost or process killed in between); that resend is the same
frame: same messageId, same payload (seqNo, timestamp, offline flag). Everything answered is
never sent again, across reconnects and restarts."""
from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
import textwrap

from freev2g_ocpp import OcppUplink
from freev2g_ocpp.outbox import Outbox

SESSION = "0e6c2a55-7b1d-4c3e-9f00-5a4b3c2d1e0f"
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def check_once_except(csms, resent_seq: int):
    """Every TransactionEvent frame once, except `resent_seq`: twice, byte-identical."""
    frames = csms.call_frames("TransactionEvent")
    by_id = collections.defaultdict(list)
    for f in frames:
        by_id[f[1]].append(f)
    twice = {mid: fs for mid, fs in by_id.items() if len(fs) > 1}
    assert len(twice) == 1, f"resent frames: {twice}"
    (copies,) = twice.values()
    assert len(copies) == 2 and copies[0] == copies[1]
    assert copies[0][3]["seqNo"] == resent_seq
    unique = [fs[0][3]["seqNo"] for fs in by_id.values()]
    assert unique == list(range(len(unique))), f"seqNos not once-in-order: {unique}"
    return frames


def test_lost_callresult_resends_the_same_frame_and_nothing_else(make_csms, make_station, uplink_config,
                                                                  session_events):
    async def main():
        csms = make_csms("2.0.1")
        csms.swallow_tx_seq = (3,)  # the CSMS reads seqNo 3, then the connection drops unanswered
        await csms.start()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url), station)
        await uplink.start()
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot")
            for event in session_events(SESSION, samples=4):
                station.emit(event)
            await csms.wait_for(lambda c: any(p["eventType"] == "Ended" for p in c.calls("TransactionEvent")),
                                "Ended after the reconnect")
            await asyncio.wait_for(uplink.wait_idle(), 20)
            attempts = uplink.outbox.attempts()
        finally:
            await uplink.stop()
            await csms.stop()
        return csms, attempts

    csms, attempts = asyncio.run(main())
    assert len(csms.identities) == 2  # reconnected once
    frames = check_once_except(csms, resent_seq=3)
    tx_attempts = [a for _, action, a, _ in attempts if action == "TransactionEvent"]
    assert tx_attempts.count(2) == 1 and set(tx_attempts) == {1, 2}
    sent_ids = {f[1] for f in frames}
    assert sent_ids == {mid for _, action, _, mid in attempts if action == "TransactionEvent"}


CHILD = textwrap.dedent("""
    import asyncio, sys
    sys.path.insert(0, {tests!r})
    from conftest import FakeStation, dc_session_events
    from freev2g_ocpp import OcppConfig, OcppUplink

    async def main():
        station = FakeStation()
        cfg = OcppConfig(url={url!r}, queue_path={queue!r}, response_timeout_s=300.0)
        uplink = OcppUplink(cfg, station)
        await uplink.start()
        for event in dc_session_events({session!r}, samples=4)[:-3]:
            station.emit(event)
        print("queued", uplink.outbox.depth(), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")


def test_restart_while_waiting_for_an_answer_resends_only_that_frame(make_csms, make_station, uplink_config,
                                                                      tmp_path):
    queue = str(tmp_path / "queue.sqlite")

    async def main():
        csms = make_csms("2.0.1")
        csms.hold_tx_seq = (2,)  # received, never answered: the process dies waiting for it
        await csms.start()
        script = CHILD.format(tests=TESTS_DIR, url=csms.url, queue=queue, session=SESSION)
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE)
        try:
            await csms.wait_for(lambda c: any(p["seqNo"] == 2 for p in c.calls("TransactionEvent")), "seqNo 2")
        finally:
            os.kill(child.pid, signal.SIGKILL)
            await child.wait()
        box = Outbox(queue)
        before = {mid: state for (_, _, _, mid), (_, _, _, state) in zip(box.attempts(), box.entries())}
        box.close()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url, queue_path=queue), station)
        await uplink.start()
        try:
            await csms.wait_for(lambda c: any(p["eventType"] == "Ended" for p in c.calls("TransactionEvent")),
                                "the queued events and the orphan's end")
            await asyncio.wait_for(uplink.wait_idle(), 20)
        finally:
            await uplink.stop()
            await csms.stop()
        return csms, before

    csms, before = asyncio.run(main())
    frames = check_once_except(csms, resent_seq=2)
    delivered_before = {mid for mid, state in before.items() if state == "delivered"}
    assert delivered_before, "nothing was delivered before the kill"
    resent = [f for f in frames if f[1] in delivered_before]
    assert len(resent) == len({f[1] for f in resent})  # answered frames were not sent again
    assert frames[-1][3]["transactionInfo"]["stoppedReason"] == "Reboot"
