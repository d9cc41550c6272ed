"""Issue #13 item 4: the outbox classifies the eMSP's answers, against a real aiohttp eMSP on
127.0.0.1 that answers 404, 409, 500 and 503 where the test tells it to.

A permanent refusal (404 on a response_url or a CDR, 409) is recorded as failed with the
peer's answer, shown by `freev2g ocpi status`, and does not hold back later pushes; 500/503
are retried (with backoff) and then delivered in order; a PATCH for a session the eMSP lost
(404) re-creates it with a PUT of the full object, then the PATCH is delivered.
"""
from __future__ import annotations

import json

import pytest
from aiohttp import web
from click.testing import CliRunner
from freev2g.cli import make_cli
from freev2g.clock import Clock
from ocpi_helpers import EmspPeer, HarnessStation, new_session_id, ocpi_config, ok_envelope, register_emsp_with_cpo, run
from test_push import play_session

from freev2g_ocpi_bridge.uplink import OcpiBridge


class ScriptedEmsp(EmspPeer):
    """EmspPeer whose push endpoints answer scripted HTTP statuses; with `strict_sessions`
    a PATCH for a session it has no object of gets 404 / 2003-like 2001 'unknown session'."""

    def __init__(self):
        super().__init__()
        self.script: list[tuple[str, str, int]] = []  # (method, path fragment, status), used once each
        self.answers: list[tuple[str, str, int]] = []  # every push and what we answered
        self.known: dict[str, dict] = {}
        self.strict_sessions = False
        self.lose_next_put = False

    async def _record(self, request: web.Request) -> web.Response:
        if self._token(request) not in self._valid_tokens():
            return await super()._record(request)
        raw = await request.read()
        body = json.loads(raw) if raw else None
        for i, (method, fragment, status) in enumerate(self.script):
            if method == request.method and fragment in request.path:
                del self.script[i]
                self.answers.append((request.method, request.path, status))
                doc = {"status_code": 2001 if status < 500 else 3000, "status_message": f"scripted {status}",
                       "timestamp": "2026-01-01T00:00:00Z"}
                return web.json_response(doc, status=status)
        sid = request.path.rstrip("/").rsplit("/", 1)[-1] if "/sessions/" in request.path else None
        if sid and request.method == "PUT":
            if self.lose_next_put:
                self.lose_next_put = False  # answered OK, then lost (an eMSP restored from backup)
            else:
                self.known[sid] = dict(body)
        elif sid and request.method == "PATCH" and self.strict_sessions and sid not in self.known:
            self.answers.append((request.method, request.path, 404))
            return web.json_response({"status_code": 2001, "status_message": f"unknown session {sid}",
                                      "timestamp": "2026-01-01T00:00:00Z"}, status=404)
        elif sid and request.method == "PATCH":
            self.known.setdefault(sid, {}).update(body)
        self.answers.append((request.method, request.path, 200))
        async with self._changed:
            self.received.append({"method": request.method, "path": request.path, "body": body,
                                  "request_id": request.headers.get("X-Request-ID"), "token": self._token(request)})
            self._changed.notify_all()
        return web.json_response(ok_envelope())


async def _rig(tmp_path):
    peer = ScriptedEmsp()
    await peer.start()
    station = HarnessStation(tmp_path / "journal.sqlite", clock=Clock())
    bridge = OcpiBridge(ocpi_config(tmp_path, session_update_interval_s=0.0, retry_initial_s=0.2, retry_max_s=0.5), station)
    await bridge.start()
    await register_emsp_with_cpo(bridge, peer)
    return peer, station, bridge


def _status_output(tmp_path) -> str:
    toml = tmp_path / "station.toml"
    toml.write_text(f'[uplinks.ocpi]\nlisten_port = 0\noutbox_path = "{tmp_path / "ocpi.sqlite"}"\n')
    result = CliRunner().invoke(make_cli(), ["ocpi", "status", "--config", str(toml)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("status", [404, 409])
def test_a_permanent_refusal_is_recorded_failed_and_does_not_block_the_queue(tmp_path, status):
    async def main():
        peer, station, bridge = await _rig(tmp_path)
        try:
            first, second = new_session_id(), new_session_id()
            peer.script = [("POST", "/cdrs", status)]
            bridge.outbox.enqueue(bridge.store.peers()[0].id, "POST", f"{peer.base}/results/r-1", {"result": "ACCEPTED"})
            peer.script.append(("POST", "/results/r-1", 404))
            play_session(station, first, samples=2)
            play_session(station, second, samples=2)
            got = await peer.wait_for(lambda r: sum(1 for x in r if x["method"] == "POST" and x["path"].endswith("/cdrs")) == 1
                                      and any(second in x["path"] and x["method"] == "PATCH" and x["body"].get("status") == "COMPLETED" for x in r))
            cdrs = [x["body"]["id"] for x in got if x["path"].endswith("/cdrs")]
            assert cdrs == [second], "the second session's CDR is delivered although the first was refused"
            failed = bridge.outbox.failed()
            assert [(f["method"], f["target"].split("/")[-1] or f["module"]) for f in failed] == [("POST", "r-1"), ("POST", "cdrs")]
            cdr_failed = failed[1]
            assert f"HTTP {status}" in cdr_failed["last_error"] and f"scripted {status}" in cdr_failed["last_error"]
            assert json.loads(cdr_failed["body"])["id"] == first, "the refused CDR is kept whole"
            assert bridge.store.get_record("cdrs", first) is not None
            assert bridge.outbox.pending() == []
            out = _status_output(tmp_path)
            assert "failed 2" in out and f"HTTP {status}" in out and first in out
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_and_delivered_in_order(tmp_path, status):
    async def main():
        peer, station, bridge = await _rig(tmp_path)
        try:
            first, second = new_session_id(), new_session_id()
            peer.script = [("POST", "/cdrs", status), ("POST", "/cdrs", status)]
            play_session(station, first, samples=2)
            play_session(station, second, samples=2)
            got = await peer.wait_for(lambda r: sum(1 for x in r if x["path"].endswith("/cdrs")) == 2)
            order = [(x["method"], x["body"].get("id") or x["body"].get("session_id")) for x in got
                     if x["path"].endswith("/cdrs") or second in x["path"]]
            assert order[0] == ("POST", first), "the retried CDR stays ahead of everything queued after it"
            assert [o for o in order if o[0] == "POST"] == [("POST", first), ("POST", second)]
            assert [a[2] for a in peer.answers if a[1].endswith("/cdrs")] == [status, status, 200, 200]
            assert bridge.outbox.failed() == [] and bridge.outbox.pending() == []
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())


def test_a_session_the_emsp_lost_is_recreated_with_put_before_the_patch(tmp_path):
    async def main():
        peer, station, bridge = await _rig(tmp_path)
        try:
            peer.strict_sessions = True
            peer.lose_next_put = True
            sid = new_session_id()
            play_session(station, sid, samples=3)
            await peer.wait_for(lambda r: any(x["path"].endswith("/cdrs") for x in r))
            pushes = [a for a in peer.answers if sid in a[1]]
            assert pushes[0][0] == "PUT" and pushes[1] == ("PATCH", pushes[1][1], 404)
            assert pushes[2][0] == "PUT" and pushes[2][2] == 200, pushes
            assert [a[2] for a in pushes[3:]] == [200] * (len(pushes) - 3)
            assert peer.known[sid]["status"] == "COMPLETED" and peer.known[sid]["kwh"] == 0.5
            assert bridge.outbox.recreated == 1 and bridge.outbox.failed() == [] and bridge.outbox.pending() == []
            patches = [x["body"]["kwh"] for x in peer.received if x["method"] == "PATCH" and "kwh" in x["body"]]
            assert patches == sorted(patches)
        finally:
            await bridge.stop()
            await peer.stop()

    run(main())
