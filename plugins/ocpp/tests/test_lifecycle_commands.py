"""Issue #13 items 8-10 against the `ocpp` library CSMS on 127.0.0.1: a remote start after
plug-in belongs to the open transaction; Reset ends transactions with the version's own stop
reason and sends what is queued before the connection closes; stop() drains the queue."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from freev2g.model.enums import StopCause
from freev2g.model.events import Authorized, PluggedIn, SessionFinished, Unplugged
from freev2g.model.enums import PaymentOption
from freev2g.station import SessionSnapshot
from freev2g_ocpp import OcppUplink

S1 = "7a1c2e0b-1111-4c4c-9d9d-000000000001"
S2 = "7a1c2e0b-2222-4c4c-9d9d-000000000002"


def snapshot(session_id):
    return SessionSnapshot(session_id=session_id, evse_index=1, state="charging", started_at=datetime.now(timezone.utc),
                           iso_session_id=None, id_token=None, energy_import_Wh=0, energy_export_Wh=0, power_W=0,
                           soc_pct=None)


def tx_of(csms, session_id):
    return [t for t in csms.calls("TransactionEvent") if t["transactionInfo"]["transactionId"] == session_id]


async def end_when_stopped(station, session_id, n_calls):
    """The fake station's remote_stop ends the session the way the EvseManager does."""
    while len(station.calls) <= n_calls or station.calls[-1][0] != "remote_stop":
        await asyncio.sleep(0.01)
    station.sessions.pop(1, None)
    station.emit(SessionFinished(session_id=session_id, cause=StopCause.REMOTE_STOP))


def test_remote_start_after_plug_in_goes_into_the_open_transaction_not_the_next(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            station.emit(PluggedIn(session_id=S1))
            station.sessions[1] = snapshot(S1)
            await csms.wait_for(lambda c: tx_of(c, S1), "Started of the plugged-in EV")
            start = await csms.request("RequestStartTransaction",
                                       {"idToken": {"idToken": "LATE-TOKEN", "type": "Central"}, "remoteStartId": 91,
                                        "evseId": 1})
            assert start[2]["status"] == "Accepted" and start[2]["transactionId"] == S1
            station.emit(Authorized(session_id=S1, method=PaymentOption.EXTERNAL_PAYMENT, id_token="LATE-TOKEN"))
            await csms.wait_for(lambda c: any(t["transactionInfo"].get("remoteStartId") == 91 for t in tx_of(c, S1)),
                                "remoteStartId 91 in the open transaction")
            station.sessions.pop(1)
            station.emit(SessionFinished(session_id=S1, cause=StopCause.EV_STOP))
            station.emit(Unplugged(session_id=S1))
            station.emit(PluggedIn(session_id=S2))
            await csms.wait_for(lambda c: tx_of(c, S2), "Started of the next EV")
            await asyncio.sleep(0.3)
            assert all("remoteStartId" not in t["transactionInfo"] for t in tx_of(csms, S2)), tx_of(csms, S2)

    asyncio.run(main())


def test_reset_on_idle_sends_ended_before_it_reconnects(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            station.emit(PluggedIn(session_id=S1))
            station.sessions[1] = snapshot(S1)
            await csms.wait_for(lambda c: tx_of(c, S1), "Started")
            reset = await csms.request("Reset", {"type": "OnIdle"})
            assert reset[2] == {"status": "Scheduled"}
            await asyncio.sleep(0.3)
            assert [b["reason"] for b in csms.calls("BootNotification")] == ["PowerUp"]  # not while charging
            station.sessions.pop(1)
            station.emit(SessionFinished(session_id=S1, cause=StopCause.EV_STOP))
            await csms.wait_for(lambda c: any(b["reason"] == "RemoteReset" for b in c.calls("BootNotification")),
                                "BootNotification after the reset")
            actions = csms.actions()
            ended_at = next(i for i, a in enumerate(actions)
                            if a == "TransactionEvent" and csms.calls()[i].get("eventType") == "Ended")
            second_boot = [i for i, a in enumerate(actions) if a == "BootNotification"][1]
            assert ended_at < second_boot, actions

    asyncio.run(main())


def test_immediate_reset_ends_the_transaction_with_immediate_reset(ocpp_env):
    async def main():
        async with ocpp_env() as (csms, station, uplink):
            station.emit(PluggedIn(session_id=S1))
            station.sessions[1] = snapshot(S1)
            await csms.wait_for(lambda c: tx_of(c, S1), "Started")
            ender = asyncio.ensure_future(end_when_stopped(station, S1, len(station.calls)))
            reset = await csms.request("Reset", {"type": "Immediate"})
            assert reset[2] == {"status": "Accepted"}
            await csms.wait_for(lambda c: any(b["reason"] == "RemoteReset" for b in c.calls("BootNotification")),
                                "BootNotification after the reset")
            await ender
            [ended] = [t for t in tx_of(csms, S1) if t["eventType"] == "Ended"]
            assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
            assert ended["triggerReason"] == "ResetCommand"

    asyncio.run(main())


def test_ocpp16_soft_reset_stops_the_transaction_with_reason_soft_reset(ocpp_env, session_events):
    async def main():
        async with ocpp_env("1.6") as (csms, station, uplink):
            events = session_events(S1)
            for e in events[:5]:  # plugged in .. PowerDelivery(Start)
                station.emit(e)
            station.sessions[1] = snapshot(S1)
            await csms.wait_for(lambda c: c.calls("StartTransaction"), "StartTransaction")
            ender = asyncio.ensure_future(end_when_stopped(station, S1, len(station.calls)))
            reset = await csms.request("Reset", {"type": "Soft"})
            assert reset[2] == {"status": "Accepted"}
            await csms.wait_for(lambda c: c.calls("StopTransaction"), "StopTransaction")
            await ender
            assert csms.calls("StopTransaction")[0]["reason"] == "SoftReset"

    asyncio.run(main())


def test_stop_sends_what_is_queued_before_it_closes(make_csms, make_station, uplink_config, session_events):
    """Item 10: `freev2g simulate` stops the uplink right after the session; Ended and the last
    StatusNotification must reach the CSMS in the same run."""
    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url), station)
        await uplink.start()
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot + status")
            for event in session_events(S1):
                station.emit(event)
            await uplink.stop()  # at once, while the session's messages are still queued
        finally:
            await csms.stop()
        return csms

    csms = asyncio.run(main())
    assert tx_of(csms, S1)[-1]["eventType"] == "Ended"
    assert csms.calls("StatusNotification")[-1]["connectorStatus"] == "Available"
