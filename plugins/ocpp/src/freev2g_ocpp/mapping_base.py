"""Shared parts of turning session events (core/model/events.py) into OCPP messages."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Callable

from freev2g.model.enums import StopCause
from freev2g.model.events import AuthorizationRequested, MeterSample, SessionEvent

from .authorize import ocpp_token_type
from .config import OcppConfig
from .outbox import Outbox

log = logging.getLogger(__name__)


def iso(ts: datetime) -> str:
    """RFC 3339 UTC with milliseconds and a Z, as OCPP examples write date-times."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


# OCPP 2.0.1 ReasonEnumType for TransactionEvent(Ended).stoppedReason.
STOPPED_REASON_201: dict[StopCause, str] = {
    StopCause.EV_STOP: "StoppedByEV",
    StopCause.EVSE_STOP: "Local",
    StopCause.REMOTE_STOP: "Remote",
    StopCause.LOCAL_STOP: "Local",
    StopCause.EV_UNPLUGGED: "EVDisconnected",
    StopCause.CP_FAULT: "Other",
    StopCause.LINK_TIMEOUT: "Timeout",
    StopCause.LINK_LOST: "Other",
    StopCause.SEQUENCE_ERROR: "Other",
    StopCause.IMD_FAULT: "GroundFault",
    StopCause.OVER_VOLTAGE: "PowerQuality",
    StopCause.OVER_CURRENT: "OvercurrentFault",
    StopCause.POWER_SUPPLY_FAULT: "Other",
    StopCause.CONNECTOR_LOCK_FAULT: "Other",
    StopCause.CABLE_CHECK_FAILED: "GroundFault",
    StopCause.PRECHARGE_FAILED: "Other",
    StopCause.AUTHORIZATION_REJECTED: "DeAuthorized",
    StopCause.AUTHORIZATION_TIMEOUT: "Timeout",
    StopCause.EV_FAULT: "StoppedByEV",
    StopCause.SOC_REACHED: "SOCLimitReached",
    StopCause.PROCESS_SHUTDOWN: "Reboot",
    StopCause.WELDING_DETECTED: "Other",
    StopCause.OTHER: "Other",
}

# OCPP 2.0.1 TriggerReasonEnumType for the Ended event.
END_TRIGGER_201: dict[StopCause, str] = {
    StopCause.REMOTE_STOP: "RemoteStop",
    StopCause.EV_UNPLUGGED: "EVDeparted",
    StopCause.LOCAL_STOP: "StopAuthorized",
    StopCause.EVSE_STOP: "StopAuthorized",
    StopCause.LINK_LOST: "EVCommunicationLost",
    StopCause.LINK_TIMEOUT: "EVCommunicationLost",
    StopCause.AUTHORIZATION_REJECTED: "Deauthorized",
    StopCause.AUTHORIZATION_TIMEOUT: "Deauthorized",
    StopCause.EV_STOP: "ChargingStateChanged",
    StopCause.SOC_REACHED: "EnergyLimitReached",
    StopCause.PROCESS_SHUTDOWN: "ResetCommand",
}

# OCPP 1.6 Reason for StopTransaction.
STOP_REASON_16: dict[StopCause, str] = {
    StopCause.REMOTE_STOP: "Remote",
    StopCause.LOCAL_STOP: "Local",
    StopCause.EVSE_STOP: "Local",
    StopCause.EV_STOP: "Local",
    StopCause.EV_UNPLUGGED: "EVDisconnected",
    StopCause.AUTHORIZATION_REJECTED: "DeAuthorized",
    StopCause.PROCESS_SHUTDOWN: "Reboot",
}


class EventMapperBase:
    """Receives every SessionEvent (synchronously, from the station's event bus) and commits
    the resulting OCPP messages to the outbox. Never raises into the station."""

    version = "?"

    def __init__(self, cfg: OcppConfig, outbox: Outbox, *, online: Callable[[], bool],
                 nominal_voltage_V: Callable[[int], float], connector_id: Callable[[int], int]):
        self.cfg = cfg
        self.outbox = outbox
        self.online = online
        self.nominal_voltage_V = nominal_voltage_V
        self.connector_id = connector_id
        self.vendor_id = cfg.vendor_id
        self._last_meter: dict[str, MeterSample] = {}
        self._last_meter_sent: dict[str, datetime] = {}
        self.pending_remote_start: dict[int, int] = {}  # evse_index -> remoteStartId (2.0.1)
        self.pending_id_token: dict[int, str] = {}  # evse_index -> idToken of a remote start
        self.token_types: dict[str, str] = {}  # idToken -> IdTokenEnumType it was presented / started with
        self.stop_reason: dict[int, str] = {}  # evse_index -> stop reason of the next end (a Reset sets it)
        self.unavailable: set[int] = set()  # EVSEs set Inoperative (the uplink shares its set)
        self.meter_interval_s = float(cfg.meter_interval_s)
        self.station_vendor = "freev2g"
        self.station_model = "freev2g"

    def handle(self, event: SessionEvent) -> None:
        method = getattr(self, "on_" + event.kind, None)
        if method is None:
            return
        try:
            method(event)
        except Exception:  # noqa: BLE001 - the station's event bus must not see our bugs
            log.exception("OCPP %s: could not map %s of session %s", self.version, event.kind, event.session_id)

    def enqueue(self, action: str, payload: dict[str, Any], ts: datetime, *, session_id: str | None = None,
                durable: bool = True) -> int:
        return self.outbox.enqueue(action, payload, created_at=iso(ts), session_id=session_id, durable=durable)

    def on_AuthorizationRequested(self, event: AuthorizationRequested) -> None:
        if event.id_token:
            if len(self.token_types) > 256:  # tokens of long-gone sessions
                self.token_types.clear()
            self.token_types[event.id_token] = ocpp_token_type(event.token_type)

    def periodic_due(self, event: MeterSample) -> bool:
        self._last_meter[event.session_id] = event
        last = self._last_meter_sent.get(event.session_id)
        if last is not None and (event.timestamp - last).total_seconds() < self.meter_interval_s:
            return False
        self._last_meter_sent[event.session_id] = event.timestamp
        return True

    def last_meter(self, session_id: str) -> MeterSample | None:
        return self._last_meter.get(session_id)

    def idle_status(self, evse_index: int, status: str) -> str:
        """An Inoperative EVSE reports Unavailable where it would report Available."""
        return "Unavailable" if status == "Available" and evse_index in self.unavailable else status

    def forget(self, session_id: str) -> None:
        self._last_meter.pop(session_id, None)
        self._last_meter_sent.pop(session_id, None)
