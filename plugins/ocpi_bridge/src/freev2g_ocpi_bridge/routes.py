"""CPO module endpoints: sessions (+ charging_preferences), chargingprofiles (receiver), cdrs.

mod_sessions / mod_cdrs: paginated GET with date_from (inclusive), date_to (exclusive), offset,
limit; headers Link (rel="next"), X-Total-Count, X-Limit (uplinks.md 2.1, 2.3, 2.5).
PUT sessions/{id}/charging_preferences answers a ChargingPreferencesResponse string, or HTTP
404 with 2001 where the EVSE lacks CHARGING_PREFERENCES_CAPABLE (uplinks.md 2.3).
mod_charging_profiles: GET / PUT / DELETE answer a ChargingProfileResponse at once; the result
is POSTed to `response_url` through the outbox (uplinks.md 2.4).
"""
from __future__ import annotations

from aiohttp import web

from .context import BRIDGE, MAX_ID_LEN, PEER, paginated, parse_body, query_int, read_json, reply, response_url
from .convert import dump
from .envelope import OcpiError, StatusCode, invalid
from .models import (
    ActiveChargingProfileResult,
    ChargingPreferences,
    ChargingPreferencesResponse,
    ChargingProfileResponse,
    ChargingProfileResponseType,
    ChargingProfileResult,
    ChargingProfileResultType,
    SetChargingProfile,
)
from .smart import evaluate_preferences, to_active_profile, to_core_preferences, to_limit_profile


def _session_id(request: web.Request) -> str:
    sid = request.match_info["session_id"]
    if not 1 <= len(sid) <= MAX_ID_LEN:
        raise OcpiError(404, StatusCode.INVALID_OR_MISSING_PARAMETERS, f"unknown session {sid[:40]!r}")
    return sid


async def sessions_list(request: web.Request) -> web.Response:
    return await paginated(request, "sessions")


async def cdrs_list(request: web.Request) -> web.Response:
    return await paginated(request, "cdrs")


async def charging_preferences(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    sid = _session_id(request)
    if bridge.store.get_record("sessions", sid) is None:
        raise OcpiError(404, StatusCode.INVALID_OR_MISSING_PARAMETERS, f"unknown session {sid!r}")
    if "CHARGING_PREFERENCES_CAPABLE" not in bridge.config.capabilities:
        raise OcpiError(404, StatusCode.INVALID_OR_MISSING_PARAMETERS, "this EVSE is not CHARGING_PREFERENCES_CAPABLE")
    prefs: ChargingPreferences = parse_body(await read_json(request), ChargingPreferences)
    live = bridge.tracker.live(sid)
    if live is None:
        raise invalid(f"session {sid!r} is no longer active")
    evse = next((e for e in bridge.station.evses() if e.index == live.evse_index), None)
    if evse is None:
        raise OcpiError(404, StatusCode.INVALID_OR_MISSING_PARAMETERS, f"EVSE {live.evse_index} of session {sid!r} is unknown")
    result = evaluate_preferences(
        prefs, now=bridge.now(), max_power_W=evse.max_power_W, supported_types=bridge.config.profile_types
    )
    if result is ChargingPreferencesResponse.ACCEPTED:
        core = to_core_preferences(sid, prefs)
        try:
            bridge.station.schedules.set_preferences(live.evse_index, core)
        except ValueError as exc:
            raise invalid(f"charging preferences not usable: {exc}") from None
        bridge.store.put_record("preferences", sid, dump(prefs), bridge.now())
    return reply(result.value)


# --- chargingprofiles (receiver) -----------------------------------------------------------


def _profile_response(result: ChargingProfileResponseType, timeout: int = 0) -> web.Response:
    return reply(dump(ChargingProfileResponse(result=result, timeout=timeout)))


def _profile_target(request: web.Request):
    """(live session, None) or (None, the immediate non-ACCEPTED answer)."""
    bridge = request.app[BRIDGE]
    sid = _session_id(request)
    if "CHARGING_PROFILE_CAPABLE" not in bridge.config.capabilities:
        return None, _profile_response(ChargingProfileResponseType.NOT_SUPPORTED)
    live = bridge.tracker.live(sid)
    if live is None:
        return None, _profile_response(ChargingProfileResponseType.UNKNOWN_SESSION)
    return live, None


async def profile_put(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    body = await read_json(request)
    live, early = _profile_target(request)
    request_obj: SetChargingProfile = parse_body(body, SetChargingProfile)
    url = response_url(request_obj.response_url, "SetChargingProfile")
    if early is not None:
        return early
    limit_profile = to_limit_profile(
        request_obj.charging_profile,
        session_id=live.session_id,
        evse_index=live.evse_index,
        stack_level=bridge.config.profile_stack_level,
    )
    try:
        bridge.station.schedules.set_profile(limit_profile)
        result = ChargingProfileResultType.ACCEPTED
        bridge.store.put_record("profiles", live.session_id, dump(request_obj.charging_profile), bridge.now())
    except ValueError:
        result = ChargingProfileResultType.REJECTED
    bridge.outbox.enqueue(request[PEER].id, "POST", url, dump(ChargingProfileResult(result=result)))
    return _profile_response(ChargingProfileResponseType.ACCEPTED, bridge.config.profile_result_timeout_s)


async def profile_get(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    duration = query_int(request, "duration", None, 1, 7 * 86_400)
    if duration is None:
        raise invalid("query parameter duration is required (seconds)")
    url = response_url(request.query.get("response_url"), "GET chargingprofiles")
    live, early = _profile_target(request)
    if early is not None:
        return early
    evse = next((e for e in bridge.station.evses() if e.index == live.evse_index), None)
    try:
        composite = bridge.station.schedules.composite(
            live.evse_index,
            bridge.now(),
            duration,
            evse_max_W=None if evse is None else evse.max_power_W,
            nominal_voltage_V=230.0 if evse is None else evse.nominal_voltage_V,
            phases=3 if evse is None else evse.phases,
        )
        result = ActiveChargingProfileResult(result=ChargingProfileResultType.ACCEPTED, profile=to_active_profile(composite))
    except ValueError:
        result = ActiveChargingProfileResult(result=ChargingProfileResultType.UNKNOWN)
    bridge.outbox.enqueue(request[PEER].id, "POST", url, dump(result))
    return _profile_response(ChargingProfileResponseType.ACCEPTED, bridge.config.profile_result_timeout_s)


async def profile_delete(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    url = response_url(request.query.get("response_url"), "DELETE chargingprofiles")
    live, early = _profile_target(request)
    if early is not None:
        return early
    bridge.station.schedules.clear_profiles(source="ocpi", evse_index=live.evse_index)
    bridge.store.delete_record("profiles", live.session_id)
    bridge.outbox.enqueue(request[PEER].id, "POST", url, dump(ChargingProfileResult(result=ChargingProfileResultType.ACCEPTED)))
    return _profile_response(ChargingProfileResponseType.ACCEPTED, bridge.config.profile_result_timeout_s)


def add_routes(app: web.Application, v: str) -> None:
    app.router.add_get(f"{v}/sessions", sessions_list, name="sessions", allow_head=False)
    app.router.add_put(f"{v}/sessions/{{session_id}}/charging_preferences", charging_preferences, name="charging_preferences")
    app.router.add_get(f"{v}/cdrs", cdrs_list, name="cdrs", allow_head=False)
    res = app.router.add_resource(f"{v}/chargingprofiles/{{session_id}}", name="chargingprofiles")
    res.add_route("GET", profile_get)
    res.add_route("PUT", profile_put)
    res.add_route("DELETE", profile_delete)
