"""`freev2g ocpp status --config station.toml`: connection settings, queue depth, last delivery.

Reads the queue database (it may belong to a running station: sqlite WAL allows that).
"""
from __future__ import annotations

import json

import click

from freev2g.config import ConfigError, load_toml, parse_station_config

from .outbox import Outbox, OutboxError


@click.group("ocpp")
def ocpp_group() -> None:
    """OCPP uplink tools."""


@ocpp_group.command("status")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="station TOML with an [uplinks.ocpp] table")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.pass_obj
def status(pm, config_path: str, as_json: bool) -> None:
    """Show the OCPP settings and the state of the offline queue."""
    types = {r.name: r.config_type for r in pm.registries().uplinks.all()} if pm is not None else {}
    try:
        station_cfg = parse_station_config(load_toml(config_path), source=config_path, uplink_types=types)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise SystemExit(1)
    cfg = station_cfg.uplinks.get("ocpp")
    if cfg is None:
        click.echo(f"{config_path}: no [uplinks.ocpp] table", err=True)
        raise SystemExit(1)
    try:
        box = Outbox(cfg.queue_path)
    except OutboxError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1)
    try:
        doc = {
            "station_id": cfg.station_id or station_cfg.station.id,
            "url": cfg.url,
            "version": cfg.version,
            "security_profile": cfg.security_profile,
            "queue_path": cfg.queue_path,
            "queue_depth": box.depth(),
            "open_transactions": len(box.open_transactions()),
            "last_delivery": box.kv_get("last_delivery"),
            "connection": box.kv_get("connection"),
        }
    finally:
        box.close()
    if as_json:
        click.echo(json.dumps(doc))
        return
    for key, value in doc.items():
        click.echo(f"{key:18} {value if value is not None else '-'}")
