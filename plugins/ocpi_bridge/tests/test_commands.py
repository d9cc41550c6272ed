"""Issue #13 item 5 (Commands): START_SESSION, STOP_SESSION and UNLOCK_CONNECTOR from a real
aiohttp eMSP on 127.0.0.1 drive the station (StationApi calls recorded by the harness); the
CommandResponse comes at once, the CommandResult is POSTed to the eMSP's response_url."""
from __future__ import annotations

from types import SimpleNamespace

from freev2g.clock import Clock
from ocpi_helpers import EmspPeer, HarnessStation, cpo_call, ocpi_config, register_emsp_with_cpo, run

from freev2g_ocpi_bridge.uplink import OcpiBridge

TOKEN = {"uid": "04A2B3C4", "type": "RFID", "country_code": "NL", "party_id": "EMS", "contract_id": "NL-EMS-1",
         "issuer": "test", "valid": True, "whitelist": "ALLOWED", "last_updated": "2026-01-01T00:00:00Z"}


class CommandStation(HarnessStation):
    """HarnessStation that records the StationApi calls and answers as told."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls: list[tuple] = []
        self.answer = True
        self.running: str | None = None

    def session(self, evse_index: int):
        if self.running is None:
            return None
        return SimpleNamespace(session_id=self.running, evse_index=evse_index)

    async def remote_start(self, evse_index, id_token):
        self.calls.append(("remote_start", evse_index, id_token))
        return self.answer

    async def remote_stop(self, evse_index, cause=None):
        self.calls.append(("remote_stop", evse_index))
        return self.answer

    async def unlock_connector(self, evse_index):
        self.calls.append(("unlock_connector", evse_index))
        return self.answer


def test_commands_drive_the_station_and_results_reach_response_url(tmp_path):
    async def main():
        peer = EmspPeer()
        await peer.start()
        station = CommandStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path), station)
        await bridge.start()
        try:
            token = await register_emsp_with_cpo(bridge, peer)
            status, doc, _ = await cpo_call(bridge, "GET", "2.2.1", token)
            assert ("commands", "RECEIVER") in {(e["identifier"], e["role"]) for e in doc["data"]["endpoints"]}
            results = lambda n: (lambda r: len([x for x in r if "/results/" in x["path"]]) >= n)  # noqa: E731

            async def post(command, body):
                status, doc, _ = await cpo_call(bridge, "POST", f"2.2.1/commands/{command}", token, body)
                return status, doc

            start = {"response_url": f"{peer.base.replace('/emsp', '')}/emsp/results/start1", "token": TOKEN,
                     "location_id": "LOC1", "evse_uid": "DE*FV2*E0001*1"}
            status, doc = await post("START_SESSION", start)
            assert status == 200 and doc["status_code"] == 1000 and doc["data"]["result"] == "ACCEPTED"
            got = await peer.wait_for(results(1))
            assert station.calls == [("remote_start", 1, "04A2B3C4")]
            assert got[-1]["path"].endswith("/results/start1") and got[-1]["body"] == {"result": "ACCEPTED"}

            station.answer = False  # the station refuses: REJECTED result
            status, doc = await post("START_SESSION", {**start, "response_url": start["response_url"].replace("start1", "start2")})
            got = await peer.wait_for(results(2))
            assert got[-1]["path"].endswith("/results/start2") and got[-1]["body"] == {"result": "REJECTED"}
            station.answer = True

            # unknown EVSE: REJECTED at once, the station is not called
            status, doc = await post("START_SESSION", {**start, "evse_uid": "NOPE"})
            assert doc["data"]["result"] == "REJECTED" and len(station.calls) == 2
            # malformed: no token -> OCPI 2001 (HTTP 200, as the other modules answer), station not called
            bad = {k: v for k, v in start.items() if k != "token"}
            status, doc = await post("START_SESSION", bad)
            assert doc["status_code"] == 2001 and "token" in doc["status_message"] and len(station.calls) == 2

            stop = {"response_url": start["response_url"].replace("start1", "stop1"), "session_id": "S-1"}
            status, doc = await post("STOP_SESSION", stop)
            assert doc["data"]["result"] == "UNKNOWN_SESSION" and len(station.calls) == 2
            station.running = "S-1"
            status, doc = await post("STOP_SESSION", stop)
            assert doc["data"]["result"] == "ACCEPTED"
            got = await peer.wait_for(results(3))
            assert station.calls[-1] == ("remote_stop", 1) and got[-1]["path"].endswith("/results/stop1")

            unlock = {"response_url": start["response_url"].replace("start1", "unlock1"), "location_id": "LOC1",
                      "evse_uid": "DE*FV2*E0001*1", "connector_id": "1"}
            status, doc = await post("UNLOCK_CONNECTOR", unlock)
            got = await peer.wait_for(results(4))
            assert station.calls[-1] == ("unlock_connector", 1) and got[-1]["body"] == {"result": "ACCEPTED"}

            status, doc = await post("RESERVE_NOW", {"response_url": unlock["response_url"]})
            assert doc["data"]["result"] == "NOT_SUPPORTED"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())
