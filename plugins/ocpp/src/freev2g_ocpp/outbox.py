"""Durable, ordered outbox for station -> CSMS messages (sqlite).

Rules (issue 6 "Offline and restarts"; OCPP-J RPC framework, OCPP 2.0.1 Part 4 4.1.3): a
message is built completely (timestamp, seqNo, OCPP-J messageId) and committed before it is
sent; it is marked delivered only after its CALLRESULT, in the receive loop, the moment the
answer frame is read; a CALLERROR is final (kept with its error, never resent). A message whose
answer never came (connection lost, process killed) stays pending and is resent after the
reconnect or restart byte for byte: same payload, same seqNo and timestamp, same messageId -
the only copy a CSMS can ever see twice, and it can drop it by messageId or by
(transactionId, seqNo). Messages flagged volatile (StatusNotification, NotifyEVChargingNeeds)
are dropped when the process restarts; TransactionEvents and meter values survive a restart.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

from attrs import frozen

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    session_id TEXT,
    durable INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | rejected | dropped
    attempts INTEGER NOT NULL DEFAULT 0,
    done_at TEXT,
    response TEXT,
    message_id TEXT                          -- OCPP-J messageId, fixed at commit, reused on resend
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, id);
CREATE TABLE IF NOT EXISTS tx (
    session_id TEXT PRIMARY KEY,
    evse_index INTEGER NOT NULL,
    next_seq INTEGER NOT NULL DEFAULT 0,
    ocpp_tx_id TEXT,
    started_at TEXT NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0,
    id_token TEXT,
    iso_session_id TEXT,
    remote_start_id INTEGER,
    energy_import_Wh REAL NOT NULL DEFAULT 0,
    energy_export_Wh REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class OutboxError(RuntimeError):
    pass


@frozen
class Entry:
    id: int
    action: str
    payload: dict[str, Any]
    session_id: str | None
    durable: bool
    attempts: int
    message_id: str


@frozen
class TxRecord:
    session_id: str
    evse_index: int
    next_seq: int
    ocpp_tx_id: str | None
    started_at: str
    ended: bool
    id_token: str | None
    iso_session_id: str | None
    remote_start_id: int | None
    energy_import_Wh: float
    energy_export_Wh: float


class Outbox:
    """One sqlite file; safe to open again after a crash (WAL, every write committed)."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(outbox)")}
            if "message_id" not in columns:  # a queue file written before messageIds were kept
                self._db.execute("ALTER TABLE outbox ADD COLUMN message_id TEXT")
        except sqlite3.DatabaseError as exc:
            raise OutboxError(f"OCPP queue {self.path}: cannot open ({exc})") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # -- messages -------------------------------------------------------------------------

    def enqueue(self, action: str, payload: dict[str, Any], *, created_at: str, session_id: str | None = None,
                durable: bool = True) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO outbox(created_at, action, payload, session_id, durable, message_id) VALUES (?,?,?,?,?,?)",
                (created_at, action, json.dumps(payload, separators=(",", ":")), session_id, int(durable),
                 str(uuid.uuid4())),
            )
            return int(cur.lastrowid)

    def next_pending(self) -> Entry | None:
        row = self._db.execute(
            "SELECT id, action, payload, session_id, durable, attempts, message_id FROM outbox "
            "WHERE state='pending' ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        message_id = row[6]
        if message_id is None:  # older queue file: fix one now, before the first send
            message_id = str(uuid.uuid4())
            self._db.execute("UPDATE outbox SET message_id=? WHERE id=? AND message_id IS NULL", (message_id, row[0]))
        return Entry(row[0], row[1], json.loads(row[2]), row[3], bool(row[4]), row[5], message_id)

    def mark_attempt(self, entry_id: int) -> None:
        self._db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id=?", (entry_id,))

    def state_of(self, entry_id: int) -> str | None:
        row = self._db.execute("SELECT state FROM outbox WHERE id=?", (entry_id,)).fetchone()
        return None if row is None else row[0]

    def mark_done(self, entry_id: int, state: str, response: Any, at: str) -> bool:
        """Final state of a pending message; False (and nothing changed) if it was final already."""
        if state not in ("delivered", "rejected", "dropped"):
            raise OutboxError(f"unknown outbox state {state!r}")
        cur = self._db.execute(
            "UPDATE outbox SET state=?, response=?, done_at=? WHERE id=? AND state='pending'",
            (state, json.dumps(response, default=str), at, entry_id),
        )
        if cur.rowcount and state == "delivered":
            self.kv_set("last_delivery", at)
        return bool(cur.rowcount)

    def drop_volatile(self, at: str) -> int:
        cur = self._db.execute(
            "UPDATE outbox SET state='dropped', done_at=?, response='\"restart\"' "
            "WHERE state='pending' AND durable=0",
            (at,),
        )
        return cur.rowcount

    def depth(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM outbox WHERE state='pending'").fetchone()[0]

    def attempts(self) -> list[tuple[int, str, int, str]]:
        """(id, action, attempts, message_id) of every message, in order (diagnostics, tests)."""
        return [tuple(r) for r in self._db.execute("SELECT id, action, attempts, message_id FROM outbox ORDER BY id")]

    def entries(self, state: str | None = None) -> list[tuple[int, str, dict, str]]:
        sql = "SELECT id, action, payload, state FROM outbox"
        args: tuple = ()
        if state:
            sql += " WHERE state=?"
            args = (state,)
        return [(r[0], r[1], json.loads(r[2]), r[3]) for r in self._db.execute(sql + " ORDER BY id", args)]

    # -- transactions -----------------------------------------------------------------------

    def open_transaction(self, session_id: str, evse_index: int, started_at: str) -> TxRecord:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO tx(session_id, evse_index, started_at) VALUES (?,?,?)",
                (session_id, evse_index, started_at),
            )
        return self.transaction(session_id)  # type: ignore[return-value]

    def transaction(self, session_id: str) -> TxRecord | None:
        row = self._db.execute(
            "SELECT session_id, evse_index, next_seq, ocpp_tx_id, started_at, ended, id_token, iso_session_id, "
            "remote_start_id, energy_import_Wh, energy_export_Wh FROM tx WHERE session_id=?",
            (session_id,),
        ).fetchone()
        return None if row is None else TxRecord(*row[:5], bool(row[5]), *row[6:])

    def open_transactions(self) -> list[TxRecord]:
        ids = [r[0] for r in self._db.execute("SELECT session_id FROM tx WHERE ended=0 ORDER BY rowid")]
        return [t for t in (self.transaction(i) for i in ids) if t is not None]

    def find_by_ocpp_id(self, ocpp_tx_id: str) -> TxRecord | None:
        row = self._db.execute("SELECT session_id FROM tx WHERE ocpp_tx_id=?", (str(ocpp_tx_id),)).fetchone()
        return None if row is None else self.transaction(row[0])

    def take_seq(self, session_id: str) -> int:
        """The next seqNo of a transaction (0, 1, 2 ...), persisted before use."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT next_seq FROM tx WHERE session_id=?", (session_id,)).fetchone()
                if row is None:
                    raise OutboxError(f"no transaction {session_id!r} in the OCPP queue")
                self._db.execute("UPDATE tx SET next_seq=? WHERE session_id=?", (row[0] + 1, session_id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return int(row[0])

    _TX_FIELDS = frozenset({"ocpp_tx_id", "ended", "id_token", "iso_session_id", "remote_start_id",
                            "energy_import_Wh", "energy_export_Wh"})

    def update_transaction(self, session_id: str, **values: Any) -> None:
        bad = set(values) - self._TX_FIELDS
        if bad:
            raise OutboxError(f"unknown transaction fields {sorted(bad)}")
        if not values:
            return
        cols = ", ".join(f"{k}=?" for k in values)
        self._db.execute(f"UPDATE tx SET {cols} WHERE session_id=?", (*values.values(), session_id))

    # -- small key/value store (runtime settings, last delivery) ----------------------------

    def kv_get(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return default if row is None else row[0]

    def kv_set(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES (?,?)", (key, value))
