"""`freev2g ocpp status --config station.toml` and config errors naming the key."""
from __future__ import annotations

import json

from click.testing import CliRunner
from freev2g.cli import make_cli
from freev2g.plugins import get_plugin_manager
from freev2g_ocpp.outbox import Outbox


def test_status_shows_settings_and_queue(tmp_path):
    queue = tmp_path / "q.sqlite"
    box = Outbox(queue)
    box.enqueue("TransactionEvent", {"seqNo": 0}, created_at="2026-01-01T00:00:00.000Z")
    box.enqueue("TransactionEvent", {"seqNo": 1}, created_at="2026-01-01T00:00:01.000Z")
    box.mark_done(1, "delivered", {}, "2026-01-01T00:00:02.000Z")
    box.close()
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'[station]\nid = "CS-7"\n[uplinks.ocpp]\nurl = "ws://127.0.0.1:9/ocpp"\nqueue_path = "{queue}"\n')
    result = CliRunner().invoke(make_cli(get_plugin_manager()), ["ocpp", "status", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["station_id"] == "CS-7" and doc["version"] == "2.0.1" and doc["queue_depth"] == 1
    assert doc["last_delivery"] == "2026-01-01T00:00:02.000Z"
    text = CliRunner().invoke(make_cli(get_plugin_manager()), ["ocpp", "status", "--config", str(cfg)])
    assert "queue_depth" in text.output and "ws://127.0.0.1:9/ocpp" in text.output


def test_bad_config_names_the_key(tmp_path):
    cfg = tmp_path / "station.toml"
    cfg.write_text('[uplinks.ocpp]\nurl = "http://nope"\nheartbeat_s = "often"\n')
    result = CliRunner().invoke(make_cli(get_plugin_manager()), ["ocpp", "status", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "uplinks.ocpp" in result.output


def test_config_check_rejects_an_uplink_port_out_of_range(tmp_path):
    """Issue #13 item 11: a port above 65535 is a config error at check time, not a connect
    failure at run time."""
    cfg = tmp_path / "station.toml"
    cfg.write_text('[uplinks.ocpp]\nurl = "ws://127.0.0.1:70000/ocpp"\n')
    result = CliRunner().invoke(make_cli(get_plugin_manager()), ["config", "check", str(cfg)])
    assert result.exit_code == 1
    assert "uplinks.ocpp: url 'ws://127.0.0.1:70000/ocpp': the port must be a number from 0 to 65535" in result.output
    cfg.write_text('[uplinks.ocpp]\nurl = "ws://127.0.0.1:65535/ocpp"\n')
    ok = CliRunner().invoke(make_cli(get_plugin_manager()), ["config", "check", str(cfg)])
    assert ok.exit_code == 0, ok.output
