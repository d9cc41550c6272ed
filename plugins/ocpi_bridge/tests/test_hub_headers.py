"""Issue #13 item 6 (part): every push carries the OCPI 2.2.1 routing headers, so a Hub can
forward it: OCPI-from-* = our party, OCPI-to-* = the eMSP role from its credentials."""
from __future__ import annotations

from freev2g.clock import Clock
from ocpi_helpers import EmspPeer, HarnessStation, new_session_id, ocpi_config, register_emsp_with_cpo, run
from test_push import play_session

from freev2g_ocpi_bridge.uplink import OcpiBridge

ROUTING = ("OCPI-from-country-code", "OCPI-from-party-id", "OCPI-to-country-code", "OCPI-to-party-id")


class HeaderEmsp(EmspPeer):
    def __init__(self):
        super().__init__()
        self.routing: list[dict] = []

    async def _record(self, request):
        self.routing.append({h: request.headers.get(h) for h in ROUTING})
        return await super()._record(request)


def test_pushes_carry_from_and_to_party_headers(tmp_path):
    async def main():
        peer = HeaderEmsp()
        await peer.start()
        station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path, country_code="BE", party_id="ABC"), station)
        await bridge.start()
        try:
            await register_emsp_with_cpo(bridge, peer)  # roles: EMSP NL/EMS
            play_session(station, new_session_id(), samples=2)
            await peer.wait_for(lambda r: any(x["method"] == "POST" for x in r))
            expected = {"OCPI-from-country-code": "BE", "OCPI-from-party-id": "ABC",
                        "OCPI-to-country-code": "NL", "OCPI-to-party-id": "EMS"}
            assert peer.routing and all(h == expected for h in peer.routing), peer.routing
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())
