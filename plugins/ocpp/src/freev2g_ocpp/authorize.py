"""Authorization through the CSMS: the EvseManager's AuthorizationRequested becomes an
Authorize request (OCPP 2.0.1 C01 / C03 / C07, 1.6 section 4.1), the answer goes back to the
station (`remote_start` on Accepted, `reject_authorization` otherwise).

2.0.1 / 2.1 send `idToken {idToken, type}` with the EvseManager's token type (ISO14443 for an
RFID card, eMAID for Plug & Charge, MacAddress for autocharge; anything outside
IdTokenEnumType goes as Local); 1.6 sends `idTag` (at most 20 characters, CiString20Type).
Without a connection the check waits up to `authorize_timeout_s` for one; then
`offline_authorization` decides ("reject", the default, as OCPP's OfflineTxForUnknownIdEnabled
= false, or "accept").
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from freev2g.model.events import AuthorizationRequested
from ocpp.exceptions import OCPPError

from .peer import CallErrorReceived

log = logging.getLogger(__name__)

ID_TOKEN_TYPES = frozenset({"Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress",
                            "NoAuthorization"})  # 2.0.1 IdTokenEnumType (2.1 keeps these)


def ocpp_token_type(token_type: str | None) -> str:
    return token_type if token_type in ID_TOKEN_TYPES else ("ISO14443" if token_type is None else "Local")


def authorize_payload(version: str, id_token: str, token_type: str | None) -> dict[str, Any]:
    if version == "1.6":
        return {"idTag": id_token[:20]}
    return {"idToken": {"idToken": id_token[:36], "type": ocpp_token_type(token_type)}}


def authorize_status(result: dict[str, Any]) -> str:
    info = result.get("idTagInfo") or result.get("idTokenInfo") or {}
    return str(info.get("status") or "Invalid")


class CsmsAuthorization:
    """Answers the station's AuthorizationRequested events with the CSMS's verdict."""

    def __init__(self, uplink: Any):
        self.u = uplink
        self._tasks: set[asyncio.Task] = set()
        self.results: list[tuple[str, str, str]] = []  # (session id, token, status): `ocpp status`, tests

    def on_requested(self, event: AuthorizationRequested) -> None:
        if not event.id_token:
            log.info("OCPP: EVSE %d waits for authorization without a token; waiting for a remote start",
                     event.evse_index)
            return
        task = asyncio.get_running_loop().create_task(self.check(event), name=f"ocpp-authorize-{event.evse_index}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check(self, event: AuthorizationRequested) -> str:
        """Authorize the token with the CSMS and tell the station. Returns the status used."""
        token = event.id_token or ""
        status = await self.ask(token, event.token_type)
        self.results.append((event.session_id, token, status))
        snap = self.u.station.session(event.evse_index)
        if snap is None or snap.session_id != event.session_id:
            log.info("OCPP: Authorize %s for a session that is gone; ignored", status)
            return status
        if status == "Accepted":
            if not await self.u.station.remote_start(event.evse_index, token):
                log.warning("OCPP: EVSE %d refused the start after Authorize Accepted", event.evse_index)
        else:
            await self.u.station.reject_authorization(event.evse_index, f"CSMS: {status}")
        return status

    async def ask(self, token: str, token_type: str | None) -> str:
        cfg = self.u.cfg
        clock = self.u.station.clock
        try:
            if not self.u.connected:
                await clock.wait_for(self.u.wait_state(lambda s: s == "connected"), cfg.authorize_timeout_s)
            peer = self.u.peer
            if peer is None:
                raise ConnectionError("no CSMS connection")
            result = await peer.call_raw("Authorize", authorize_payload(self.u.version, token, token_type))
        except CallErrorReceived as exc:
            log.warning("OCPP: Authorize refused with a CALLERROR: %s", exc)
            return "Invalid"
        except OCPPError as exc:
            log.error("OCPP: Authorize for %r does not validate: %s", token, exc)
            return "Invalid"
        except (asyncio.TimeoutError, ConnectionError, OSError) as exc:
            status = "Accepted" if cfg.offline_authorization == "accept" else "Invalid"
            log.warning("OCPP: no CSMS answer to Authorize (%s: %s); offline_authorization -> %s",
                        type(exc).__name__, exc, status)
            return status
        except Exception as exc:  # noqa: BLE001 - websockets' ConnectionClosed and friends
            status = "Accepted" if cfg.offline_authorization == "accept" else "Invalid"
            log.warning("OCPP: Authorize failed (%s: %s); offline_authorization -> %s", type(exc).__name__, exc, status)
            return status
        return authorize_status(result)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
