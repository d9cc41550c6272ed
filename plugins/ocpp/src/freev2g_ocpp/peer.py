"""The station's OCPP-J RPC endpoint on top of the `ocpp` library (uplinks.md 1.2, 1.5).

We keep the library's receive loop, message classes, schema validation and error mapping, and
replace its routing: handlers take and return camelCase payload dicts (so nested customData
and `_L2`/`_L3` keys pass untouched, uplinks.md 1.3 and 1.5 bug 1), every CALL gets an answer
in every version (1.5 bug 2: the library's 2.1 peer stays silent on unknown actions), and a
malformed frame still gets a CALLERROR (OCPP-J RPC framework: messageId "-1" when it cannot
be read).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any, Awaitable, Callable, Mapping

import ocpp
from ocpp.charge_point import ChargePoint
from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    NotImplementedError as OcppNotImplemented,
    NotSupportedError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
)
from ocpp.messages import Call, CallError, MessageType, unpack, validate_payload

from .jsonlimits import MAX_JSON_DEPTH, frame_problem, message_id_prefix

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
# A handler may return (response, after) where `after` runs once the CALLRESULT is on the wire.
After = Callable[[], Any]

_SCHEMA_DIRS = {"1.6": "v16", "2.0.1": "v201", "2.1": "v21"}


class CallErrorReceived(Exception):
    """The CSMS answered a CALL with a CALLERROR (a final answer: do not resend)."""

    def __init__(self, action: str, code: str, description: str, details: Any):
        self.action, self.code, self.description, self.details = action, code, description, details
        super().__init__(f"{action}: CALLERROR {code} {description!r} {details!r}")


def action_exists(version: str, action: str) -> bool:
    """True when the OCPP version defines `action` (its request schema ships with the library)."""
    suffix = "" if version == "1.6" else "Request"
    base = os.path.join(os.path.dirname(ocpp.__file__), _SCHEMA_DIRS[version], "schemas")
    return os.path.isfile(os.path.join(base, f"{action}{suffix}.json"))


class StationPeer(ChargePoint):
    """One CSMS connection. `handlers` maps action names to coroutine functions."""

    def __init__(self, station_id: str, connection, version: str, handlers: Mapping[str, Handler],
                 *, response_timeout_s: float = 30.0, on_answer: Callable[[Any], None] | None = None):
        self._ocpp_version = version
        super().__init__(station_id, connection, response_timeout=response_timeout_s, logger=log)
        self.handlers = dict(handlers)
        self._followups: set[asyncio.Task] = set()  # coroutine follow-ups still running
        self.route_map = {}
        # Called with every CALLRESULT / CALLERROR frame as soon as it is read, before the
        # waiting call() resumes: the outbox records the answer even if that call is cancelled.
        self.on_answer = on_answer

    # -- incoming ---------------------------------------------------------------------------

    async def route_message(self, raw_msg):
        cause = frame_problem(raw_msg, MAX_JSON_DEPTH)
        if cause is not None:
            log.warning("%s: malformed frame from CSMS (%s)", self.id, cause)
            await self._send(CallError(message_id_prefix(raw_msg) or "-1", self._format_code(), cause, {"cause": cause}).to_json())
            return
        try:
            msg = unpack(raw_msg)
        except OCPPError as exc:
            log.warning("%s: malformed frame from CSMS (%s): %.200r", self.id, exc, raw_msg)
            code = self._format_code() if exc.code == FormatViolationError.code else exc.code
            await self._send(CallError(_message_id_of(raw_msg), code, exc.description, exc.details).to_json())
            return
        except (RecursionError, ValueError, TypeError) as exc:  # never let a frame end the connection
            log.warning("%s: undecodable frame from CSMS (%r)", self.id, exc)
            await self._send(CallError(message_id_prefix(raw_msg) or "-1", self._format_code(),
                                       "frame could not be decoded", {"cause": repr(exc)[:200]}).to_json())
            return
        if msg.message_type_id == MessageType.Call:
            if not isinstance(msg.action, str) or not isinstance(msg.payload, dict):
                err = FormatViolationError(details={"cause": "action must be a string and payload an object"})
                await self._send(msg.create_call_error(err).to_json())
                return
            await self._answer(msg)
        elif msg.message_type_id in (MessageType.CallResult, MessageType.CallError):
            if self.on_answer is not None:
                try:
                    self.on_answer(msg)
                except Exception:  # noqa: BLE001 - the answer still reaches its caller
                    log.exception("%s: recording the answer %s failed", self.id, msg.unique_id)
            self._response_queue.put_nowait(msg)

    def _format_code(self) -> str:
        """The version's name for a malformed frame (1.6J: FormationViolation)."""
        return FormationViolationError.code if self._ocpp_version == "1.6" else FormatViolationError.code

    async def _answer(self, msg: Call) -> None:
        after: After | None = None
        try:
            handler = self.handlers.get(msg.action)
            if handler is None:
                if action_exists(self._ocpp_version, msg.action):
                    raise OcppNotImplemented(details={"cause": f"{msg.action} is not implemented by this station"})
                raise NotSupportedError(details={"cause": f"{msg.action} is not an OCPP {self._ocpp_version} action"})
            try:
                await validate_payload(msg, self._ocpp_version)
            except (ArithmeticError, TypeError, RecursionError) as exc:
                # The library's validator fails on some numbers (1e30 against multipleOf 0.1 in
                # 1.6: decimal.DivisionImpossible); that is the CSMS's value, not our bug.
                raise PropertyConstraintViolationError(
                    details={"cause": f"a number in the payload cannot be checked against the schema: {exc!r}"[:300]}
                ) from None
            result = await handler(msg.payload)
            if isinstance(result, tuple):
                result, after = result
            response = msg.create_call_result(result)
            await validate_payload(response, self._ocpp_version)
        except OCPPError as exc:
            log.warning("%s: %s rejected with %s: %s", self.id, msg.action, exc.code, exc.details)
            await self._send(msg.create_call_error(exc).to_json())
            return
        except Exception as exc:  # noqa: BLE001 - a handler bug must not end the connection
            log.exception("%s: handler for %s failed", self.id, msg.action)
            err = msg.create_call_error(exc)
            err.error_details = {"cause": f"{type(exc).__name__}: {exc}"[:500]}
            await self._send(err.to_json())
            return
        await self._send(response.to_json())
        if after is not None:
            try:
                res = after()
            except Exception:  # noqa: BLE001
                log.exception("%s: follow-up of %s failed", self.id, msg.action)
                return
            if asyncio.iscoroutine(res):
                # its own task: a follow-up that waits (a Reset waits for the transactions to end
                # and the queue to drain) must not stop this loop from reading the answers it waits for
                task = asyncio.ensure_future(res)
                self._followups.add(task)
                task.add_done_callback(lambda t, action=msg.action: self._followup_done(t, action))

    def _followup_done(self, task: asyncio.Task, action: str) -> None:
        self._followups.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: follow-up of %s failed", self.id, action, exc_info=task.exception())

    # -- outgoing ---------------------------------------------------------------------------

    async def call_raw(self, action: str, payload: dict[str, Any], *, unique_id: str | None = None) -> dict[str, Any]:
        """Send one CALL (camelCase payload); return the CALLRESULT payload.

        Raises CallErrorReceived on a CALLERROR, OCPPError when our own payload fails the
        schema (a bug: the message is never sent), asyncio.TimeoutError without an answer,
        and the connection's exception when it closes.
        """
        call = Call(unique_id or str(self._unique_id_generator()), action, payload)
        await validate_payload(call, self._ocpp_version)
        async with self._call_lock:
            await self._send(call.to_json())
            response = await self._get_specific_response(call.unique_id, self._response_timeout)
        if response.message_type_id == MessageType.CallError:
            raise CallErrorReceived(action, response.error_code, response.error_description, response.error_details)
        response.action = action
        try:
            await validate_payload(response, self._ocpp_version)
        except OCPPError as exc:
            raise CallErrorReceived(action, exc.code, "invalid CALLRESULT from CSMS", exc.details) from exc
        return json.loads(json.dumps(response.payload, default=float))


def _message_id_of(raw: Any) -> str:
    """The messageId of a frame we could not unpack, or "-1" (OCPP-J: id unknown)."""
    try:
        doc = json.loads(raw)
        if isinstance(doc, list) and len(doc) > 1 and isinstance(doc[1], str):
            return doc[1]
    except (TypeError, ValueError, RecursionError):
        pass
    return "-1"


__all__ = ["CallErrorReceived", "StationPeer", "ProtocolError", "action_exists"]
