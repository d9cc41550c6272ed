"""WebSocket connection to the CSMS with OCPP security profiles 0, 1 and 2.

Profile 1: HTTP Basic authentication, user = station id (OCPP 2.0.1 Part 2 A00.FR.2xx).
Profile 2: the same over TLS, the CSMS certificate verified against `ca_file` (or the system
store when no file is given); the host name must match. The OCPP subprotocol is offered and
must be the one the CSMS selects (uplinks.md 1.2: the library does not negotiate it).
"""
from __future__ import annotations

import base64
import ssl
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect

from .config import OcppConfig


class OcppConnectError(ConnectionError):
    """The CSMS refused the connection or the subprotocol; the message says why."""


def endpoint_url(cfg: OcppConfig, station_id: str) -> str:
    if not cfg.append_station_id:
        return cfg.url
    return cfg.url.rstrip("/") + "/" + quote(station_id, safe="")


def basic_auth_header(station_id: str, password: str) -> str:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def ssl_context(cfg: OcppConfig) -> ssl.SSLContext | None:
    if not cfg.url.startswith("wss://"):
        return None
    ctx = ssl.create_default_context(cafile=cfg.ca_file) if cfg.ca_file else ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def open_connection(cfg: OcppConfig, station_id: str, *, open_timeout_s: float = 10.0) -> ClientConnection:
    headers = {}
    if cfg.security_profile >= 1:
        headers["Authorization"] = basic_auth_header(station_id, cfg.password or "")
    try:
        ws = await connect(
            endpoint_url(cfg, station_id),
            subprotocols=[cfg.subprotocol],
            additional_headers=headers,
            ssl=ssl_context(cfg),
            open_timeout=open_timeout_s,
            ping_interval=None,  # OCPP Heartbeat does liveness; websocket pings are optional
            max_size=2**22,
        )
    except ssl.SSLError as exc:
        raise OcppConnectError(f"TLS handshake with {cfg.url} failed: {exc}") from exc
    if ws.subprotocol != cfg.subprotocol:
        await ws.close()
        raise OcppConnectError(f"CSMS at {cfg.url} did not accept subprotocol {cfg.subprotocol!r} "
                               f"(selected {ws.subprotocol!r})")
    return ws
