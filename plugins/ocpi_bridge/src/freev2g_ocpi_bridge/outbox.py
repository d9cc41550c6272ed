"""Persistent, ordered push queue to registered peers (Session PUT/PATCH, CDR POST, async results).

Every push is written to sqlite before anything is sent, so nothing is lost while a peer is down
or across a restart. Per peer, only the oldest pending item is tried, so pushes arrive in order.
Answers are classified (issue #13 item 4): what can still succeed (network errors and timeouts,
HTTP 5xx, 408/425/429, OCPI 3xxx, a 2xx that is not an envelope) is retried with exponential
backoff on the station clock; an item counts as delivered only on HTTP 2xx with OCPI 1xxx; a
permanent refusal (any other 4xx, OCPI 2xxx) is recorded as 'failed' with the peer's answer and
the queue moves on, so it never blocks later pushes. One exception: a Session PATCH answered
404 (the peer does not know the session) first re-creates the session with a PUT of the full
stored object, then the PATCH is retried. The record itself stays in the store and on our GET
endpoints either way. Each item keeps one X-Request-ID across retries, so a peer can
de-duplicate when only our reading of its answer was lost.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from .client import OcpiClient, PeerError, hub_headers
from .store import Store, stamp

log = logging.getLogger(__name__)

RETRY_HTTP = frozenset({408, 425, 429})  # request timeout, too early, too many requests
FAILED = "failed"


class Outbox:
    def __init__(self, store: Store, client: OcpiClient, clock, *, retry_initial_s: float = 1.0, retry_max_s: float = 300.0,
                 party: tuple[str, str] = ("DE", "FV2")):
        self.party = party  # our (country_code, party_id), sent as OCPI-from-* headers
        self.store = store
        self.client = client
        self.clock = clock
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._next_try: dict[int, float] = {}
        self.delivered = 0
        self.rejected = 0  # items recorded as failed
        self.recreated = 0  # sessions re-created with PUT after a 404 on PATCH
        self.attempts = 0
        self._progress = asyncio.Condition()

    # --- producer side ------------------------------------------------------------------
    def enqueue(self, peer_id: int, method: str, target: str, body: Any = None, *, module: str | None = None) -> int:
        """Queue one request. `module` set: `target` is appended to the peer's RECEIVER URL of
        that module at delivery time; else `target` is an absolute URL (e.g. a response_url)."""
        with self.store.tx() as c:
            cur = c.execute(
                "INSERT INTO outbox (peer_id, method, module, target, body, request_id, created)"
                " VALUES (?,?,?,?,?,?,?)",
                (peer_id, method, module, target, None if body is None else json.dumps(body), str(uuid.uuid4()), stamp()),
            )
        self.kick()
        return int(cur.lastrowid)

    def kick(self) -> None:
        """Wake the worker for a new item (peers in backoff keep waiting)."""
        self._wake.set()

    def retry_now(self) -> None:
        """Forget every backoff and try at once (e.g. a peer re-registered)."""
        self._next_try.clear()
        self._wake.set()

    async def wait_until(self, predicate, timeout_s: float | None = None) -> None:
        """Wait until predicate(outbox) holds; re-checked after every delivery attempt."""
        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(lambda: predicate(self)), timeout_s)

    def pending(self, peer_id: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM outbox WHERE state='pending'"
        args: tuple = ()
        if peer_id is not None:
            sql += " AND peer_id=?"
            args = (peer_id,)
        return [dict(r) for r in self.store.conn.execute(sql + " ORDER BY seq", args)]

    def items(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store.conn.execute("SELECT * FROM outbox ORDER BY seq")]

    # --- worker ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._wake.set()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ocpi-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock.monotonic()
            waits: list[float] = []
            progressed = False
            peers = [r[0] for r in self.store.conn.execute("SELECT DISTINCT peer_id FROM outbox WHERE state='pending'")]
            for peer_id in peers:
                due = self._next_try.get(peer_id, 0.0)
                if due > now:
                    waits.append(due - now)
                    continue
                row = self.store.conn.execute(
                    "SELECT * FROM outbox WHERE state='pending' AND peer_id=? ORDER BY seq LIMIT 1", (peer_id,)
                ).fetchone()
                if row is not None:
                    await self._deliver(dict(row))
                    progressed = True
                    self.attempts += 1
                    async with self._progress:
                        self._progress.notify_all()
            if progressed:
                continue
            try:
                await self.clock.wait_for(self._wake.wait(), min(waits) if waits else None)
            except TimeoutError:
                pass

    def _resolve(self, item: dict[str, Any]) -> tuple[str | None, str | None, str]:
        """(url, token, reason-if-unusable)."""
        peer = self.store.peer(item["peer_id"])
        if peer is None or peer.status != "registered" or not peer.outgoing_token:
            return None, None, "peer is not registered (any more)"
        if item["module"] is None:
            return item["target"], peer.outgoing_token, ""
        base = peer.endpoint(item["module"], "RECEIVER")
        if base is None:
            return None, None, f"peer offers no {item['module']} RECEIVER endpoint"
        url = base.rstrip("/") + ("/" + item["target"].lstrip("/") if item["target"] else "")
        return url, peer.outgoing_token, ""

    async def _deliver(self, item: dict[str, Any]) -> None:
        url, token, reason = self._resolve(item)
        if url is None:
            self._finish(item, FAILED, reason)
            return
        body = None if item["body"] is None else json.loads(item["body"])
        try:
            reply = await self.client.request(item["method"], url, token, body, request_id=item["request_id"],
                                              routing=self._routing(item))
        except PeerError as exc:
            self._retry(item, str(exc))
            return
        verdict = classify(reply)
        if verdict == "delivered":
            self._finish(item, "delivered", None)
        elif verdict == "retry":
            self._retry(item, f"{item['method']} {url}: {_answer(reply)}")
        elif reply.http_status == 404 and item["method"] == "PATCH" and item["module"] == "sessions":
            await self._recreate_session(item, url, token, reply)
        else:
            self._finish(item, FAILED, f"{item['method']} {url}: {_answer(reply)}")

    async def _recreate_session(self, item: dict[str, Any], url: str, token: str, reply) -> None:
        """The peer lost the session: PUT the full stored object, then retry the PATCH."""
        session_id = item["target"].rstrip("/").rsplit("/", 1)[-1]
        doc = self.store.get_record("sessions", session_id)
        if doc is None:
            self._finish(item, FAILED, f"PATCH {url}: {_answer(reply)}; no stored session {session_id} to re-create")
            return
        try:
            put = await self.client.request("PUT", url, token, doc, request_id=str(uuid.uuid4()), routing=self._routing(item))
        except PeerError as exc:
            self._retry(item, f"PATCH {url}: {_answer(reply)}; re-creating PUT failed: {exc}")
            return
        verdict = classify(put)
        if verdict == "delivered":
            log.info("ocpi outbox #%s: peer did not know session %s; re-created with PUT", item["seq"], session_id)
            self.recreated += 1
            with self.store.tx() as c:  # retry the PATCH at once (no backoff): the peer has it now
                c.execute("UPDATE outbox SET attempts=attempts+1, last_error=? WHERE seq=?",
                          (f"PATCH {url}: {_answer(reply)}; session re-created with PUT", item["seq"]))
        elif verdict == "retry":
            self._retry(item, f"PATCH {url}: {_answer(reply)}; re-creating PUT: {_answer(put)}")
        else:
            self._finish(item, FAILED, f"PATCH {url}: {_answer(reply)}; re-creating PUT refused: {_answer(put)}")

    def _routing(self, item: dict[str, Any]) -> dict[str, str]:
        return hub_headers(*self.party, self.store.peer(item["peer_id"]))

    def _retry(self, item: dict[str, Any], error: str) -> None:
        attempts = item["attempts"] + 1
        delay = min(self.retry_max_s, self.retry_initial_s * 2 ** min(attempts - 1, 30))
        self._next_try[item["peer_id"]] = self.clock.monotonic() + delay
        with self.store.tx() as c:
            c.execute("UPDATE outbox SET attempts=?, last_error=? WHERE seq=?", (attempts, error, item["seq"]))
        log.info("ocpi outbox #%s: attempt %s failed (%s); retry in %.1f s", item["seq"], attempts, error, delay)

    def _finish(self, item: dict[str, Any], state: str, error: str | None) -> None:
        with self.store.tx() as c:
            c.execute(
                "UPDATE outbox SET state=?, attempts=attempts+1, last_error=?, done=? WHERE seq=?",
                (state, error, stamp(), item["seq"]),
            )
        self._next_try.pop(item["peer_id"], None)
        if state == "delivered":
            self.delivered += 1
        else:
            self.rejected += 1
            log.warning("ocpi outbox #%s failed (not retried): %s", item["seq"], error)

    def failed(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.store.conn.execute("SELECT * FROM outbox WHERE state=? ORDER BY seq", (FAILED,))]


def classify(reply) -> str:
    """'delivered', 'retry' (can still succeed) or 'failed' (a permanent refusal)."""
    code = reply.status_code
    if reply.ok:
        return "delivered"
    if reply.http_status >= 500 or reply.http_status in RETRY_HTTP or (code is not None and code >= 3000):
        return "retry"
    if 200 <= reply.http_status < 300 and code is None:
        return "retry"  # not an envelope: a proxy or a peer mid-restart
    return "failed"


def _answer(reply) -> str:
    """The peer's answer as kept with the item: status, OCPI code and message, and the body."""
    body = json.dumps(reply.body, sort_keys=True) if reply.body is not None else (getattr(reply, "text", "") or "")
    text = reply.describe() if reply.body is not None or reply.http_status >= 300 else f"HTTP {reply.http_status}"
    if reply.body is None and reply.http_status >= 200 and reply.http_status < 300:
        text = f"HTTP {reply.http_status}: answer is not an OCPI envelope"
    return f"{text}; body: {body[:1000]}" if body else text
