"""The "ocpi" uplink: one object that serves the CPO endpoints, tracks sessions and pushes.

Built by the registered factory as `OcpiBridge(config, station)` (hookspecs
freev2g_register_uplinks); `await start()` subscribes to the station's session events, binds
the HTTP server and starts the outbox worker; `await stop()` undoes it. Without a station
(`freev2g ocpi serve` on its own) it serves registration and the stored records only.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web
from freev2g.clock import Clock

from .client import OcpiClient, PeerError
from .config import OcpiConfig
from .convert import dump
from .jsonlimits import PARSER_FIELD_LIMIT, PARSER_MAX_HEADERS
from . import tariffs
from .locations import LocationCatalog
from .outbox import Outbox
from .tokens import TokenAuthorizer
from .records import SessionTracker
from .server import build_app, our_credentials
from .store import Peer, Store

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "/ocpi/cpo"


class _NoStation:
    """Stand-in when the bridge runs without a station: no EVSEs, no live sessions."""

    station_id = "detached"

    def __init__(self) -> None:
        self.clock = Clock()
        self.schedules = None
        self.journal = None

    def subscribe(self, listener) -> None:
        pass

    def evses(self) -> list:
        return []

    def session(self, evse_index: int):
        return None


class OcpiBridge:
    def __init__(self, config: OcpiConfig, station=None):
        self.config = config
        self.station = station if station is not None else _NoStation()
        self.store = Store(config.outbox_path)
        self.client = OcpiClient(timeout_s=config.request_timeout_s)
        self.outbox = Outbox(
            self.store,
            self.client,
            self.station.clock,
            retry_initial_s=config.retry_initial_s,
            retry_max_s=config.retry_max_s,
            party=(config.country_code, config.party_id),
        )
        self.tracker = SessionTracker(config, self.store, self.outbox, self.station)
        self.locations = LocationCatalog(config, self.store, self.outbox, self.station)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task] = set()
        self.authorizer = TokenAuthorizer(self)
        self.base_url: str | None = None
        self.port: int | None = None

    # --- helpers used by the handlers ---------------------------------------------------------
    def now(self) -> datetime:
        return self.station.clock.now()

    def url(self, suffix: str) -> str:
        if self.base_url is None:
            raise RuntimeError("OCPI server not started: no public URL yet")
        return f"{self.base_url.rstrip('/')}/{suffix.lstrip('/')}"

    def spawn(self, coro) -> None:
        """Run a command's station call in the background; cancelled by stop()."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self.publish()
        self.station.subscribe(self.tracker.on_event)
        self.station.subscribe(self.locations.on_event)
        self.station.subscribe(self.authorizer.on_event)
        await self.serve()
        self.outbox.start()

    def publish(self) -> None:
        """Store the configured tariffs and the Location before serving (connectors reference
        the tariffs, CDRs embed them); a peer already registered gets the Location again."""
        now = self.now()
        tariffs.publish(self.config, self.store, now)
        self.locations.publish(now)
        self.locations.push_location()

    async def serve(self) -> None:
        """Bind the HTTP server (listen_port 0 picks a free port; see `port`)."""
        cfg = self.config
        prefix = urlsplit(cfg.public_url).path.rstrip("/") if cfg.public_url else DEFAULT_PREFIX
        runner = web.AppRunner(build_app(self, prefix or DEFAULT_PREFIX), access_log=None, max_field_size=PARSER_FIELD_LIMIT,
                               max_line_size=PARSER_FIELD_LIMIT, max_headers=PARSER_MAX_HEADERS)
        await runner.setup()
        site = web.TCPSite(runner, cfg.listen_host, cfg.listen_port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else cfg.listen_port
        self.base_url = cfg.public_url or f"http://{cfg.listen_host}:{self.port}{prefix or DEFAULT_PREFIX}"
        log.info("ocpi: serving %s/versions", self.base_url)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.outbox.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.client.close()
        self.store.close()

    # --- we register with a peer (we are the Sender of credentials) ------------------------
    async def register(self, versions_url: str, token_a: str) -> Peer:
        """credentials handshake with token A (uplinks.md 2.2): discover, POST our token B, keep
        the peer's token C. Our server must be reachable at `base_url` while the peer calls back."""
        details = await self.client.discover(versions_url, token_a)
        cred_url = next((e.url for e in details.endpoints if e.identifier == "credentials"), None)
        if cred_url is None:
            raise PeerError(f"{versions_url}: version {details.version} lists no credentials endpoint")
        token_b = secrets.token_urlsafe(32)
        endpoints = [dump(e) for e in details.endpoints]
        pending = self.store.save_peer(
            incoming_token=token_b,
            outgoing_token=None,
            versions_url=versions_url,
            version=details.version,
            endpoints=endpoints,
            roles=[],
            status="registering",
        )
        try:
            theirs = await self.client.send_credentials("POST", cred_url, token_a, our_credentials(self, token_b))
        except BaseException:
            self.store.delete_peer(pending.id)
            raise
        try:  # endpoints as the peer shows them to its registered party (token C)
            endpoints = [dump(e) for e in (await self.client.discover(theirs.url, theirs.token)).endpoints]
        except PeerError as exc:
            log.warning("ocpi: re-reading endpoints with token C failed (%s); keeping those read with token A", exc)
        peer = self.store.save_peer(
            peer_id=pending.id,
            incoming_token=token_b,
            outgoing_token=theirs.token,
            versions_url=theirs.url,
            version=details.version,
            endpoints=endpoints,
            roles=[dump(r) for r in theirs.roles],
            status="registered",
        )
        self.locations.push_location(peer.id)
        self.outbox.retry_now()
        return peer


def make_uplink(config: OcpiConfig | None, station) -> OcpiBridge:
    """Factory registered as uplink "ocpi": `factory(uplink_config, station)`."""
    return OcpiBridge(config if config is not None else OcpiConfig(), station)
