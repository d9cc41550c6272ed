"""Issue #13 item 5 (Tokens): the eMSP pushes tokens to the CPO, and the station's
AuthorizationRequested is decided by the stored token's whitelist and the eMSP's real-time
tokens/{uid}/authorize, against a real aiohttp eMSP on 127.0.0.1."""
from __future__ import annotations

import asyncio

from aiohttp import web
from freev2g.clock import Clock
from freev2g.model.events import AuthorizationRequested
from ocpi_helpers import EmspPeer, HarnessStation, cpo_call, ocpi_config, ok_envelope, register_emsp_with_cpo, run

from freev2g_ocpi_bridge.uplink import OcpiBridge


def token(uid, **kw):
    doc = {"country_code": "NL", "party_id": "EMS", "uid": uid, "type": "RFID", "contract_id": f"NL-EMS-{uid}",
           "issuer": "test eMSP", "valid": True, "whitelist": "ALLOWED", "last_updated": "2026-01-01T00:00:00Z"}
    doc.update(kw)
    return doc


class TokensEmsp(EmspPeer):
    """EmspPeer with a tokens SENDER whose authorize answers from `verdicts` (uid -> allowed)."""

    def __init__(self):
        super().__init__()
        self.verdicts: dict[str, str] = {}
        self.asked: list[str] = []

    async def _details(self, request):
        if self._token(request) not in self._valid_tokens():
            return web.json_response({"status_code": 2000, "timestamp": "2020-01-01T00:00:00Z"}, status=401)
        eps = [
            {"identifier": "credentials", "role": "SENDER", "url": f"{self.base}/2.2.1/credentials"},
            {"identifier": "sessions", "role": "RECEIVER", "url": f"{self.base}/2.2.1/sessions"},
            {"identifier": "tokens", "role": "SENDER", "url": f"{self.base}/2.2.1/tokens"},
        ]
        return web.json_response(ok_envelope({"version": "2.2.1", "endpoints": eps}))

    async def _authorize(self, request):
        uid = request.match_info["uid"]
        self.asked.append(uid)
        if uid not in self.verdicts:
            return web.json_response({"status_code": 2004, "timestamp": "2026-01-01T00:00:00Z"}, status=404)
        return web.json_response(ok_envelope({"allowed": self.verdicts[uid], "token": token(uid)}))

    async def start(self):
        app = web.Application()
        app.router.add_get("/emsp/versions", self._versions)
        app.router.add_get("/emsp/2.2.1", self._details)
        app.router.add_route("*", "/emsp/2.2.1/sessions/{tail:.*}", self._record)
        app.router.add_post("/emsp/2.2.1/tokens/{uid}/authorize", self._authorize)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()


class AuthStation(HarnessStation):
    """Records the verdicts the uplink passes to the station."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.verdicts: list[tuple[str, str]] = []
        self._cond = asyncio.Condition()

    async def remote_start(self, evse_index, id_token):
        async with self._cond:
            self.verdicts.append(("start", id_token))
            self._cond.notify_all()
        return True

    async def reject_authorization(self, evse_index, reason=""):
        async with self._cond:
            self.verdicts.append(("reject", reason))
            self._cond.notify_all()
        return True

    async def ask(self, uid):
        n = len(self.verdicts)
        self.emit(AuthorizationRequested(session_id="s-" + uid, id_token=uid))
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: len(self.verdicts) > n), 10)
        return self.verdicts[-1][0]


def test_pushed_tokens_and_realtime_authorization(tmp_path):
    async def main():
        peer = TokensEmsp()
        await peer.start()
        station = AuthStation(tmp_path / "journal.sqlite", clock=Clock())
        bridge = OcpiBridge(ocpi_config(tmp_path), station)
        await bridge.start()
        try:
            # before any eMSP registered: an unknown token is not ours to refuse
            assert (await bridge.authorizer.verdict("U-EARLY"))[0] is None
            cpo = await register_emsp_with_cpo(bridge, peer)
            status, doc, _ = await cpo_call(bridge, "GET", "2.2.1", cpo)
            assert ("tokens", "RECEIVER") in {(e["identifier"], e["role"]) for e in doc["data"]["endpoints"]}

            async def put(doc):
                return await cpo_call(bridge, "PUT", f"2.2.1/tokens/NL/EMS/{doc['uid']}", cpo, doc)

            for doc in (token("T-ALWAYS", whitelist="ALWAYS"), token("T-INVALID", valid=False, whitelist="ALWAYS"),
                        token("T-ALLOWED"), token("T-OFFLINE", whitelist="ALLOWED_OFFLINE")):
                status, env, _ = await put(doc)
                assert status == 200 and env["status_code"] == 1000, env
            status, env, _ = await cpo_call(bridge, "PUT", "2.2.1/tokens/NL/EMS/X", cpo, token("Y"))  # body != URL
            assert env["status_code"] == 2001
            status, env, _ = await cpo_call(bridge, "GET", "2.2.1/tokens/NL/EMS/T-ALLOWED", cpo)
            assert env["data"]["contract_id"] == "NL-EMS-T-ALLOWED"
            status, env, _ = await cpo_call(bridge, "PATCH", "2.2.1/tokens/NL/EMS/NOPE", cpo,
                                            {"valid": False, "last_updated": "2026-01-02T00:00:00Z"})
            assert status == 404 and env["status_code"] == 2004

            assert await station.ask("T-ALWAYS") == "start" and peer.asked == []  # local whitelist
            assert await station.ask("T-INVALID") == "reject" and peer.asked == []
            peer.verdicts.update({"T-ALLOWED": "ALLOWED", "U-NEW": "ALLOWED", "U-BLOCKED": "BLOCKED"})
            assert await station.ask("T-ALLOWED") == "start"
            assert await station.ask("U-NEW") == "start"  # unknown to us, the eMSP allows it
            assert await station.ask("U-BLOCKED") == "reject"
            assert await station.ask("U-NOBODY") == "reject"  # eMSP: 404 / 2004
            assert peer.asked == ["T-ALLOWED", "U-NEW", "U-BLOCKED", "U-NOBODY"]
            # a PATCH that withdraws a token is obeyed without asking
            status, env, _ = await cpo_call(bridge, "PATCH", "2.2.1/tokens/NL/EMS/T-ALWAYS", cpo,
                                            {"valid": False, "last_updated": "2026-01-02T00:00:00Z"})
            assert env["status_code"] == 1000
            assert await station.ask("T-ALWAYS") == "reject"
            # eMSP down: only ALLOWED_OFFLINE passes
            await peer.stop()
            assert await station.ask("T-OFFLINE") == "start"
            assert await station.ask("T-ALLOWED") == "reject"
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())
