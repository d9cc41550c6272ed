"""Authorization end to end: a real Station (sim board, EvseManager, journal) with a scripted
ISO 15118 peer on the link seam, the OCPP uplink built from config, and a real CSMS on
127.0.0.1. A token presented at the station -> AuthorizationRequested -> OCPP Authorize ->
the CSMS's verdict -> remote_start / reject_authorization -> the EV's AuthorizationReq answer.

The scripted peer polls AuthorizationReq until Finished, as an EV does (ISO 15118-2 [V2G2-684]),
so the outcome does not depend on who is faster, the CSMS or the EV."""
from __future__ import annotations

import asyncio

import pytest
from freev2g import hookimpl
from freev2g.clock import Clock
from freev2g.config import EvseManagerConfig, LinkConfig, StationConfig
from freev2g.evse.station import Station
from freev2g.link import (AuthorizationRequest, LinkUp, MatchingStarted, PaymentSelected, SessionEnded,
                          SessionSetup)
from freev2g.model.enums import ChargeMode, EVSEProcessing, PaymentOption, Protocol, StopCause
from freev2g.plugins import get_plugin_manager
from freev2g.registry import BoardContext

EVCC_ID = "000101637731"


class ScriptedLink:
    """The EV side of the link seam, driven by the test (the EvseLink protocol)."""

    def __init__(self, config, ctx):
        self.handler = None

    async def open(self, handler, offer) -> None:
        self.handler = handler

    async def start_matching(self) -> None:
        pass

    def notify(self, notification, max_delay_s: int = 0) -> None:
        pass

    async def abort(self, cause, detail: str = "") -> None:
        pass

    async def close(self) -> None:
        pass

    async def send(self, event):
        return await self.handler(event)


class _LinkPlugin:
    @hookimpl
    def freev2g_register_links(self, registry):
        registry.register("scripted", "evse", ScriptedLink, description="test peer")


async def start_station(tmp_path, ocpp_cfg, **evse) -> tuple[Station, object]:
    cfg = StationConfig(evse=EvseManagerConfig(**{"charge_mode": "DC", "disable_authentication": False,
                                                  "payment_enable_eim": True, **evse}),
                        link=LinkConfig(name="scripted"))
    cfg.evse.charge_mode = ChargeMode(cfg.evse.charge_mode)
    cfg.station.id = "CS-AUTH-1"
    cfg.uplinks = {"ocpp": ocpp_cfg}
    shared: dict = {}
    pm = get_plugin_manager(extra_plugins=[("scripted_link", _LinkPlugin())])
    station = Station(cfg, pm=pm, clock=Clock(speed=20.0), board_shared=shared, link_shared={},
                      journal_path=str(tmp_path / "journal.sqlite"))
    await station.start()
    ev = pm.registries().boards.get("ev_board", "sim").factory({}, BoardContext(clock=station.clock, shared=shared))
    return station, ev


async def ev_until_authorized(station, ev, option=PaymentOption.EXTERNAL_PAYMENT, emaid=None):
    """SLAC, SessionSetup, payment, then AuthorizationReq until the SECC says Finished."""
    link = station.link
    await link.send(MatchingStarted())
    await link.send(LinkUp(ev_mac="00:01:01:63:77:31"))
    await link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0011223344556677", evcc_id=EVCC_ID))
    await link.send(PaymentSelected(option=option, emaid=emaid, selected_service_ids=(1,)))
    for _ in range(200):  # bounded; the station's own timeout is 50 s (EvseTunables)
        answer = await link.send(AuthorizationRequest(option=option, emaid=emaid, evcc_id=EVCC_ID))
        if answer.processing is EVSEProcessing.FINISHED:
            return answer
        await station.clock.sleep(0.5)
    raise AssertionError("AuthorizationReq never finished")


def tx_events(csms, trigger):
    return [p for p in csms.calls("TransactionEvent") if p["triggerReason"] == trigger]


@pytest.mark.parametrize("version", ["2.0.1", "1.6"])
def test_presented_token_accepted_by_csms_starts_the_session(make_csms, uplink_config, tmp_path, version):
    async def main():
        csms = make_csms(version)
        await csms.start()
        station, ev = await start_station(tmp_path, uplink_config(csms.url, version=version))
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot + status")
            ev.plug_in()
            await station.clock.sleep(1.0)
            await station.present_id_token(1, "RFID-OK-1")
            answer = await ev_until_authorized(station, ev)
            snap = station.session(1)
            if version == "1.6":
                await csms.wait_for(lambda c: "StartTransaction" in c.actions(), "StartTransaction")
            else:
                await csms.wait_for(lambda c: tx_events(c, "Authorized"), "TransactionEvent Authorized")
        finally:
            await station.stop()
            await csms.stop()
        return csms, answer, snap

    csms, answer, snap = asyncio.run(main())
    assert answer.accepted
    assert snap.id_token == "RFID-OK-1"
    if version == "1.6":
        assert csms.calls("Authorize") == [{"idTag": "RFID-OK-1"}]
        assert csms.calls("StartTransaction")[0]["idTag"] == "RFID-OK-1"
    else:
        assert csms.calls("Authorize") == [{"idToken": {"idToken": "RFID-OK-1", "type": "ISO14443"}}]
        assert tx_events(csms, "Authorized")[0]["idToken"] == {"idToken": "RFID-OK-1", "type": "ISO14443"}


def test_token_rejected_by_csms_ends_the_hlc_session_power_never_on(make_csms, uplink_config, tmp_path):
    async def main():
        csms = make_csms("2.0.1")
        csms.tokens["RFID-BAD-9"] = "Blocked"
        await csms.start()
        station, ev = await start_station(tmp_path, uplink_config(csms.url))
        events = []
        station.subscribe(events.append)
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot + status")
            ev.plug_in()
            await station.clock.sleep(1.0)
            await station.present_id_token(1, "RFID-BAD-9")
            answer = await ev_until_authorized(station, ev)
            await station.link.send(SessionEnded(cause=StopCause.EV_STOP, detail="EV gives up"))
            ev.unplug()
            await station.clock.sleep(1.0)
            await csms.wait_for(lambda c: any(p["eventType"] == "Ended" for p in c.calls("TransactionEvent")),
                                "TransactionEvent Ended")
            summary = station.journal.session(events[0].session_id)
        finally:
            await station.stop()
            await csms.stop()
        return csms, answer, events, summary

    csms, answer, events, summary = asyncio.run(main())
    assert not answer.accepted
    assert summary.stop_cause == "authorization_rejected"
    assert [e.cause for e in events if e.kind == "SessionFinished"] == [StopCause.AUTHORIZATION_REJECTED]
    assert not any(e.kind == "PowerDelivery" for e in events)
    assert all(e.power_W == 0.0 for e in events if e.kind == "MeterSample")
    refused = [(e.accepted, e.id_token, e.reason) for e in events if e.kind == "Authorized"]
    assert refused == [(False, "RFID-BAD-9", "CSMS: Blocked")]
    deauth = tx_events(csms, "Deauthorized")
    assert [p["eventType"] for p in deauth] == ["Updated", "Ended"]
    assert deauth[0]["idToken"] == {"idToken": "RFID-BAD-9", "type": "ISO14443"}
    assert deauth[1]["transactionInfo"]["stoppedReason"] == "DeAuthorized"


@pytest.mark.parametrize("kind", ["pnc", "autocharge"])
def test_emaid_and_evccid_are_authorized_with_their_token_types(make_csms, uplink_config, tmp_path, kind):
    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        extra = {"payment_enable_contract": True} if kind == "pnc" else {"enable_autocharge": True}
        station, ev = await start_station(tmp_path, uplink_config(csms.url), **extra)
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot + status")
            ev.plug_in()
            await station.clock.sleep(1.0)
            if kind == "pnc":
                answer = await ev_until_authorized(station, ev, PaymentOption.CONTRACT, emaid="DE8AAA1234567X")
            else:
                answer = await ev_until_authorized(station, ev)
            await csms.wait_for(lambda c: tx_events(c, "Authorized"), "TransactionEvent Authorized")
        finally:
            await station.stop()
            await csms.stop()
        return csms, answer

    csms, answer = asyncio.run(main())
    assert answer.accepted
    expected = ({"idToken": "DE8AAA1234567X", "type": "eMAID"} if kind == "pnc"
                else {"idToken": EVCC_ID, "type": "MacAddress"})
    assert csms.calls("Authorize") == [{"idToken": expected}]
    assert tx_events(csms, "Authorized")[0]["idToken"] == expected


def test_no_csms_answer_applies_offline_authorization(make_csms, uplink_config, tmp_path):
    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        port = csms.port
        await csms.stop()  # unreachable
        cfg = uplink_config(f"ws://127.0.0.1:{port}/ocpp", authorize_timeout_s=5.0, reconnect_min_s=30.0,
                            reconnect_max_s=30.0)
        station, ev = await start_station(tmp_path, cfg)
        try:
            ev.plug_in()
            await station.clock.sleep(1.0)
            await station.present_id_token(1, "RFID-OFF")
            answer = await ev_until_authorized(station, ev)
        finally:
            await station.stop()
        return answer

    answer = asyncio.run(main())
    assert not answer.accepted  # offline_authorization = "reject" (OfflineTxForUnknownIdEnabled false)
