"""What every OCPI request handler shares: the bridge key, the request's peer and token, the
envelope reply, JSON body and query parsing, and the paginated GET.

Its own module so that the credentials server (server.py) and the module endpoints (routes.py
and the module files) import it instead of each other (issue #13: no import circles).
transport_and_format (uplinks.md 2.1): invalid JSON -> HTTP 400 / 2001; invalid values -> 2001
naming the field; pagination with offset / limit / date_from / date_to and the headers
X-Total-Count, X-Limit and Link (rel="next").
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from . import OCPI_VERSION
from .convert import InvalidObject, load, parse_datetime
from .envelope import StatusCode, envelope, invalid
from .jsonlimits import MAX_JSON_DEPTH, nesting_depth

BRIDGE: web.AppKey[Any] = web.AppKey("bridge", object)
_RequestKey = getattr(web, "RequestKey", None)
PEER: Any = _RequestKey("peer", object) if _RequestKey else "ocpi_peer"  # Peer, or None for token A
TOKEN: Any = _RequestKey("token", str) if _RequestKey else "ocpi_token"
MAX_ID_LEN = 36


def reply(data: Any = None, status_code: int = StatusCode.SUCCESS, message: str | None = None, *, http_status: int = 200, headers: dict | None = None) -> web.Response:
    return web.json_response(envelope(data, status_code, message), status=http_status, headers=headers)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; HTTP 400 with 2001 when it is not valid JSON."""
    raw = await request.read()
    depth = nesting_depth(raw, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        raise invalid(f"request body nests JSON deeper than {MAX_JSON_DEPTH} levels", http_status=400)
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise invalid(f"request body is not valid JSON: {exc}", http_status=400) from None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_body(doc: Any, cls: type, what: str | None = None):
    try:
        return load(doc, cls, what=what)
    except InvalidObject as exc:
        raise invalid(str(exc)) from None


def query_int(request: web.Request, name: str, default: int | None, lo: int, hi: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise invalid(f"query parameter {name} must be an integer, got {raw[:40]!r}") from None
    if value < lo or (hi is not None and value > hi):
        raise invalid(f"query parameter {name} must be within {lo}..{hi if hi is not None else 'inf'}, got {value}")
    return value


def query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError as exc:
        raise invalid(f"query parameter {name}: {exc}") from None


def response_url(raw: str | None, where: str) -> str:
    if not raw:
        raise invalid(f"{where} response_url is required")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(raw) > 2048:
        raise invalid(f"{where} response_url must be an absolute http(s) URL, got {raw[:80]!r}")
    return raw


async def paginated(request: web.Request, module: str) -> web.Response:
    bridge = request.app[BRIDGE]
    cap = bridge.config.page_limit_max
    date_from = query_time(request, "date_from")
    date_to = query_time(request, "date_to")
    offset = query_int(request, "offset", 0, 0, 2**31)
    limit = min(query_int(request, "limit", cap, 1, 2**31) or cap, cap)
    assert offset is not None
    total, page = bridge.store.list_records(module, date_from=date_from, date_to=date_to, offset=offset, limit=limit)
    headers = {"X-Total-Count": str(total), "X-Limit": str(limit)}
    if offset + len(page) < total:
        params = {k: v for k, v in request.query.items() if k in ("date_from", "date_to")}
        params.update(offset=str(offset + len(page)), limit=str(limit))
        headers["Link"] = f'<{bridge.url(f"{OCPI_VERSION}/{module}")}?{urlencode(params)}>; rel="next"'
    return reply(page, headers=headers)
