"""EV role of the link seam (see link.py): the events the link hands to the EvController
(core/ev), the values it expects back, and the EvLink Protocol a link provider implements.
Field units are in the names. Section numbers refer to shared/spec/charging-domain.md.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, ClassVar, Protocol as TypingProtocol, runtime_checkable

from attrs import field, frozen

from .link_base import LinkEvent
from .link_evse import ACChargeLoopAnswer, DCChargeLoopAnswer
from .model.enums import (
    ControlMode,
    EnergyTransferMode,
    EVSEProcessing,
    IsolationLevel,
    PaymentOption,
    Protocol,
    ResponseCode,
    StopCause,
)
from .model.params import (
    ACEVChargeParameter,
    ACEVSEChargeParameter,
    BPTEVParameter,
    DCEVChargeParameter,
    DCEVSEChargeParameter,
    DCEVStatus,
    EVSEOffer,
)
from .model.schedule import ChargingProfileEntry, SAScheduleList


@frozen(kw_only=True)
class EvSessionRequest:
    """What the EV asks for when it starts a session (ISO15118_ev start_charging)."""

    protocols: tuple[Protocol, ...] = field(converter=tuple)  # in priority order, 1 = first
    mode: EnergyTransferMode
    payment: PaymentOption = PaymentOption.EXTERNAL_PAYMENT
    ev_mac: str = "00:01:01:63:77:31"
    ac: ACEVChargeParameter | None = None
    dc: DCEVChargeParameter | None = None
    bpt: BPTEVParameter | None = None
    max_entries: int | None = 24
    control_mode: ControlMode = ControlMode.SCHEDULED
    j2847_mode: str | None = None  # "V2H" | "V2G" to select the SAE J2847/2 service


@frozen(kw_only=True)
class EvSessionStarted(LinkEvent):
    protocol: Protocol
    iso_session_id: str
    evse_id: str
    offer: EVSEOffer


@frozen(kw_only=True)
class ScheduleSelection:
    tuple_id: int
    profile: tuple[ChargingProfileEntry, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class EvseParametersReceived(LinkEvent):
    """ChargeParameterDiscoveryRes(Finished): EVSE limits and schedules. Answer: tuple choice."""

    ANSWER: ClassVar[type] = ScheduleSelection
    ac: ACEVSEChargeParameter | None = None
    dc: DCEVSEChargeParameter | None = None
    schedules: SAScheduleList | None = None
    renegotiation: bool = False


@frozen(kw_only=True)
class EvChargeParametersNeeded(LinkEvent):
    """Before (re)sending ChargeParameterDiscoveryReq: the EV's current needs."""

    ANSWER: ClassVar[type] = EvSessionRequest


@frozen(kw_only=True)
class CableCheckReady(LinkEvent):
    """DC: about to start CableCheck. The EV must be in CP state C/D (answer once done)."""


@frozen(kw_only=True)
class CableCheckStatus(LinkEvent):
    processing: EVSEProcessing
    isolation: IsolationLevel


@frozen(kw_only=True)
class PreChargeTargets:
    target_voltage_V: float
    target_current_A: float = 2.0
    ev_status: DCEVStatus = field(factory=DCEVStatus)
    done: bool = False  # inlet within tolerance and EV contactors closed -> PowerDelivery(Start)


@frozen(kw_only=True)
class PreChargeStatus(LinkEvent):
    """Before each PreChargeReq (present_voltage_V None the first time)."""

    ANSWER: ClassVar[type] = PreChargeTargets
    present_voltage_V: float | None = None


@frozen(kw_only=True)
class PowerDeliveryStarted(LinkEvent):
    """PowerDeliveryRes(Start) OK: the EV may draw power (ISO15118_ev dc_power_on / ev_power_ready)."""

    response_code: ResponseCode = ResponseCode.OK


@frozen(kw_only=True)
class EvLoopTargets:
    """The EV's next charge-loop request content."""

    ev_status: DCEVStatus = field(factory=DCEVStatus)
    target_voltage_V: float = 0.0
    target_current_A: float = 0.0
    ev_max_voltage_V: float | None = None
    ev_max_current_A: float | None = None
    ev_max_power_W: float | None = None
    ev_present_active_power_W: float | None = None  # AC
    bulk_charging_complete: bool = False
    charging_complete: bool = False
    stop: bool = False  # -> PowerDelivery(Stop)
    pause: bool = False  # -> PowerDelivery(Stop) + SessionStop(Pause)
    renegotiate: bool = False  # -> PowerDelivery(Renegotiate)


@frozen(kw_only=True)
class EvChargeLoopStatus(LinkEvent):
    """Before each loop request: what the EVSE said last time (None on the first)."""

    ANSWER: ClassVar[type] = EvLoopTargets
    dc: DCChargeLoopAnswer | None = None
    ac: ACChargeLoopAnswer | None = None


@frozen(kw_only=True)
class PowerDeliveryStopped(LinkEvent):
    """PowerDeliveryRes(Stop): the EV goes back to CP state B and opens its contactors."""


@frozen(kw_only=True)
class WeldingDetectionStatus(LinkEvent):
    """WeldingDetectionRes. Answer True when done (voltage below 60 V)."""

    ANSWER: ClassVar[type] = bool
    present_voltage_V: float


@frozen(kw_only=True)
class EvSessionFinished(LinkEvent):
    """The V2G session is over (ISO15118_ev v2g_session_finished), on every path."""

    cause: StopCause
    detail: str = ""
    paused: bool = False


EvLinkHandler = Callable[[LinkEvent], Awaitable[Any]]


@runtime_checkable
class EvLink(TypingProtocol):
    """EV-role link (EVCC side). Provided by `freev2g_register_links` as role "ev"."""

    async def open(self, handler: EvLinkHandler) -> None:
        """Get ready (modem up). Matching starts when the EVSE shows 5 % duty."""

    async def start_session(self, request: EvSessionRequest) -> bool:
        """Run SLAC (if not matched), SDP, SAP and the session; returns False if refused."""

    async def stop_charging(self, *, renegotiate: bool = False, pause: bool = False) -> None:
        """Ask for PowerDelivery(Stop / Renegotiate) at the next loop step."""

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        """Drop the session now (fault); EvSessionFinished follows."""

    async def close(self) -> None:
        """Release resources."""
