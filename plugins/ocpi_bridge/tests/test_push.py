"""Sessions and CDRs pushed to a real eMSP; the outbox while the eMSP is down; paginated GETs."""
from __future__ import annotations

from datetime import timedelta

from freev2g.clock import Clock
from freev2g.model.enums import ChargeProgress, PaymentOption, StopCause
from freev2g.model.events import (
    Authorized,
    MeterSample,
    PluggedIn,
    PowerDelivery,
    SessionFinished,
    SessionStarted,
)
from ocpi_helpers import EmspPeer, HarnessStation, cpo_call, new_session_id, ocpi_config, register_emsp_with_cpo, run

from freev2g_ocpi_bridge.uplink import OcpiBridge


def play_session(station: HarnessStation, sid: str, *, samples: int = 5, step_Wh: float = 250.0, register0_Wh: float = 10_000.0):
    """A charging session as the EvseManager reports it; energies are meter register values."""
    t0 = station.clock.now()
    ts = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    station.emit(PluggedIn(session_id=sid, timestamp=ts(0)))
    station.emit(SessionStarted(session_id=sid, timestamp=ts(1), iso_session_id="0011223344556677"))
    station.emit(Authorized(session_id=sid, timestamp=ts(2), method=PaymentOption.EXTERNAL_PAYMENT, id_token="04A2B3C4"))
    station.emit(PowerDelivery(session_id=sid, timestamp=ts(3), progress=ChargeProgress.START))
    for i in range(samples):
        station.emit(MeterSample(session_id=sid, timestamp=ts(10 + 60 * i), energy_import_Wh=register0_Wh + i * step_Wh, power_W=11_000.0))
    energy = (samples - 1) * step_Wh
    station.emit(SessionFinished(session_id=sid, timestamp=ts(20 + 60 * samples), cause=StopCause.EV_STOP, energy_import_Wh=energy))
    return energy


def test_session_updates_and_final_cdr_match_the_journal(tmp_path):
    async def main():
        peer = EmspPeer()
        await peer.start()
        # interval 0: every meter sample becomes a PATCH
        station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path, session_update_interval_s=0.0), station)
        await bridge.start()
        try:
            await register_emsp_with_cpo(bridge, peer)
            sid = new_session_id()
            play_session(station, sid, samples=4)
            got = await peer.wait_for(lambda r: any(x["method"] == "POST" for x in r))
            pushes = [r for r in got if sid in r["path"] or r["path"].endswith("/cdrs")]
            assert pushes[0]["method"] == "PUT" and pushes[0]["path"].endswith(f"/sessions/DE/FV2/{sid}")
            first = pushes[0]["body"]
            assert first["status"] == "PENDING" and first["kwh"] == 0 and first["id"] == sid
            assert first["country_code"] == "DE" and first["party_id"] == "FV2" and first["currency"] == "EUR"
            patches = [r["body"] for r in pushes if r["method"] == "PATCH"]
            assert all("last_updated" in p for p in patches)
            assert [p["kwh"] for p in patches if "kwh" in p] == sorted(p["kwh"] for p in patches if "kwh" in p)
            assert patches[-1]["status"] == "COMPLETED" and "end_date_time" in patches[-1]
            assert pushes[-1]["method"] == "POST" and pushes[-1]["path"].endswith("/cdrs")
            cdr = pushes[-1]["body"]
            journal_Wh = station.journal.session(sid).energy_import_Wh
            assert journal_Wh == 750.0
            assert cdr["total_energy"] * 1000.0 == journal_Wh
            assert patches[-1]["kwh"] * 1000.0 == journal_Wh
            assert cdr["id"] == sid and cdr["session_id"] == sid
            assert cdr["cdr_token"]["uid"] == "04A2B3C4"
            assert cdr["cdr_location"]["evse_id"] == "DE*FV2*E0001*1"
            assert cdr["charging_periods"][0]["dimensions"][0] == {"type": "ENERGY", "volume": 0.75}
            # every push carried the token the eMSP gave us, and a distinct request id
            assert {r["token"] for r in pushes} == {peer.token_c_for_cpo}
            assert len({r["request_id"] for r in pushes}) == len(pushes)
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_session_patches_are_throttled_on_the_station_clock(tmp_path):
    async def main():
        peer = EmspPeer()
        await peer.start()
        station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path, session_update_interval_s=3600.0), station)
        await bridge.start()
        try:
            await register_emsp_with_cpo(bridge, peer)
            sid = new_session_id()
            play_session(station, sid, samples=30)
            got = await peer.wait_for(lambda r: any(x["method"] == "POST" for x in r))
            patches = [r for r in got if r["method"] == "PATCH"]
            # Authorized (status ACTIVE) and the final COMPLETED; not one per meter sample
            assert [p["body"]["status"] for p in patches] == ["ACTIVE", "COMPLETED"]
            assert patches[-1]["body"]["kwh"] == 29 * 0.25
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_outbox_keeps_everything_while_emsp_is_down_and_delivers_once_in_order(tmp_path):
    async def main():
        peer = EmspPeer()
        await peer.start()
        clock = Clock(speed=50.0)  # retry backoff runs 50x faster than wall time
        station = HarnessStation(tmp_path / "journal.sqlite", clock=clock)
        cfg = ocpi_config(tmp_path, session_update_interval_s=0.0)
        bridge = OcpiBridge(cfg, station)
        await bridge.start()
        await register_emsp_with_cpo(bridge, peer)
        await peer.stop()  # the eMSP goes down

        sids = [new_session_id(), new_session_id()]
        for sid in sids:
            play_session(station, sid, samples=3)
        queued = bridge.outbox.items()
        # per session: PUT, PATCH (authorized), 3 PATCH (meter samples), PATCH (completed), POST cdr
        assert len(queued) == 2 * 7
        await bridge.outbox.wait_until(lambda ob: ob.attempts >= 2, timeout_s=20)
        assert all(item["state"] == "pending" for item in bridge.outbox.items())
        assert "ClientConnectorError" in bridge.outbox.items()[0]["last_error"]
        # the station restarts: a new bridge on the same sqlite file
        await bridge.stop()
        bridge = OcpiBridge(cfg, station)
        await bridge.start()
        try:
            peer.failures_for = {f"/emsp/2.2.1/sessions/DE/FV2/{sids[1]}"}  # one 503 on the way
            await peer.start()  # back on the same port
            bridge.outbox.retry_now()
            got = await peer.wait_for(lambda r: len(r) >= len(queued))
            assert len(got) == len(queued)
            assert [r["request_id"] for r in got] == [q["request_id"] for q in queued]
            assert [r["body"] for r in got] == [__import__("json").loads(q["body"]) for q in queued]
            assert all(item["state"] == "delivered" for item in bridge.outbox.items())
            retried = [i for i in bridge.outbox.items() if i["attempts"] > 1]
            assert retried, "the failed attempts are counted"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_paginated_sessions_and_cdrs_with_date_filters(tmp_path):
    async def main():
        station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path), station)
        await bridge.start()
        peer = EmspPeer()
        await peer.start()
        try:
            token = await register_emsp_with_cpo(bridge, peer)
            sids = [new_session_id() for _ in range(5)]
            for sid in sids:
                play_session(station, sid, samples=2)
            status, doc, headers = await cpo_call(bridge, "GET", "2.2.1/sessions", token, params={"limit": "2"})
            assert status == 200 and len(doc["data"]) == 2
            assert headers["X-Total-Count"] == "5" and headers["X-Limit"] == "2"
            link = headers["Link"]
            assert link.startswith(f"<{bridge.url('2.2.1/sessions')}?") and 'rel="next"' in link and "offset=2" in link
            seen = [s["id"] for s in doc["data"]]
            offset = 2
            while True:
                status, doc, headers = await cpo_call(bridge, "GET", "2.2.1/sessions", token, params={"limit": "2", "offset": str(offset)})
                seen += [s["id"] for s in doc["data"]]
                offset += len(doc["data"])
                if "Link" not in headers:
                    break
            assert sorted(seen) == sorted(sids)
            # limit is capped by page_limit_max
            _, doc, headers = await cpo_call(bridge, "GET", "2.2.1/cdrs", token, params={"limit": "100000"})
            assert headers["X-Limit"] == "100" and len(doc["data"]) == 5
            # date filters: date_from inclusive, date_to exclusive, on last_updated
            cdrs = doc["data"]
            mid = sorted(c["last_updated"] for c in cdrs)[2]
            _, doc, headers = await cpo_call(bridge, "GET", "2.2.1/cdrs", token, params={"date_from": mid})
            assert headers["X-Total-Count"] == "3"
            _, doc, headers = await cpo_call(bridge, "GET", "2.2.1/cdrs", token, params={"date_to": mid})
            assert headers["X-Total-Count"] == "2"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())
