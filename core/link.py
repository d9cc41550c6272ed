"""The ISO 15118 link as the application sees it: typed events in, typed answers out.

A link provider (virtual_plc, whitebeet, ...) runs SLAC, SDP, supportedAppProtocol and the
DIN 70121 / ISO 15118-2 / ISO 15118-20 message sequencing. At each point where the standard
needs an application decision or value it awaits `handler(event)`; the event class says which
answer type it expects (`ANSWER`). Events without an answer are notifications (return None).

EVSE role: the application is the EvseManager (core/evse). EV role: the EvController (core/ev).
Field units are in the names. Section numbers refer to shared/spec/charging-domain.md.
The link enforces the protocol timeouts (4.1, 4.2) itself; the application must answer an
event within the SECC performance time (DC charge loop: 25 ms) and never block.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, ClassVar, Protocol as TypingProtocol, runtime_checkable

from attrs import field, frozen

from .model.enums import (
    ChargeProgress,
    ChargingSession,
    ControlMode,
    EnergyTransferMode,
    EVSENotification,
    EVSEProcessing,
    EVSEStatusCode,
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

J2847_V2H_SERVICE_ID = 28472  # charging-domain.md 8 (EVerest/Josev)
J2847_V2G_SERVICE_ID = 28473


class LinkError(Exception):
    """Base of link failures; carries the StopCause the session ends with."""

    cause: StopCause = StopCause.OTHER


class LinkTimeout(LinkError):
    cause = StopCause.LINK_TIMEOUT


class LinkLost(LinkError):
    cause = StopCause.LINK_LOST


class SequenceError(LinkError):
    cause = StopCause.SEQUENCE_ERROR


@frozen(kw_only=True)
class LinkEvent:
    ANSWER: ClassVar[type | None] = None


# ----------------------------------------------------------------------------------------------
# EVSE role: link -> EvseManager
# ----------------------------------------------------------------------------------------------


@frozen(kw_only=True)
class MatchingStarted(LinkEvent):
    """SLAC started (EV sent CM_SLAC_PARM.REQ, or the module reports matching under way)."""


@frozen(kw_only=True)
class LinkUp(LinkEvent):
    """SLAC matched (ISO 15118-3): data link ready. `ev_mac` when known."""

    ev_mac: str | None = None


@frozen(kw_only=True)
class MatchingFailed(LinkEvent):
    reason: str = ""


@frozen(kw_only=True)
class SessionSetup(LinkEvent):
    """SessionSetupReq handled; the protocol was negotiated by supportedAppProtocol."""

    protocol: Protocol
    iso_session_id: str  # 16 hex digits (8 bytes)
    evcc_id: str  # EV MAC (ISO -2: <= 6 bytes hex) or DIN EVCCID
    resumed: bool = False  # OK_OldSessionJoined after a pause


@frozen(kw_only=True)
class PaymentSelected(LinkEvent):
    option: PaymentOption
    selected_service_ids: tuple[int, ...] = (1,)
    emaid: str | None = None


@frozen(kw_only=True)
class AuthorizationAnswer:
    processing: EVSEProcessing = EVSEProcessing.FINISHED
    accepted: bool = True


@frozen(kw_only=True)
class AuthorizationRequest(LinkEvent):
    """AuthorizationReq / ContractAuthenticationReq. Answer Ongoing until decided."""

    ANSWER: ClassVar[type] = AuthorizationAnswer
    option: PaymentOption
    emaid: str | None = None
    evcc_id: str | None = None


@frozen(kw_only=True)
class ChargeParameterAnswer:
    processing: EVSEProcessing = EVSEProcessing.FINISHED
    response_code: ResponseCode = ResponseCode.OK
    ac: ACEVSEChargeParameter | None = None
    dc: DCEVSEChargeParameter | None = None
    schedules: SAScheduleList | None = None  # mandatory when processing is FINISHED
    notification: EVSENotification = EVSENotification.NONE
    notification_max_delay_s: int = 0


@frozen(kw_only=True)
class ChargeParameterRequest(LinkEvent):
    """ChargeParameterDiscoveryReq (-2/DIN) or -20 ChargeParameterDiscovery + ScheduleExchange."""

    ANSWER: ClassVar[type] = ChargeParameterAnswer
    mode: EnergyTransferMode
    ac: ACEVChargeParameter | None = None
    dc: DCEVChargeParameter | None = None
    bpt: BPTEVParameter | None = None
    max_entries: int | None = None  # MaxEntriesSAScheduleTuple
    control_mode: ControlMode = ControlMode.SCHEDULED
    renegotiation: bool = False


@frozen(kw_only=True)
class CableCheckAnswer:
    processing: EVSEProcessing
    isolation: IsolationLevel = IsolationLevel.INVALID
    status_code: EVSEStatusCode = EVSEStatusCode.ISOLATION_MONITORING_ACTIVE
    response_code: ResponseCode = ResponseCode.OK


@frozen(kw_only=True)
class CableCheckRequest(LinkEvent):
    ANSWER: ClassVar[type] = CableCheckAnswer
    ev_status: DCEVStatus


@frozen(kw_only=True)
class PreChargeAnswer:
    present_voltage_V: float
    status_code: EVSEStatusCode = EVSEStatusCode.READY
    response_code: ResponseCode = ResponseCode.OK


@frozen(kw_only=True)
class PreChargeRequest(LinkEvent):
    ANSWER: ClassVar[type] = PreChargeAnswer
    ev_status: DCEVStatus
    target_voltage_V: float
    target_current_A: float


@frozen(kw_only=True)
class PowerDeliveryAnswer:
    response_code: ResponseCode = ResponseCode.OK
    status_code: EVSEStatusCode = EVSEStatusCode.READY
    notification: EVSENotification = EVSENotification.NONE


@frozen(kw_only=True)
class PowerDeliveryRequest(LinkEvent):
    """PowerDeliveryReq. For AC Start the EVSE closes its contactor within 3 s of CP C/D."""

    ANSWER: ClassVar[type] = PowerDeliveryAnswer
    progress: ChargeProgress
    tuple_id: int | None = None
    profile: tuple[ChargingProfileEntry, ...] = field(default=(), converter=tuple)
    ev_status: DCEVStatus | None = None
    bpt_discharge: bool = False  # -20 BPT_ChannelSelection = Discharge


@frozen(kw_only=True)
class DCChargeLoopAnswer:
    present_voltage_V: float
    present_current_A: float  # negative while discharging (BPT / J2847)
    evse_max_current_A: float | None = None
    evse_max_voltage_V: float | None = None
    evse_max_power_W: float | None = None
    current_limit_achieved: bool = False
    voltage_limit_achieved: bool = False
    power_limit_achieved: bool = False
    status_code: EVSEStatusCode = EVSEStatusCode.READY
    notification: EVSENotification = EVSENotification.NONE
    notification_max_delay_s: int = 0
    meter_Wh: float | None = None
    response_code: ResponseCode = ResponseCode.OK


@frozen(kw_only=True)
class DCChargeLoopRequest(LinkEvent):
    """CurrentDemandReq (-2/DIN) or -20 DC_ChargeLoopReq. Answer within 25 ms."""

    ANSWER: ClassVar[type] = DCChargeLoopAnswer
    ev_status: DCEVStatus
    target_voltage_V: float
    target_current_A: float  # negative = discharge request
    ev_max_voltage_V: float | None = None
    ev_max_current_A: float | None = None
    ev_max_power_W: float | None = None
    bulk_charging_complete: bool = False
    charging_complete: bool = False
    remaining_time_to_full_soc_s: float | None = None


@frozen(kw_only=True)
class ACChargeLoopAnswer:
    evse_max_current_A: float | None = None
    evse_target_active_power_W: float | None = None  # -20 AC (dynamic: mandatory)
    evse_present_active_power_W: float | None = None  # SCALE: AC_ChargeLoopRes
    rcd_error: bool = False
    notification: EVSENotification = EVSENotification.NONE
    notification_max_delay_s: int = 0
    meter_Wh: float | None = None
    response_code: ResponseCode = ResponseCode.OK


@frozen(kw_only=True)
class ACChargeLoopRequest(LinkEvent):
    """ChargingStatusReq (-2) or -20 AC_ChargeLoopReq."""

    ANSWER: ClassVar[type] = ACChargeLoopAnswer
    ev_present_active_power_W: float | None = None
    soc_pct: float | None = None


@frozen(kw_only=True)
class WeldingDetectionAnswer:
    present_voltage_V: float
    response_code: ResponseCode = ResponseCode.OK


@frozen(kw_only=True)
class WeldingDetectionRequest(LinkEvent):
    ANSWER: ClassVar[type] = WeldingDetectionAnswer
    ev_status: DCEVStatus


@frozen(kw_only=True)
class SessionStopRequest(LinkEvent):
    kind: ChargingSession = ChargingSession.TERMINATE


@frozen(kw_only=True)
class SessionEnded(LinkEvent):
    """The V2G session is over (normally, by timeout, by a FAILED response or a lost link).

    Sent exactly once per SessionSetup, also on every error path; `paused` when the EV
    ended with SessionStop(Pause).
    """

    cause: StopCause
    detail: str = ""
    paused: bool = False


EvseLinkHandler = Callable[[LinkEvent], Awaitable[Any]]


@runtime_checkable
class EvseLink(TypingProtocol):
    """EVSE-role link (SECC side). Provided by `freev2g_register_links` as role "evse"."""

    async def open(self, handler: EvseLinkHandler, offer: EVSEOffer) -> None:
        """Start listening (SDP server / module Start listen). Returns once ready."""

    async def start_matching(self) -> None:
        """Allow SLAC matching (EvseManager calls it when it shows 5 % duty)."""

    def notify(self, notification: EVSENotification, max_delay_s: int = 0) -> None:
        """Carry a notification (StopCharging / ReNegotiation) in the next loop responses."""

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        """End the current session now (safe stop); SessionEnded follows."""

    async def close(self) -> None:
        """Stop listening and release resources."""


# ----------------------------------------------------------------------------------------------
# EV role: link -> EvController
# ----------------------------------------------------------------------------------------------


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
