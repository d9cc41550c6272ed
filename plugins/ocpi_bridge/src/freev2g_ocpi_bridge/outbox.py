"""Persistent, ordered push queue to registered peers (Session PUT/PATCH, CDR POST, async results).

Every push is written to sqlite before anything is sent, so nothing is lost while a peer is down
or across a restart. Per peer, only the oldest pending item is tried, so pushes arrive in order;
a failed attempt (refused, timeout, HTTP 5xx/401/404/408/429, OCPI 3xxx) is retried with
exponential backoff on the station clock. An item counts as delivered only on HTTP 2xx with OCPI
1xxx. A definite refusal (other 4xx, OCPI 2xxx) is set aside as 'rejected' with its reason: the
record itself stays in the store and on our GET endpoints, where the peer can still fetch it.
Each item keeps one X-Request-ID across retries, so a peer can de-duplicate when only our reading
of its answer was lost (delivery is otherwise exactly once, in order).
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from .client import OcpiClient, PeerError
from .store import Store, stamp

log = logging.getLogger(__name__)

RETRY_HTTP = frozenset({401, 404, 408, 425, 429})


class Outbox:
    def __init__(self, store: Store, client: OcpiClient, clock, *, retry_initial_s: float = 1.0, retry_max_s: float = 300.0):
        self.store = store
        self.client = client
        self.clock = clock
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._next_try: dict[int, float] = {}
        self.delivered = 0
        self.rejected = 0
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
            self._finish(item, "rejected", reason)
            return
        body = None if item["body"] is None else json.loads(item["body"])
        try:
            reply = await self.client.request(item["method"], url, token, body, request_id=item["request_id"])
        except PeerError as exc:
            self._retry(item, str(exc))
            return
        code = reply.status_code
        if reply.ok:
            self._finish(item, "delivered", None)
        elif reply.http_status >= 500 or reply.http_status in RETRY_HTTP or (code is not None and code >= 3000):
            self._retry(item, f"{item['method']} {url}: {reply.describe()}")
        elif 200 <= reply.http_status < 300 and code is None:
            self._retry(item, f"{item['method']} {url}: answer is not an OCPI envelope")
        else:
            self._finish(item, "rejected", f"{item['method']} {url}: {reply.describe()}")

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
            log.warning("ocpi outbox #%s rejected: %s", item["seq"], error)
