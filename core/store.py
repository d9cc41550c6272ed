"""Key-value store (EvseManager's `store` requirement, EVerest interface kvs: store, load,
delete, exists) kept in the station's sqlite file next to the journal.

Settings and state that must survive a restart live here (the last OCPP configuration, a
local authorization cache, ...). Keys are strings inside a namespace (one per user: "ocpp",
"energy", a plugin's name); values are anything JSON can hold. A value is committed before
store() returns. With the journal in memory (":memory:") nothing survives the process.
"""
from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime, timezone
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv_store (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""


class StoreError(Exception):
    """The store file cannot be used, or a key or value is not storable (the message says which)."""


def _check_json(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(f"{where}: {value!r} is not storable (JSON has no nan or inf)")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise StoreError(f"{where}: dict key {k!r} must be a string")
            _check_json(item, f"{where}.{k}")
        return
    raise StoreError(f"{where}: a {type(value).__name__} is not storable (use str, number, bool, None, list, dict)")


class KeyValueStore:
    """One sqlite connection; use it from one thread (the station's event loop)."""

    def __init__(self, path: str, namespace: str = "station"):
        self.path = str(path)
        self.namespace = self._name(namespace, "namespace")
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=2000")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {self.path}: cannot open ({exc})") from exc
        self._owner = True

    @staticmethod
    def _name(value: Any, what: str) -> str:
        if not isinstance(value, str) or not value:
            raise StoreError(f"store {what} must be a non-empty string, got {value!r}")
        return value

    def scope(self, namespace: str) -> "KeyValueStore":
        """The same file, another namespace (shares this connection)."""
        other = object.__new__(KeyValueStore)
        other.path, other.namespace, other._db, other._owner = self.path, self._name(namespace, "namespace"), self._db, False
        return other

    def store(self, key: str, value: Any) -> None:
        key = self._name(key, "key")
        _check_json(value, f"store {self.namespace}/{key}")
        now = datetime.now(timezone.utc).isoformat()
        self._db.execute(
            "INSERT INTO kv_store(namespace, key, value, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(namespace, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            (self.namespace, key, json.dumps(value), now),
        )

    def load(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM kv_store WHERE namespace=? AND key=?",
                               (self.namespace, self._name(key, "key"))).fetchone()
        return default if row is None else json.loads(row[0])

    def exists(self, key: str) -> bool:
        return self._db.execute("SELECT 1 FROM kv_store WHERE namespace=? AND key=?",
                                (self.namespace, self._name(key, "key"))).fetchone() is not None

    def delete(self, key: str) -> bool:
        """True when the key was there."""
        cur = self._db.execute("DELETE FROM kv_store WHERE namespace=? AND key=?", (self.namespace, self._name(key, "key")))
        return cur.rowcount > 0

    def keys(self) -> list[str]:
        return [k for (k,) in self._db.execute("SELECT key FROM kv_store WHERE namespace=? ORDER BY key", (self.namespace,))]

    def close(self) -> None:
        if self._owner:
            self._db.close()


__all__ = ["KeyValueStore", "StoreError"]
