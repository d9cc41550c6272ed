"""Commands module, CPO = Receiver (mod_commands): START_SESSION, STOP_SESSION and
UNLOCK_CONNECTOR drive the station through StationApi (remote_start, remote_stop,
unlock_connector).

The POST is answered at once with a CommandResponse (ACCEPTED, or REJECTED / UNKNOWN_SESSION
when the EVSE or session named does not exist, NOT_SUPPORTED for a command the bridge does not
carry out); the station's outcome follows as a CommandResult POSTed to `response_url` through
the outbox, so it survives an eMSP outage. A station call that does not finish within
`profile_result_timeout_s` gives the result TIMEOUT. RESERVE_NOW and CANCEL_RESERVATION answer
NOT_SUPPORTED: the station offers no reservation API.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from attrs import frozen

from .context import BRIDGE, PEER, parse_body, read_json, reply, response_url

log = logging.getLogger(__name__)

MODULE = "commands"
SUPPORTED = ("START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR")
KNOWN = SUPPORTED + ("RESERVE_NOW", "CANCEL_RESERVATION")


@frozen(kw_only=True)
class CommandToken:
    """The part of the Token object a START_SESSION needs (other fields are ignored)."""

    uid: str
    type: str
    country_code: str | None = None
    party_id: str | None = None


@frozen(kw_only=True)
class StartSession:
    response_url: str
    token: CommandToken
    location_id: str
    evse_uid: str | None = None
    connector_id: str | None = None
    authorization_reference: str | None = None


@frozen(kw_only=True)
class StopSession:
    response_url: str
    session_id: str


@frozen(kw_only=True)
class UnlockConnector:
    response_url: str
    location_id: str
    evse_uid: str
    connector_id: str


def _response(result: str, timeout: int = 0, message: str | None = None) -> web.Response:
    doc = {"result": result, "timeout": timeout}
    if message:
        doc["message"] = [{"language": "en", "text": message[:512]}]
    return reply(doc)


def _evse_index(bridge, location_id: str, evse_uid: str | None) -> int | None:
    if location_id.lower() != bridge.config.location_id.lower():
        return None
    if evse_uid is None:
        evses = bridge.station.evses()
        return evses[0].index if len(evses) == 1 else None
    evse = bridge.locations.find_evse(evse_uid)
    return None if evse is None else evse.index


def _session_evse(bridge, session_id: str) -> int | None:
    for e in bridge.station.evses():
        snap = bridge.station.session(e.index)
        if snap is not None and snap.session_id == session_id:
            return e.index
    return None


async def command_post(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    command = request.match_info["command"].upper()
    if command not in KNOWN:
        return _response("NOT_SUPPORTED", message=f"unknown command {command[:40]!r}")
    doc = await read_json(request)
    if command not in SUPPORTED:
        return _response("NOT_SUPPORTED", message=f"{command} is not offered by this station")
    cls = {"START_SESSION": StartSession, "STOP_SESSION": StopSession, "UNLOCK_CONNECTOR": UnlockConnector}[command]
    cmd = parse_body(doc, cls, command)
    url = response_url(cmd.response_url, command)
    if command == "STOP_SESSION":
        index = _session_evse(bridge, cmd.session_id)
        if index is None:
            return _response("UNKNOWN_SESSION", message=f"no running session {cmd.session_id[:40]!r}")
        call = bridge.station.remote_stop(index)
    else:
        index = _evse_index(bridge, cmd.location_id, cmd.evse_uid)
        if index is None:
            return _response("REJECTED", message="unknown location or EVSE")
        if command == "START_SESSION":
            call = bridge.station.remote_start(index, cmd.token.uid)
        else:
            call = bridge.station.unlock_connector(index)
    timeout = bridge.config.profile_result_timeout_s
    bridge.spawn(_carry_out(bridge, request[PEER].id, url, command, call, timeout))
    return _response("ACCEPTED", timeout=timeout)


async def _carry_out(bridge, peer_id: int, url: str, command: str, call, timeout_s: float) -> None:
    """Await the station, then queue the CommandResult for the eMSP."""
    try:
        ok = await asyncio.wait_for(call, timeout_s)
        result = "ACCEPTED" if ok else ("FAILED" if command == "UNLOCK_CONNECTOR" else "REJECTED")
    except TimeoutError:
        result = "TIMEOUT"
    except Exception:  # noqa: BLE001 - the eMSP still gets an answer
        log.exception("ocpi: %s failed in the station", command)
        result = "FAILED"
    bridge.outbox.enqueue(peer_id, "POST", url, {"result": result})


def add_routes(app: web.Application, v: str) -> None:
    app.router.add_post(f"{v}/{MODULE}/{{command}}", command_post, name=MODULE)
