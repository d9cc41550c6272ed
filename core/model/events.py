"""Session events: what the EvseManager tells uplinks (OCPP, OCPI), the journal and the CLI.

Fanned out through the `freev2g_session_event` hook and the station's event bus. Every event
carries the freev2g session id (a UUID string, EvseManager `session_id_type`), a UTC timestamp
and the EVSE index. The ISO 15118 session id (8 bytes hex) travels in SessionStarted.
"""
from __future__ import annotations

from datetime import datetime, timezone

from attrs import field, frozen

from .enums import ChargeProgress, EnergyTransferMode, PaymentOption, Protocol, StopCause
from .params import (
    ACEVChargeParameter,
    ACEVSEChargeParameter,
    BPTEVParameter,
    DCEVChargeParameter,
    DCEVSEChargeParameter,
)
from .schedule import SAScheduleList


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@frozen(kw_only=True)
class SessionEvent:
    session_id: str
    timestamp: datetime = field(factory=utcnow)
    evse_index: int = 1

    @property
    def kind(self) -> str:
        return type(self).__name__


@frozen(kw_only=True)
class PluggedIn(SessionEvent):
    """CP left state A: a session record opens."""


@frozen(kw_only=True)
class SessionStarted(SessionEvent):
    """HLC SessionSetup done (or basic charging began). `iso_session_id` is 16 hex digits."""

    protocol: Protocol | None = None  # None for basic (PWM-only) charging
    iso_session_id: str | None = None
    ev_id: str | None = None  # EVCCID / MAC


@frozen(kw_only=True)
class AuthorizationRequested(SessionEvent):
    """The EvseManager waits for an authorization decision that no policy hook gave.

    Uplinks may check the token with their backend (OCPP Authorize) and answer with
    `station.remote_start(evse_index, id_token)` or `station.reject_authorization(...)`.
    `id_token` is what identified the user: an RFID/app token presented with
    `station.present_id_token`, the eMAID (PnC, `method` Contract) or the EVCCID (autocharge).
    """

    method: PaymentOption = PaymentOption.EXTERNAL_PAYMENT
    id_token: str | None = None
    token_type: str | None = None  # "ISO14443" | "eMAID" | "MacAddress" | "Central" | ...


@frozen(kw_only=True)
class Authorized(SessionEvent):
    method: PaymentOption = PaymentOption.EXTERNAL_PAYMENT
    id_token: str | None = None
    accepted: bool = True
    reason: str = ""


@frozen(kw_only=True)
class EVNeedsReceived(SessionEvent):
    """ChargeParameterDiscoveryReq values, including SCALE data (params.scale) and BPT."""

    mode: EnergyTransferMode
    ac: ACEVChargeParameter | None = None
    dc: DCEVChargeParameter | None = None
    bpt: BPTEVParameter | None = None
    max_entries: int | None = None
    renegotiation: bool = False


@frozen(kw_only=True)
class EVSELimitsOffered(SessionEvent):
    ac: ACEVSEChargeParameter | None = None
    dc: DCEVSEChargeParameter | None = None


@frozen(kw_only=True)
class ScheduleOffered(SessionEvent):
    schedules: SAScheduleList
    reason: str = "initial"  # "initial" | "renegotiation"


@frozen(kw_only=True)
class StateChanged(SessionEvent):
    """EvseManager state machine transition with its cause."""

    previous: str
    state: str
    cause: str = ""


@frozen(kw_only=True)
class PowerDelivery(SessionEvent):
    progress: ChargeProgress
    tuple_id: int | None = None


@frozen(kw_only=True)
class MeterSample(SessionEvent):
    """Periodic meter values. Energies are register values (monotonic) in Wh."""

    energy_import_Wh: float
    energy_export_Wh: float = 0.0
    power_W: float = 0.0  # positive import (charging), negative export
    voltage_V: float | None = None
    current_A: float | None = None
    soc_pct: float | None = None
    evse_present_active_power_W: float | None = None  # SCALE, AC_ChargeLoopRes


@frozen(kw_only=True)
class ChargingPaused(SessionEvent):
    by: str = "ev"  # "ev" | "evse"


@frozen(kw_only=True)
class ChargingResumed(SessionEvent):
    by: str = "ev"


@frozen(kw_only=True)
class FaultRaised(SessionEvent):
    cause: StopCause
    detail: str = ""


@frozen(kw_only=True)
class SessionFinished(SessionEvent):
    """Power is off and the session record is closed. Emitted exactly once per session."""

    cause: StopCause
    detail: str = ""
    energy_import_Wh: float = 0.0
    energy_export_Wh: float = 0.0
    start_soc_pct: float | None = None
    end_soc_pct: float | None = None
    # True when the meter failed during the session: the energies are the last good register
    # minus the first (issue #10 item 11), so less than what may really have flowed.
    energy_incomplete: bool = False


@frozen(kw_only=True)
class Unplugged(SessionEvent):
    """CP back to A."""
