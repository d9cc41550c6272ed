"""Issue #13 item 5 (Locations, Tariffs): the station as an OCPI Location with live EVSE status
pushed to a real aiohttp eMSP on 127.0.0.1, GETs with pagination headers, configured tariffs
referenced by the connector and used for the CDR's total_cost."""
from __future__ import annotations

from aiohttp import web
from freev2g.clock import Clock
from freev2g.model.events import Unplugged
from ocpi_helpers import EmspPeer, HarnessStation, cpo_call, new_session_id, ocpi_config, ok_envelope, register_emsp_with_cpo, run
from test_push import play_session

from freev2g_ocpi_bridge.config import TariffConfig
from freev2g_ocpi_bridge.uplink import OcpiBridge

TARIFFS = (
    {"id": "AC-STD", "energy_price_per_kWh": 0.40, "time_price_per_hour": 1.20, "flat_price": 0.50, "vat_pct": 19.0},
    {"id": "SPARE-1", "energy_price_per_kWh": 0.30, "evses": [7]},
    {"id": "SPARE-2", "energy_price_per_kWh": 0.20, "evses": [8]},
)


class LocationsEmsp(EmspPeer):
    """EmspPeer that also offers a locations RECEIVER."""

    async def _details(self, request: web.Request) -> web.Response:
        if self._token(request) not in self._valid_tokens():
            return web.json_response({"status_code": 2000, "timestamp": "2020-01-01T00:00:00Z"}, status=401)
        eps = [
            {"identifier": "credentials", "role": "SENDER", "url": f"{self.base}/2.2.1/credentials"},
            {"identifier": "sessions", "role": "RECEIVER", "url": f"{self.base}/2.2.1/sessions"},
            {"identifier": "cdrs", "role": "RECEIVER", "url": f"{self.base}/2.2.1/cdrs"},
            {"identifier": "locations", "role": "RECEIVER", "url": f"{self.base}/2.2.1/locations"},
        ]
        return web.json_response(ok_envelope({"version": "2.2.1", "endpoints": eps}))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/emsp/versions", self._versions)
        app.router.add_get("/emsp/2.2.1", self._details)
        app.router.add_route("*", "/emsp/2.2.1/sessions/{tail:.*}", self._record)
        app.router.add_post("/emsp/2.2.1/cdrs", self._record)
        app.router.add_route("*", "/emsp/2.2.1/locations/{tail:.*}", self._record)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()


def test_location_served_and_evse_status_pushed_live(tmp_path):
    async def main():
        peer = LocationsEmsp()
        await peer.start()
        station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path, tariffs=TARIFFS, location_id="LOC7"), station)
        await bridge.start()
        try:
            token = await register_emsp_with_cpo(bridge, peer)
            # the version details advertise the two Sender modules
            status, doc, _ = await cpo_call(bridge, "GET", "2.2.1", token)
            modules = {(e["identifier"], e["role"]) for e in doc["data"]["endpoints"]}
            assert {("locations", "SENDER"), ("tariffs", "SENDER")} <= modules
            # the whole Location is PUT to the new peer
            got = await peer.wait_for(lambda r: any(x["method"] == "PUT" and "/locations/" in x["path"] for x in r))
            put = next(x for x in got if x["method"] == "PUT" and "/locations/" in x["path"])
            assert put["path"].endswith("/locations/DE/FV2/LOC7")
            evse = put["body"]["evses"][0]
            assert evse["uid"] == "DE*FV2*E0001*1" and evse["status"] == "AVAILABLE"
            conn = evse["connectors"][0]
            assert conn["power_type"] == "AC_3_PHASE" and conn["max_amperage"] == 16 and conn["max_voltage"] == 230
            assert conn["tariff_ids"] == ["AC-STD"]  # SPARE-* are for other EVSEs
            # GET list with pagination headers, one Location / EVSE / Connector, unknown -> 2003
            status, doc, headers = await cpo_call(bridge, "GET", "2.2.1/locations", token)
            assert status == 200 and [x["id"] for x in doc["data"]] == ["LOC7"]
            assert headers["X-Total-Count"] == "1" and "Link" not in headers
            status, doc, _ = await cpo_call(bridge, "GET", "2.2.1/locations/LOC7/DE*FV2*E0001*1/1", token)
            assert status == 200 and doc["data"]["id"] == "1"
            status, doc, _ = await cpo_call(bridge, "GET", "2.2.1/locations/LOC7/NOPE", token)
            assert status == 404 and doc["status_code"] == 2003
            # live status: plug-in -> CHARGING, unplug -> AVAILABLE, each PATCHed in order
            sid = new_session_id()
            play_session(station, sid, samples=2)
            station.emit(Unplugged(session_id=sid, timestamp=station.clock.now()))
            got = await peer.wait_for(lambda r: sum(x["method"] == "PATCH" and "/locations/" in x["path"] for x in r) >= 2)
            patches = [x for x in got if x["method"] == "PATCH" and "/locations/" in x["path"]]
            assert [p["body"]["status"] for p in patches] == ["CHARGING", "AVAILABLE"]
            assert patches[0]["path"].endswith("/locations/DE/FV2/LOC7/DE*FV2*E0001*1")
            status, doc, _ = await cpo_call(bridge, "GET", "2.2.1/locations/LOC7/DE*FV2*E0001*1", token)
            assert doc["data"]["status"] == "AVAILABLE"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_tariffs_paginated_and_cdr_priced(tmp_path):
    async def main():
        peer = EmspPeer()
        await peer.start()
        station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path, tariffs=TARIFFS), station)
        await bridge.start()
        try:
            token = await register_emsp_with_cpo(bridge, peer)
            status, doc, headers = await cpo_call(bridge, "GET", "2.2.1/tariffs", token, params={"limit": "2"})
            assert status == 200 and len(doc["data"]) == 2
            assert headers["X-Total-Count"] == "3" and headers["X-Limit"] == "2"
            assert 'rel="next"' in headers["Link"] and "offset=2" in headers["Link"]
            status, doc2, headers = await cpo_call(bridge, "GET", "2.2.1/tariffs", token, params={"offset": "2", "limit": "2"})
            assert len(doc2["data"]) == 1 and "Link" not in headers
            ids = {t["id"] for t in doc["data"] + doc2["data"]}
            assert ids == {"AC-STD", "SPARE-1", "SPARE-2"}
            # a session of 750 Wh over 320 s (play_session): priced with AC-STD
            sid = new_session_id()
            energy_Wh = play_session(station, sid, samples=4)
            got = await peer.wait_for(lambda r: any(x["method"] == "POST" for x in r))
            cdr = next(x for x in got if x["method"] == "POST")["body"]
            seconds = 20 + 60 * 4
            excl = 0.40 * energy_Wh / 1000 + 1.20 * seconds / 3600 + 0.50
            assert abs(cdr["total_cost"]["excl_vat"] - round(excl, 4)) < 1e-4
            assert abs(cdr["total_cost"]["incl_vat"] - round(excl * 1.19, 4)) < 1e-4
            assert cdr["total_energy_cost"]["excl_vat"] == round(0.40 * energy_Wh / 1000, 4)
            assert cdr["tariffs"][0]["id"] == "AC-STD"
            assert cdr["charging_periods"][0]["tariff_id"] == "AC-STD"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_tariff_config_errors_name_the_field():
    import pytest

    with pytest.raises(ValueError, match="vat_pct"):
        TariffConfig(id="X", vat_pct=150)
    with pytest.raises(ValueError, match="used twice"):
        ocpi_config_no_path(tariffs=({"id": "A"}, {"id": "A"}))


def ocpi_config_no_path(**kw):
    from freev2g_ocpi_bridge.config import OcpiConfig

    return OcpiConfig(**kw)


def test_tariffs_from_a_station_config_and_errors_name_where():
    import pytest
    from freev2g.config import ConfigError, parse_station_config

    from freev2g_ocpi_bridge.config import OcpiConfig

    def parse(tables):
        data = {"uplinks": {"ocpi": {"tariffs": tables}}}
        return parse_station_config(data, source="s.toml", uplink_types={"ocpi": OcpiConfig}).uplinks["ocpi"]

    cfg = parse([{"id": "A", "energy_price_per_kWh": 0.3, "evses": [1]}])
    assert cfg.tariffs == (TariffConfig(id="A", energy_price_per_kWh=0.3, evses=(1,)),)
    with pytest.raises(ConfigError, match=r"uplinks\.ocpi\.tariffs\[0\]\.vat_pct must be within"):
        parse([{"id": "A", "vat_pct": 150}])


def test_restart_with_same_tariffs_keeps_last_updated_and_a_change_updates_it(tmp_path):
    async def once(tariffs, clock):
        station = HarnessStation(tmp_path / "journal.sqlite", clock=clock)
        bridge = OcpiBridge(ocpi_config(tmp_path, tariffs=tariffs), station)
        await bridge.start()
        try:
            return bridge.store.get_record("tariffs", "AC-STD")["last_updated"], bridge.store.get_record("locations", "LOC1")["last_updated"]
        finally:
            await bridge.stop()

    async def main():
        clock = Clock()
        first = await once(TARIFFS, clock)
        second = await once(TARIFFS, clock)
        assert second == first
        changed = ({**TARIFFS[0], "energy_price_per_kWh": 0.45},) + TARIFFS[1:]
        third = await once(changed, Clock())
        assert third[0] != first[0]

    run(main())
