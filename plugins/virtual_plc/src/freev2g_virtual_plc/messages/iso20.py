"""ISO 15118-20 messages (charging-domain.md 7): DC, DC_BPT and AC; Scheduled and Dynamic.

RationalNumbers are plain floats with the unit in the field name. Scheduled/Dynamic variants
of the loop messages share one class with a `control_mode` field; fields of the other mode
stay None. SCALE (seed 002 sections 9.2, 13.2): BPT parameter discovery carries
RemainingV2GEnergy and RoundTripEfficiency; AC_ChargeLoopRes carries EVSEPresentActivePower.
Schedules reuse the -2 SAScheduleList value type (tuple id + PMax entries), an approximation
of the -20 ScheduleTuple (6.3) that keeps one schedule type across protocols.
"""
from __future__ import annotations

from enum import Enum

from attrs import field, frozen

from freev2g.model.enums import ChargeProgress, ChargingSession, ControlMode, PaymentOption
from freev2g.model.schedule import ChargingProfileEntry, SAScheduleList

from .common import V2GRequest, V2GResponse

SERVICE_AC, SERVICE_DC, SERVICE_AC_BPT, SERVICE_DC_BPT = 1, 2, 5, 6  # 7.1


class Notification(str, Enum):
    """-20 EVSENotification (7.1)."""

    NONE = "None"  # the element is optional; None = absent
    PAUSE = "Pause"
    EXIT_STANDBY = "ExitStandby"
    TERMINATE = "Terminate"
    SCHEDULE_RENEGOTIATION = "ScheduleRenegotiation"
    SERVICE_RENEGOTIATION = "ServiceRenegotiation"
    METERING_CONFIRMATION = "MeteringConfirmation"


class Processing(str, Enum):
    ONGOING = "Ongoing"
    FINISHED = "Finished"


@frozen(kw_only=True)
class EVSEStatus:
    notification_max_delay_s: int = 0
    notification: Notification = Notification.NONE


@frozen(kw_only=True)
class EnergyTransferService:
    service_id: int
    free_service: bool = False


@frozen(kw_only=True)
class ServiceParameterSet:
    """ServiceDetailRes parameter set (7.3), the parameters this simulation uses."""

    parameter_set_id: int
    control_mode: ControlMode
    connector: int = 2  # DC: 2 Extended; AC: 2 three-phase (EcoG-io numbering)
    mobility_needs_mode: int = 1
    pricing: int = 0
    bpt_channel: int | None = None  # 1 Unified, 2 Separated
    generator_mode: int | None = None


@frozen(kw_only=True)
class DisplayParameters:
    present_soc_pct: float | None = None
    minimum_soc_pct: float | None = None
    target_soc_pct: float | None = None
    maximum_soc_pct: float | None = None
    remaining_time_to_target_soc_s: float | None = None
    charging_complete: bool | None = None
    battery_energy_capacity_Wh: float | None = None


@frozen(kw_only=True)
class MeterInfo:
    meter_id: str
    charged_energy_reading_Wh: float = 0.0
    bpt_discharged_energy_reading_Wh: float | None = None


@frozen(kw_only=True)
class EVBPTDischargeLimits:
    """BPT_DC_ / BPT_AC_CPDReqEnergyTransferMode additions (+ SCALE fields)."""

    ev_max_discharge_power_W: float
    ev_min_discharge_power_W: float = 0.0
    ev_max_discharge_current_A: float | None = None  # DC only
    ev_min_discharge_current_A: float | None = None  # DC only
    remaining_v2g_energy_Wh: float | None = None  # SCALE
    round_trip_efficiency_pct: float | None = None  # SCALE


@frozen(kw_only=True)
class EVSEBPTDischargeLimits:
    evse_max_discharge_power_W: float
    evse_min_discharge_power_W: float = 0.0
    evse_max_discharge_current_A: float | None = None
    evse_min_discharge_current_A: float | None = None


# --- session setup, authorization, services (7.2) -------------------------------------------


@frozen(kw_only=True)
class SessionSetupRes(V2GResponse):
    evse_id: str = "ZZ00000"


@frozen(kw_only=True)
class SessionSetupReq(V2GRequest):
    RES = SessionSetupRes
    evcc_id: str


@frozen(kw_only=True)
class AuthorizationSetupRes(V2GResponse):
    authorization_services: tuple[PaymentOption, ...] = field(default=(PaymentOption.EXTERNAL_PAYMENT,), converter=tuple)
    certificate_installation_service: bool = False
    gen_challenge: bytes | None = None  # PnC


@frozen(kw_only=True)
class AuthorizationSetupReq(V2GRequest):
    RES = AuthorizationSetupRes


@frozen(kw_only=True)
class AuthorizationRes(V2GResponse):
    evse_processing: Processing = Processing.FINISHED


@frozen(kw_only=True)
class AuthorizationReq(V2GRequest):
    RES = AuthorizationRes
    selected_authorization_service: PaymentOption
    emaid: str | None = None  # PnC: from the contract certificate
    contract_certificate_chain: tuple[bytes, ...] = field(default=(), converter=tuple)
    gen_challenge: bytes | None = None


@frozen(kw_only=True)
class ServiceDiscoveryRes(V2GResponse):
    service_renegotiation_supported: bool = False
    energy_transfer_services: tuple[EnergyTransferService, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class ServiceDiscoveryReq(V2GRequest):
    RES = ServiceDiscoveryRes
    supported_service_ids: tuple[int, ...] | None = None


@frozen(kw_only=True)
class ServiceDetailRes(V2GResponse):
    service_id: int = 0
    parameter_sets: tuple[ServiceParameterSet, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class ServiceDetailReq(V2GRequest):
    RES = ServiceDetailRes
    service_id: int


@frozen(kw_only=True)
class ServiceSelectionRes(V2GResponse):
    pass


@frozen(kw_only=True)
class ServiceSelectionReq(V2GRequest):
    RES = ServiceSelectionRes
    selected_service_id: int
    selected_parameter_set_id: int


# --- parameter discovery and schedules (7.4-7.6) --------------------------------------------


@frozen(kw_only=True)
class DCChargeParameterDiscoveryRes(V2GResponse):
    evse_max_charge_power_W: float = 0.0
    evse_min_charge_power_W: float = 0.0
    evse_max_charge_current_A: float = 0.0
    evse_min_charge_current_A: float = 0.0
    evse_max_voltage_V: float = 0.0
    evse_min_voltage_V: float = 0.0
    bpt: EVSEBPTDischargeLimits | None = None


@frozen(kw_only=True)
class DCChargeParameterDiscoveryReq(V2GRequest):
    RES = DCChargeParameterDiscoveryRes
    ev_max_charge_power_W: float
    ev_min_charge_power_W: float = 0.0
    ev_max_charge_current_A: float
    ev_min_charge_current_A: float = 0.0
    ev_max_voltage_V: float
    ev_min_voltage_V: float = 0.0
    target_soc_pct: float | None = None
    bpt: EVBPTDischargeLimits | None = None


@frozen(kw_only=True)
class ACChargeParameterDiscoveryRes(V2GResponse):
    evse_max_charge_power_W: float = 0.0
    evse_min_charge_power_W: float = 0.0
    evse_nominal_frequency_Hz: float = 50.0
    evse_present_active_power_W: float | None = None
    bpt: EVSEBPTDischargeLimits | None = None


@frozen(kw_only=True)
class ACChargeParameterDiscoveryReq(V2GRequest):
    RES = ACChargeParameterDiscoveryRes
    ev_max_charge_power_W: float
    ev_min_charge_power_W: float = 0.0
    bpt: EVBPTDischargeLimits | None = None


@frozen(kw_only=True)
class ScheduleExchangeRes(V2GResponse):
    evse_processing: Processing = Processing.FINISHED
    go_to_pause: bool | None = None
    schedule_tuples: SAScheduleList | None = None  # Scheduled mode, when Finished
    departure_time_s: int | None = None  # Dynamic
    minimum_soc_pct: float | None = None
    target_soc_pct: float | None = None


@frozen(kw_only=True)
class ScheduleExchangeReq(V2GRequest):
    RES = ScheduleExchangeRes
    maximum_supporting_points: int = 1024  # 12..1024
    control_mode: ControlMode = ControlMode.SCHEDULED
    departure_time_s: int | None = None
    ev_target_energy_request_Wh: float | None = None
    ev_max_energy_request_Wh: float | None = None
    ev_min_energy_request_Wh: float | None = None
    minimum_soc_pct: float | None = None  # Dynamic
    target_soc_pct: float | None = None  # Dynamic
    ev_max_v2x_energy_request_Wh: float | None = None  # Dynamic BPT
    ev_min_v2x_energy_request_Wh: float | None = None


# --- DC preparation, power delivery, loops (7.2, 7.5-7.7) -----------------------------------


@frozen(kw_only=True)
class DCCableCheckRes(V2GResponse):
    evse_processing: Processing = Processing.FINISHED


@frozen(kw_only=True)
class DCCableCheckReq(V2GRequest):
    RES = DCCableCheckRes


@frozen(kw_only=True)
class DCPreChargeRes(V2GResponse):
    evse_present_voltage_V: float = 0.0


@frozen(kw_only=True)
class DCPreChargeReq(V2GRequest):
    RES = DCPreChargeRes
    ev_processing: Processing = Processing.ONGOING
    ev_present_voltage_V: float
    ev_target_voltage_V: float


@frozen(kw_only=True)
class PowerDeliveryRes(V2GResponse):
    evse_status: EVSEStatus | None = None


@frozen(kw_only=True)
class PowerDeliveryReq(V2GRequest):
    RES = PowerDeliveryRes
    ev_processing: Processing = Processing.FINISHED
    charge_progress: ChargeProgress  # RENEGOTIATE = ScheduleRenegotiation
    selected_schedule_tuple_id: int | None = None  # Scheduled
    power_profile: tuple[ChargingProfileEntry, ...] = field(default=(), converter=tuple)
    bpt_channel_selection: str | None = None  # "Charge" | "Discharge"


@frozen(kw_only=True)
class DCChargeLoopRes(V2GResponse):
    evse_status: EVSEStatus | None = None
    meter_info: MeterInfo | None = None
    evse_present_current_A: float = 0.0
    evse_present_voltage_V: float = 0.0
    evse_power_limit_achieved: bool = False
    evse_current_limit_achieved: bool = False
    evse_voltage_limit_achieved: bool = False
    evse_max_charge_power_W: float | None = None  # mandatory in Dynamic
    evse_max_charge_current_A: float | None = None
    evse_max_voltage_V: float | None = None
    evse_max_discharge_power_W: float | None = None  # BPT
    evse_max_discharge_current_A: float | None = None


@frozen(kw_only=True)
class DCChargeLoopReq(V2GRequest):
    RES = DCChargeLoopRes
    control_mode: ControlMode = ControlMode.SCHEDULED
    display: DisplayParameters | None = None
    meter_info_requested: bool = False
    ev_present_voltage_V: float
    ev_target_current_A: float | None = None  # Scheduled (negative: discharge)
    ev_target_voltage_V: float | None = None  # Scheduled
    ev_max_charge_power_W: float | None = None
    ev_max_charge_current_A: float | None = None
    ev_max_voltage_V: float | None = None
    ev_max_discharge_power_W: float | None = None  # BPT
    ev_max_discharge_current_A: float | None = None
    ev_target_energy_request_Wh: float | None = None  # Dynamic
    ev_max_energy_request_Wh: float | None = None
    ev_min_energy_request_Wh: float | None = None


@frozen(kw_only=True)
class ACChargeLoopRes(V2GResponse):
    evse_status: EVSEStatus | None = None
    meter_info: MeterInfo | None = None
    evse_target_active_power_W: float | None = None  # mandatory in Dynamic
    evse_present_active_power_W: float | None = None  # SCALE


@frozen(kw_only=True)
class ACChargeLoopReq(V2GRequest):
    RES = ACChargeLoopRes
    control_mode: ControlMode = ControlMode.SCHEDULED
    display: DisplayParameters | None = None
    meter_info_requested: bool = False
    ev_present_active_power_W: float = 0.0
    ev_max_charge_power_W: float | None = None
    ev_min_charge_power_W: float | None = None
    ev_target_energy_request_Wh: float | None = None  # Dynamic


@frozen(kw_only=True)
class DCWeldingDetectionRes(V2GResponse):
    evse_present_voltage_V: float = 0.0


@frozen(kw_only=True)
class DCWeldingDetectionReq(V2GRequest):
    RES = DCWeldingDetectionRes
    ev_processing: Processing = Processing.ONGOING


@frozen(kw_only=True)
class SessionStopRes(V2GResponse):
    pass


@frozen(kw_only=True)
class SessionStopReq(V2GRequest):
    RES = SessionStopRes
    charging_session: ChargingSession = ChargingSession.TERMINATE


MESSAGES = (
    SessionSetupReq, SessionSetupRes, AuthorizationSetupReq, AuthorizationSetupRes,
    AuthorizationReq, AuthorizationRes, ServiceDiscoveryReq, ServiceDiscoveryRes,
    ServiceDetailReq, ServiceDetailRes, ServiceSelectionReq, ServiceSelectionRes,
    DCChargeParameterDiscoveryReq, DCChargeParameterDiscoveryRes, ACChargeParameterDiscoveryReq,
    ACChargeParameterDiscoveryRes, ScheduleExchangeReq, ScheduleExchangeRes, DCCableCheckReq,
    DCCableCheckRes, DCPreChargeReq, DCPreChargeRes, PowerDeliveryReq, PowerDeliveryRes,
    DCChargeLoopReq, DCChargeLoopRes, ACChargeLoopReq, ACChargeLoopRes, DCWeldingDetectionReq,
    DCWeldingDetectionRes, SessionStopReq, SessionStopRes,
)  # fmt: skip
