"""core/store.py: the station's key-value store in a real sqlite file, across reopen ("restart")."""
import math

import pytest

from freev2g.journal import Journal
from freev2g.store import KeyValueStore, StoreError


def test_values_survive_a_restart_in_the_journal_file(tmp_path):
    path = str(tmp_path / "station.sqlite")
    journal = Journal(path)  # the store shares the station's sqlite with the journal
    kv = KeyValueStore(path)
    kv.store("last_config", {"HeartbeatInterval": 300, "Vendor": "x", "flags": [True, None, 1.5]})
    ocpp = kv.scope("ocpp")
    ocpp.store("auth_cache", ["TOKEN1"])
    kv.close()
    journal.close()

    again = KeyValueStore(path)
    assert again.load("last_config") == {"HeartbeatInterval": 300, "Vendor": "x", "flags": [True, None, 1.5]}
    assert again.scope("ocpp").load("auth_cache") == ["TOKEN1"]
    assert again.load("auth_cache") is None  # namespaces are separate
    assert again.exists("last_config") and not again.exists("nope")
    assert again.delete("last_config") is True and again.delete("last_config") is False
    assert again.load("last_config", "gone") == "gone"
    assert again.scope("ocpp").keys() == ["auth_cache"]
    again.close()
    with Journal(path) as j:  # the journal still opens the file it shares
        assert j.integrity_ok()


def test_a_value_json_cannot_hold_is_refused_with_its_key(tmp_path):
    kv = KeyValueStore(str(tmp_path / "s.sqlite"))
    with pytest.raises(StoreError, match=r"store station/limits\.a\[1\]: nan is not storable"):
        kv.store("limits", {"a": [1.0, math.nan]})
    with pytest.raises(StoreError, match="a set is not storable"):
        kv.store("k", {1, 2})
    with pytest.raises(StoreError, match="key must be a non-empty string"):
        kv.store("", 1)
    assert kv.keys() == []
    kv.close()


def test_a_file_that_is_not_sqlite_is_named(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="bad.sqlite: cannot open"):
        KeyValueStore(str(bad))
