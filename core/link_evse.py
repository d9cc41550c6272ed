"""EVSE role of the link seam (see link.py): the events the link hands to the EvseManager
(core/evse), the answers it expects, and the EvseLink Protocol a link provider implements.
Field units are in the names. Section numbers refer to shared/spec/charging-domain.md.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, ClassVar, Protocol as TypingProtocol, runtime_checkable

from attrs import field, frozen

from .link_base import LinkEvent
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
