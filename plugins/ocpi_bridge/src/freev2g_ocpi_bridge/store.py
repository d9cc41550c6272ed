"""The bridge's sqlite file: registered peers, the CPO's records and (outbox.py) the push queue.

One file, WAL mode, every write in a transaction, so a crash never leaves half a record and a
`freev2g ocpi register` run can share the file with a running `freev2g ocpi serve`. Records are
stored as the OCPI JSON they are served as, keyed by id, with `last_updated` for the date
filters of the paginated GET (transport_and_format, pagination).
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from attrs import frozen

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS peers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incoming_token TEXT NOT NULL UNIQUE,   -- the token the peer uses to call us
    outgoing_token TEXT,                   -- the token we use to call the peer
    versions_url TEXT NOT NULL,
    version TEXT,
    endpoints TEXT NOT NULL DEFAULT '[]',
    roles TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL,                  -- 'registering' | 'registered'
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    module TEXT NOT NULL,                  -- sessions, cdrs, preferences, profiles, locations, tariffs, tokens, reservations
    id TEXT NOT NULL,
    last_updated TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (module, id)
);
CREATE INDEX IF NOT EXISTS records_by_time ON records (module, last_updated, id);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    peer_id INTEGER NOT NULL,
    method TEXT NOT NULL,
    module TEXT,                           -- resolved against the peer's endpoints at delivery
    target TEXT NOT NULL,                  -- suffix after the module URL, or an absolute URL
    body TEXT,
    request_id TEXT NOT NULL,              -- reused on every retry so the peer can de-duplicate
    created TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending', -- 'pending' | 'delivered' | 'failed'
    last_error TEXT,
    done TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (state, peer_id, seq);
"""


def stamp(dt: datetime | None = None) -> str:
    """Sortable UTC text form used for last_updated columns."""
    dt = (dt or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _without_stamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_stamps(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [_without_stamps(v) for v in value]
    return value


@frozen(kw_only=True)
class Peer:
    id: int
    incoming_token: str
    outgoing_token: str | None
    versions_url: str
    version: str | None
    endpoints: tuple[dict[str, str], ...]
    roles: tuple[dict[str, Any], ...]
    status: str

    def endpoint(self, module: str, role: str = "RECEIVER") -> str | None:
        for ep in self.endpoints:
            if ep.get("identifier") == module and ep.get("role") == role:
                return ep.get("url")
        return None


class Store:
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- key/value ------------------------------------------------------------------------
    def get_kv(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    def set_kv(self, key: str, value: str) -> None:
        with self.tx() as c:
            c.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, value))

    # --- peers ----------------------------------------------------------------------------
    @staticmethod
    def _peer(row: sqlite3.Row | None) -> Peer | None:
        if row is None:
            return None
        return Peer(
            id=row["id"],
            incoming_token=row["incoming_token"],
            outgoing_token=row["outgoing_token"],
            versions_url=row["versions_url"],
            version=row["version"],
            endpoints=tuple(json.loads(row["endpoints"])),
            roles=tuple(json.loads(row["roles"])),
            status=row["status"],
        )

    def peer_by_token(self, token: str) -> Peer | None:
        return self._peer(self.conn.execute("SELECT * FROM peers WHERE incoming_token=?", (token,)).fetchone())

    def peer(self, peer_id: int) -> Peer | None:
        return self._peer(self.conn.execute("SELECT * FROM peers WHERE id=?", (peer_id,)).fetchone())

    def peers(self, status: str | None = "registered") -> list[Peer]:
        if status is None:
            rows = self.conn.execute("SELECT * FROM peers ORDER BY id").fetchall()
        else:
            rows = self.conn.execute("SELECT * FROM peers WHERE status=? ORDER BY id", (status,)).fetchall()
        return [p for p in map(self._peer, rows) if p is not None]

    def save_peer(
        self,
        *,
        incoming_token: str,
        outgoing_token: str | None,
        versions_url: str,
        version: str | None,
        endpoints: list[dict[str, str]],
        roles: list[dict[str, Any]],
        status: str,
        peer_id: int | None = None,
    ) -> Peer:
        """Insert a peer, or (peer_id given) replace its registration in one transaction."""
        values = (
            incoming_token,
            outgoing_token,
            versions_url,
            version,
            json.dumps(endpoints),
            json.dumps(roles),
            status,
            stamp(),
        )
        with self.tx() as c:
            if peer_id is None:
                cur = c.execute(
                    "INSERT INTO peers (incoming_token, outgoing_token, versions_url, version, endpoints,"
                    " roles, status, updated) VALUES (?,?,?,?,?,?,?,?)",
                    values,
                )
                peer_id = int(cur.lastrowid)
            else:
                c.execute(
                    "UPDATE peers SET incoming_token=?, outgoing_token=?, versions_url=?, version=?,"
                    " endpoints=?, roles=?, status=?, updated=? WHERE id=?",
                    (*values, peer_id),
                )
        peer = self.peer(peer_id)
        assert peer is not None
        return peer

    def delete_peer(self, peer_id: int) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM peers WHERE id=?", (peer_id,))

    # --- records --------------------------------------------------------------------------
    def put_record(self, module: str, record_id: str, doc: dict[str, Any], last_updated: datetime) -> None:
        with self.tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO records (module, id, last_updated, doc) VALUES (?,?,?,?)",
                (module, record_id, stamp(last_updated), json.dumps(doc)),
            )

    def put_if_changed(self, module: str, record_id: str, doc: dict[str, Any], last_updated: datetime) -> dict[str, Any]:
        """Store `doc` with `last_updated` unless the stored one equals it apart from its
        `last_updated` fields (a restart with the same configuration keeps the old stamps, so
        date_from sync stays quiet). Returns the stored document."""
        old = self.get_record(module, record_id)
        if old is not None and _without_stamps(old) == _without_stamps(doc):
            return old
        self.put_record(module, record_id, doc, last_updated)
        return doc

    def get_record(self, module: str, record_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT doc FROM records WHERE module=? AND id=?", (module, record_id)).fetchone()
        return json.loads(row["doc"]) if row else None

    def delete_record(self, module: str, record_id: str) -> bool:
        with self.tx() as c:
            return c.execute("DELETE FROM records WHERE module=? AND id=?", (module, record_id)).rowcount > 0

    def list_records(
        self,
        module: str,
        *,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(total matching, one page) ordered by last_updated; date_from inclusive, date_to exclusive."""
        where, args = ["module=?"], [module]
        if date_from is not None:
            where.append("last_updated >= ?")
            args.append(stamp(date_from))
        if date_to is not None:
            where.append("last_updated < ?")
            args.append(stamp(date_to))
        cond = " AND ".join(where)
        total = self.conn.execute(f"SELECT COUNT(*) FROM records WHERE {cond}", args).fetchone()[0]
        rows = self.conn.execute(
            f"SELECT doc FROM records WHERE {cond} ORDER BY last_updated, id LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
        return int(total), [json.loads(r["doc"]) for r in rows]

    def snapshot(self) -> dict[str, Any]:
        """Everything a request could change (peers, records, kv), for invariance checks."""
        return {
            "kv": [tuple(r) for r in self.conn.execute("SELECT * FROM kv ORDER BY key")],
            "peers": [tuple(r) for r in self.conn.execute("SELECT * FROM peers ORDER BY id")],
            "records": [tuple(r) for r in self.conn.execute("SELECT * FROM records ORDER BY module, id")],
            "outbox": [tuple(r) for r in self.conn.execute("SELECT seq, method, target, body FROM outbox ORDER BY seq")],
        }
