"""The gate in front of the link handler: requests outside a session are refused (issue #10, 8).

A request that arrives when there is no open session (none yet, finished after SessionStop or
a stop, or the EV unplugged) never reaches the state machine: it cannot change the EVSE state,
cannot add to the finished session's journal record, and cannot keep the next plug-in from
opening a session. It gets a FAILED answer of its own type (SHUTDOWN / StopCharging where the
message has them) with the measured voltage, and anything that might still be energised is
switched off. While the EV of a finished session is still plugged in, the requests whose
handlers already answer a finished session (with the stop's reason) reach them. A SessionSetup opens a session only while an EV is plugged in and the EVSE is
available. SLAC notifications and SessionEnded always pass (their handlers cope with no session).
"""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from ..link import (
    ACChargeLoopAnswer,
    ACChargeLoopRequest,
    AuthorizationAnswer,
    AuthorizationRequest,
    CableCheckAnswer,
    CableCheckRequest,
    ChargeParameterAnswer,
    ChargeParameterRequest,
    DCChargeLoopAnswer,
    DCChargeLoopRequest,
    LinkEvent,
    LinkUp,
    MatchingFailed,
    MatchingStarted,
    PowerDeliveryAnswer,
    PowerDeliveryRequest,
    PreChargeAnswer,
    PreChargeRequest,
    SessionEnded,
    SessionSetup,
    WeldingDetectionAnswer,
    WeldingDetectionRequest,
)
from ..model.enums import CPState, EVSENotification, EVSEProcessing, EVSEStatusCode, ResponseCode

if TYPE_CHECKING:  # pragma: no cover
    from .manager import EvseManager

log = logging.getLogger(__name__)

ALWAYS_PASS = (MatchingStarted, LinkUp, MatchingFailed, SessionEnded)
# Their handlers answer a finished (still plugged) session themselves, naming the stop (e.g.
# isolation FAULT after an IMD fault), and change nothing: let them.
ANSWERED_WHEN_FINISHED = (AuthorizationRequest, ChargeParameterRequest, CableCheckRequest, PreChargeRequest,
                          PowerDeliveryRequest, DCChargeLoopRequest)
FAILED = ResponseCode.FAILED
SHUTDOWN = EVSEStatusCode.SHUTDOWN


class SessionGate:
    def __init__(self, manager: "EvseManager"):
        self.m = manager
        self.refused = 0  # requests refused so far (for tests and diagnostics)

    def outside_session(self, event: LinkEvent) -> str | None:
        """Why `event` is outside a session, or None when it may reach the state machine."""
        m = self.m
        if isinstance(event, ALWAYS_PASS):
            return None
        if m.cp is CPState.A:
            return "no EV plugged in"
        if isinstance(event, SessionSetup):
            if not m.available or m._shutting_down:
                return "EVSE unavailable"
            return None
        s = m.session
        if s is None:
            return "no session"
        if s.finished and not isinstance(event, ANSWERED_WHEN_FINISHED):
            return "session already finished"
        return None

    async def handle(self, event: LinkEvent) -> Any:
        """The EvseLinkHandler given to the link: the gate, then HlcHandler.handle."""
        reason = self.outside_session(event)
        if reason is None:
            return await self.m.hlc.handle(event)
        self.refused += 1
        log.warning("evse %s: %s refused: %s (state %s)", self.m.evse_index, type(event).__name__, reason,
                    self.m.state.value)
        if self.m.energy_on:
            await self.m.power_off()  # nothing may stay energised outside a session
        return self.refusal(event)

    def _voltage_V(self, cable_side: bool = False) -> float:
        m = self.m
        if cable_side:
            try:
                v = m.dc.cable_voltage_V()
            except Exception:  # noqa: BLE001 - fall back to the supply side
                v = None
            if v is not None:
                return m.dc.limits(raw=True).max_voltage_V if v == math.inf else round(v, 1)
        if m.psu is None:
            return 0.0
        try:
            return round(m.psu.read().voltage_V, 1)
        except Exception:  # noqa: BLE001 - an unreadable supply is reported at its maximum, never as safe
            return m.dc.limits(raw=True).max_voltage_V

    def _current_A(self) -> float:
        try:
            return round(self.m.psu.read().current_A, 1) if self.m.psu is not None else 0.0
        except Exception:  # noqa: BLE001
            return 0.0

    def refusal(self, event: LinkEvent) -> Any:
        if isinstance(event, AuthorizationRequest):
            return AuthorizationAnswer(processing=EVSEProcessing.FINISHED, accepted=False)
        if isinstance(event, ChargeParameterRequest):
            return ChargeParameterAnswer(response_code=FAILED)
        if isinstance(event, CableCheckRequest):
            return CableCheckAnswer(processing=EVSEProcessing.FINISHED, status_code=SHUTDOWN, response_code=FAILED)
        if isinstance(event, PreChargeRequest):
            return PreChargeAnswer(present_voltage_V=self._voltage_V(), status_code=SHUTDOWN, response_code=FAILED)
        if isinstance(event, PowerDeliveryRequest):
            return PowerDeliveryAnswer(response_code=FAILED, status_code=SHUTDOWN)
        if isinstance(event, DCChargeLoopRequest):
            return DCChargeLoopAnswer(present_voltage_V=self._voltage_V(), present_current_A=self._current_A(),
                                      status_code=SHUTDOWN,
                                      notification=EVSENotification.STOP_CHARGING, response_code=FAILED)
        if isinstance(event, ACChargeLoopRequest):
            return ACChargeLoopAnswer(evse_max_current_A=0.0, notification=EVSENotification.STOP_CHARGING,
                                      response_code=FAILED)
        if isinstance(event, WeldingDetectionRequest):
            return WeldingDetectionAnswer(present_voltage_V=self._voltage_V(cable_side=True), response_code=FAILED)
        return None  # notifications (SessionSetup, PaymentSelected, SessionStop): nothing to answer
