"""`freev2g ocpi ...`: register with a peer (credentials handshake) and serve the CPO endpoints."""
from __future__ import annotations

import asyncio
import errno
import logging
import signal

import click
from freev2g.config import ConfigError, load_station_config

from .client import PeerError
from .config import OcpiConfig

log = logging.getLogger(__name__)


def load_ocpi_config(pm, path: str | None) -> OcpiConfig:
    """[uplinks.ocpi] of the station TOML (defaults when no file or no table)."""
    if path is None:
        return OcpiConfig()
    types = {r.name: r.config_type for r in pm.registries().uplinks.all()} if pm is not None else {"ocpi": OcpiConfig}
    types.setdefault("ocpi", OcpiConfig)
    try:
        station_cfg = load_station_config(path, uplink_types=types)
    except ConfigError as exc:
        raise click.ClickException("\n".join(f"{exc.source}: {p}" for p in exc.problems)) from None
    cfg = station_cfg.uplinks.get("ocpi")
    return cfg if isinstance(cfg, OcpiConfig) else OcpiConfig()


@click.group("ocpi")
def ocpi_group() -> None:
    """OCPI 2.2.1 bridge: register with an eMSP/SCSP and serve the CPO endpoints."""


@ocpi_group.command("register")
@click.argument("url", required=False)
@click.option("--token", "token_a", required=True, help="Token A handed over by the peer.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="station.toml with [uplinks.ocpi].")
@click.pass_obj
def register_command(pm, url: str | None, token_a: str, config_path: str | None) -> None:
    """Run the credentials handshake with the peer whose versions URL is URL."""
    cfg = load_ocpi_config(pm, config_path)
    url = url or cfg.peer_versions_url
    if not url:
        raise click.UsageError("give the peer's versions URL (argument URL or peer_versions_url in [uplinks.ocpi])")
    try:
        peer = asyncio.run(_register(cfg, url, token_a))
    except PeerError as exc:
        raise click.ClickException(f"registration failed: {exc}") from None
    modules = ", ".join(sorted({e["identifier"] for e in peer.endpoints}))
    click.echo(f"registered with {peer.versions_url} (OCPI {peer.version}); peer modules: {modules}")


async def _register(cfg: OcpiConfig, url: str, token_a: str):
    from .uplink import OcpiBridge

    bridge = OcpiBridge(cfg)
    try:
        try:  # the peer calls our versions back during the handshake
            await bridge.serve()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise click.ClickException(f"cannot listen on {cfg.listen_host}:{cfg.listen_port}: {exc}") from None
            if not cfg.public_url:
                raise click.ClickException(
                    f"{cfg.listen_host}:{cfg.listen_port} is in use; set public_url to the running server's URL"
                ) from None
            bridge.base_url = cfg.public_url  # a `freev2g ocpi serve` on the same file answers
        return await bridge.register(url, token_a)
    finally:
        await bridge.stop()


@ocpi_group.command("serve")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True, help="station.toml with [uplinks.ocpi].")
@click.pass_obj
def serve_command(pm, config_path: str) -> None:
    """Serve the CPO endpoints and deliver the outbox until interrupted."""
    cfg = load_ocpi_config(pm, config_path)
    try:
        asyncio.run(_serve(cfg))
    except KeyboardInterrupt:
        pass


async def _serve(cfg: OcpiConfig) -> None:
    from .uplink import OcpiBridge

    bridge = OcpiBridge(cfg)
    try:
        await bridge.start()
    except OSError as exc:
        await bridge.stop()
        raise click.ClickException(f"cannot listen on {cfg.listen_host}:{cfg.listen_port}: {exc}") from None
    # SIGINT / SIGTERM stop the server through the loop, whatever disposition the process
    # inherited (a parent that ignores SIGINT passes SIG_IGN on, and KeyboardInterrupt never comes)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"serving {bridge.url('versions')}")
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await bridge.stop()


@ocpi_group.command("status")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="station.toml with [uplinks.ocpi].")
@click.pass_obj
def status_command(pm, config_path: str | None) -> None:
    """Peers and the push queue: pending, delivered and failed pushes (with the peer's answer)."""
    from pathlib import Path

    from .store import Store

    cfg = load_ocpi_config(pm, config_path)
    if cfg.outbox_path != ":memory:" and not Path(cfg.outbox_path).exists():
        raise click.ClickException(f"no OCPI store at {cfg.outbox_path} (nothing registered or served yet)")
    store = Store(cfg.outbox_path)
    try:
        for peer in store.peers(status=None):
            click.echo(f"peer {peer.id}: {peer.versions_url} ({peer.status}, OCPI {peer.version or '?'})")
        counts = dict(store.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
        click.echo("outbox: " + ", ".join(f"{state} {counts.get(state, 0)}" for state in ("pending", "delivered", "failed")))
        for row in store.conn.execute("SELECT * FROM outbox WHERE state='pending' ORDER BY seq LIMIT 20"):
            click.echo(f"  pending #{row['seq']} {row['method']} {row['module'] or ''} {row['target']}"
                       f" (attempts {row['attempts']}{'; last: ' + row['last_error'] if row['last_error'] else ''})")
        for row in store.conn.execute("SELECT * FROM outbox WHERE state IN ('failed', 'rejected') ORDER BY seq"):
            click.echo(f"  failed #{row['seq']} {row['method']} {row['module'] or ''} {row['target']} at {row['done']}: "
                       f"{row['last_error']}")
            if row["body"]:
                click.echo(f"    sent: {row['body'][:500]}")
    finally:
        store.close()
