"""The CPO's OCPI 2.2.1 HTTP server: middleware (envelope, tokens, tracing), versions, credentials.

transport_and_format / status_codes (uplinks.md 2.1): every answer is the envelope; invalid JSON
-> HTTP 400; missing or unknown token -> HTTP 401; token A (and a peer still registering) only
reach versions, version details and credentials; X-Request-ID and X-Correlation-ID are echoed.
A request that fails validation changes nothing. Client input never yields a 5xx.
credentials (uplinks.md 2.2): POST registers with token A, PUT re-registers, DELETE unregisters;
POST when registered and PUT/DELETE when not -> HTTP 405.
"""
from __future__ import annotations

import logging
import secrets
import uuid
from typing import Awaitable, Callable

from aiohttp import web

from . import OCPI_VERSION
from . import commands, locations, routes, tariffs, tokens
from .client import PeerError, UnsupportedVersion
from .context import BRIDGE, PEER, TOKEN, parse_body, read_json, reply
from .convert import dump
from .envelope import OcpiError, StatusCode, invalid, token_candidates
from .jsonlimits import MAX_HEADER_BYTES, MAX_TRACE_ID_CHARS
from .models import BusinessDetails, Credentials, CredentialsRole, Endpoint, InterfaceRole, Role, Version, VersionDetails

log = logging.getLogger(__name__)

TOKEN_A_ROUTES = frozenset({"versions", "details", "credentials"})
TOKEN_A_USED_KEY = "token_a_used"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def trace_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Envelope for every outcome, tracing headers echoed, never a 5xx for client input."""
    try:
        _check_headers(request)
        response = await handler(request)
    except OcpiError as exc:
        response = reply(exc.data, exc.status_code, exc.message, http_status=exc.http_status)
    except web.HTTPException as exc:  # routing: 404 unknown path, 405 method, 413 body too big
        if exc.status >= 500:
            raise
        response = reply(None, StatusCode.CLIENT_ERROR, exc.reason, http_status=exc.status)
        for name in ("Allow",):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
    except Exception:  # noqa: BLE001 - a bug: logged, answered as OCPI 3000
        log.exception("ocpi: unhandled error on %s %s", request.method, request.path)
        response = reply(None, StatusCode.SERVER_ERROR, "internal error", http_status=500)
    for name in ("X-Request-ID", "X-Correlation-ID"):
        given = request.headers.get(name, "")
        response.headers[name] = given if 0 < len(given) <= MAX_TRACE_ID_CHARS else str(uuid.uuid4())
    return response


def _check_headers(request: web.Request) -> None:
    """Over-long headers and tokens: HTTP 400 / 2001 in the envelope (jsonlimits.py)."""
    for name, value in request.headers.items():
        if len(name) + len(value) > MAX_HEADER_BYTES:
            raise invalid(f"header {name[:40]} is longer than {MAX_HEADER_BYTES} bytes", http_status=400)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    bridge = request.app[BRIDGE]
    candidates = token_candidates(request.headers.get("Authorization"), accept_raw=bridge.config.accept_raw_tokens)
    if not candidates:
        raise OcpiError(401, StatusCode.CLIENT_ERROR, "missing or malformed Authorization header (expected 'Token <base64>')")
    route = request.match_info.route.name or ""
    for token in candidates:
        peer = bridge.store.peer_by_token(token)
        if peer is not None:
            if peer.status != "registered" and route not in TOKEN_A_ROUTES:
                break
            request[PEER] = peer
            request[TOKEN] = token
            return await handler(request)
        if token == bridge.config.token_a and bridge.store.get_kv(TOKEN_A_USED_KEY) != token:
            if route not in TOKEN_A_ROUTES:
                break
            request[PEER] = None
            request[TOKEN] = token
            return await handler(request)
    raise OcpiError(401, StatusCode.CLIENT_ERROR, "unknown token, or a token not valid for this module")


# --- versions (version_information_endpoint) ------------------------------------------------


async def versions(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    return reply([dump(Version(version=OCPI_VERSION, url=bridge.url(OCPI_VERSION)))])


def our_endpoints(bridge) -> list[Endpoint]:
    modules = [("credentials", InterfaceRole.SENDER), ("sessions", InterfaceRole.SENDER), ("cdrs", InterfaceRole.SENDER),
               ("locations", InterfaceRole.SENDER), ("tariffs", InterfaceRole.SENDER), ("commands", InterfaceRole.RECEIVER),
               ("tokens", InterfaceRole.RECEIVER)]
    if "CHARGING_PROFILE_CAPABLE" in bridge.config.capabilities:
        modules.append(("chargingprofiles", InterfaceRole.RECEIVER))
    return [Endpoint(identifier=m, role=r, url=bridge.url(f"{OCPI_VERSION}/{m}")) for m, r in modules]


async def version_details(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    return reply(dump(VersionDetails(version=OCPI_VERSION, endpoints=our_endpoints(bridge))))


# --- credentials ---------------------------------------------------------------------------


def our_credentials(bridge, token: str) -> Credentials:
    cfg = bridge.config
    return Credentials(
        token=token,
        url=bridge.url("versions"),
        roles=[
            CredentialsRole(
                role=Role.CPO,
                business_details=BusinessDetails(name=cfg.business_name),
                party_id=cfg.party_id,
                country_code=cfg.country_code,
            )
        ],
    )


async def _register(request: web.Request, peer_id: int | None) -> web.Response:
    bridge = request.app[BRIDGE]
    creds: Credentials = parse_body(await read_json(request), Credentials)
    try:
        details = await bridge.client.discover(creds.url, creds.token)
    except UnsupportedVersion as exc:
        raise OcpiError(200, StatusCode.UNSUPPORTED_VERSION, str(exc)) from None
    except PeerError as exc:
        raise OcpiError(200, StatusCode.UNABLE_TO_USE_CLIENT_API, f"cannot use your API: {exc}") from None
    endpoints = [dump(e) for e in details.endpoints if e.identifier != "credentials"]
    if not endpoints:
        raise OcpiError(200, StatusCode.NO_MATCHING_ENDPOINTS, f"{creds.url} lists no module besides credentials")
    token_c = secrets.token_urlsafe(32)
    peer = bridge.store.save_peer(
        incoming_token=token_c,
        outgoing_token=creds.token,
        versions_url=creds.url,
        version=details.version,
        endpoints=[dump(e) for e in details.endpoints],
        roles=[dump(r) for r in creds.roles],
        status="registered",
        peer_id=peer_id,
    )
    if peer_id is None:
        bridge.store.set_kv(TOKEN_A_USED_KEY, request[TOKEN])
    bridge.locations.push_location(peer.id)
    bridge.outbox.retry_now()
    log.info("ocpi: peer %s %s (%s)", creds.url, "registered" if peer_id is None else "updated", details.version)
    return reply(dump(our_credentials(bridge, token_c)))


async def credentials_get(request: web.Request) -> web.Response:
    return reply(dump(our_credentials(request.app[BRIDGE], request[TOKEN])))


async def credentials_post(request: web.Request) -> web.Response:
    if request[PEER] is not None:
        raise OcpiError(405, StatusCode.CLIENT_ERROR, "already registered: use PUT to update, DELETE to unregister")
    return await _register(request, None)


async def credentials_put(request: web.Request) -> web.Response:
    peer = request[PEER]
    if peer is None or peer.status != "registered":
        raise OcpiError(405, StatusCode.CLIENT_ERROR, "not registered: use POST with token A")
    return await _register(request, peer.id)


async def credentials_delete(request: web.Request) -> web.Response:
    peer = request[PEER]
    if peer is None or peer.status != "registered":
        raise OcpiError(405, StatusCode.CLIENT_ERROR, "not registered")
    request.app[BRIDGE].store.delete_peer(peer.id)
    return reply()


def build_app(bridge, prefix: str) -> web.Application:
    """The aiohttp application; routes live under `prefix` (the path of the public URL)."""
    app = web.Application(middlewares=[trace_middleware, auth_middleware], client_max_size=256 * 1024)
    app[BRIDGE] = bridge
    p = prefix.rstrip("/")
    v = f"{p}/{OCPI_VERSION}"
    app.router.add_get(f"{p}/versions", versions, name="versions", allow_head=False)
    app.router.add_get(v, version_details, name="details", allow_head=False)
    cred = app.router.add_resource(f"{v}/credentials", name="credentials")
    cred.add_route("GET", credentials_get)
    cred.add_route("POST", credentials_post)
    cred.add_route("PUT", credentials_put)
    cred.add_route("DELETE", credentials_delete)
    routes.add_routes(app, v)
    locations.add_routes(app, v)
    tariffs.add_routes(app, v)
    commands.add_routes(app, v)
    tokens.add_routes(app, v)
    return app
