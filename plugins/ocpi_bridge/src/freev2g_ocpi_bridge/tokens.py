"""Tokens module: CPO = Receiver of the eMSP's tokens (PUT / PATCH / GET
`tokens/{country_code}/{party_id}/{uid}[?type=]`), and the station's authorization decided
with them (mod_tokens).

When the EvseManager emits AuthorizationRequested with a token uid, the stored token decides
by its whitelist: `valid` false -> refused; ALWAYS -> accepted locally, no call; ALLOWED,
ALLOWED_OFFLINE, NEVER or an unknown uid -> real-time authorization at the eMSP
(`POST {tokens SENDER}/{uid}/authorize?type=`), accepted only when it answers ALLOWED. When the
eMSP cannot be reached, only an ALLOWED_OFFLINE token is accepted. The verdict goes to the
station as remote_start (accept) or reject_authorization. A token we do not store, with no
eMSP offering authorize, is left undecided (for another uplink, or the station's timeout).
"""
from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import quote

from aiohttp import web
from attrs import frozen
from freev2g.model.events import AuthorizationRequested, SessionEvent

from .client import PeerError, hub_headers
from .context import BRIDGE, parse_body, read_json, reply
from .convert import dump
from .envelope import OcpiError, StatusCode, invalid

log = logging.getLogger(__name__)

MODULE = "tokens"
TYPES = ("AD_HOC_USER", "APP_USER", "OTHER", "RFID")
WHITELISTS = ("ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER")


@frozen(kw_only=True)
class Token:
    country_code: str
    party_id: str
    uid: str
    type: str
    contract_id: str
    issuer: str
    valid: bool
    whitelist: str
    last_updated: datetime


def _key(cc: str, pid: str, uid: str, typ: str) -> str:
    return f"{cc.upper()}/{pid.upper()}/{uid}/{typ}"


def _url_parts(request: web.Request) -> tuple[str, str, str, str]:
    m = request.match_info
    typ = request.query.get("type", "RFID")
    if typ not in TYPES:
        raise invalid(f"type must be one of {', '.join(TYPES)}, got {typ[:40]!r}")
    if len(m["uid"]) > 36:
        raise invalid("uid is longer than 36 characters")
    return m["country_code"], m["party_id"], m["uid"], typ


def _check(token: Token, cc: str, pid: str, uid: str, typ: str) -> None:
    if (token.country_code.upper(), token.party_id.upper(), token.uid, token.type) != (cc.upper(), pid.upper(), uid, typ):
        raise invalid("country_code, party_id, uid and type of the body must match the URL")
    if token.whitelist not in WHITELISTS:
        raise invalid(f"whitelist must be one of {', '.join(WHITELISTS)}")


async def token_put(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    cc, pid, uid, typ = _url_parts(request)
    token = parse_body(await read_json(request), Token, "Token")
    _check(token, cc, pid, uid, typ)
    bridge.store.put_record(MODULE, _key(cc, pid, uid, typ), dump(token), token.last_updated)
    return reply()


async def token_patch(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    cc, pid, uid, typ = _url_parts(request)
    old = bridge.store.get_record(MODULE, _key(cc, pid, uid, typ))
    if old is None:
        raise OcpiError(404, StatusCode.UNKNOWN_TOKEN, f"unknown token {uid!r}")
    doc = await read_json(request)
    if not isinstance(doc, dict) or "last_updated" not in doc:
        raise invalid("a PATCH must be an object with last_updated")
    token = parse_body({**old, **doc}, Token, "Token")
    _check(token, cc, pid, uid, typ)
    bridge.store.put_record(MODULE, _key(cc, pid, uid, typ), dump(token), token.last_updated)
    return reply()


async def token_get(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    doc = bridge.store.get_record(MODULE, _key(*_url_parts(request)))
    if doc is None:
        raise OcpiError(404, StatusCode.UNKNOWN_TOKEN, f"unknown token {request.match_info['uid']!r}")
    return reply(doc)


# --- authorization ---------------------------------------------------------------------------


class TokenAuthorizer:
    """Answers AuthorizationRequested with the stored tokens and the eMSP's authorize."""

    def __init__(self, bridge):
        self.bridge = bridge

    def on_event(self, event: SessionEvent) -> None:
        """StationApi listener: must not raise; the decision runs in the background."""
        if isinstance(event, AuthorizationRequested) and event.id_token:
            self.bridge.spawn(self.decide(event.evse_index, event.id_token))

    def _stored(self, uid: str) -> dict | None:
        _, docs = self.bridge.store.list_records(MODULE, limit=100_000)
        return next((d for d in docs if d.get("uid") == uid), None)

    async def decide(self, evse_index: int, uid: str) -> None:
        allowed, why = await self.verdict(uid)
        if allowed is None:  # not ours to decide: another uplink (OCPP) or the station's timeout
            log.debug("ocpi: token %s left undecided (%s)", uid, why)
            return
        log.info("ocpi: token %s %s (%s)", uid, "accepted" if allowed else "refused", why)
        try:
            if allowed:
                await self.bridge.station.remote_start(evse_index, uid)
            else:
                await self.bridge.station.reject_authorization(evse_index, why)
        except Exception:  # noqa: BLE001 - logged; the station keeps its own timeout
            log.exception("ocpi: passing the token verdict to the station failed")

    def _senders(self) -> list:
        return [p for p in self.bridge.store.peers()
                if p.endpoint(MODULE, "SENDER") is not None and p.status == "registered" and p.outgoing_token]

    async def verdict(self, uid: str) -> tuple[bool | None, str]:
        """(accept?, why); None: the token is unknown here and no eMSP offers authorize."""
        stored = self._stored(uid)
        if stored is None and not self._senders():
            return None, "unknown token and no eMSP with a tokens SENDER endpoint"
        if stored is not None and not stored.get("valid", False):
            return False, "token not valid"
        if stored is not None and stored.get("whitelist") == "ALWAYS":
            return True, "whitelist ALWAYS"
        try:
            answer = await self._authorize(uid, (stored or {}).get("type", "RFID"))
        except PeerError as exc:
            offline = stored is not None and stored.get("whitelist") == "ALLOWED_OFFLINE"
            return offline, f"eMSP unreachable ({exc}); {'ALLOWED_OFFLINE' if offline else 'no offline permission'}"
        return answer == "ALLOWED", f"eMSP answered {answer}"

    async def _authorize(self, uid: str, typ: str) -> str:
        """The eMSP's `allowed` value; PeerError when no eMSP gives a usable answer."""
        for peer in self._senders():
            base = peer.endpoint(MODULE, "SENDER")
            url = f"{base.rstrip('/')}/{quote(uid, safe='')}/authorize?type={typ}"
            cfg = self.bridge.config
            reply_ = await self.bridge.client.request("POST", url, peer.outgoing_token, None,
                                                      routing=hub_headers(cfg.country_code, cfg.party_id, peer))
            data = reply_.data if reply_.ok else None
            if isinstance(data, dict) and isinstance(data.get("allowed"), str):
                return data["allowed"]
            if reply_.status_code == StatusCode.UNKNOWN_TOKEN:
                return "NOT_ALLOWED"
            raise PeerError(f"POST {url}: {reply_.describe()}")
        raise PeerError("no registered eMSP offers a tokens SENDER endpoint")


def add_routes(app: web.Application, v: str) -> None:
    r = app.router.add_resource(f"{v}/{MODULE}/{{country_code}}/{{party_id}}/{{uid}}", name=MODULE)
    r.add_route("PUT", token_put)
    r.add_route("PATCH", token_patch)
    r.add_route("GET", token_get)
