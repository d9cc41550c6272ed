"""ISO 15118-2 messages (charging-domain.md 3.1-3.4), one attrs class per message.

Field names follow the schema element names in snake case with units. Values are plain numbers
without sign checks because SAE J2847/2 (section 8) carries negative currents and powers in
the same fields. The SCALE extension of ChargeParameterDiscoveryReq (seed 002 sections 9.1 and
13.1: EVMaxEnergyRequest, EVMinEnergyRequest, EVMaxSoc, EVMinSoc; AC adds EVMaxPower and
EVMinCurrent) travels as a `ScaleNeeds` in the EV charge parameter.
"""
from __future__ import annotations

from attrs import field, frozen

from freev2g.model.enums import (
    ChargeProgress,
    ChargingSession,
    EnergyTransferMode,
    EVSENotification,
    EVSEProcessing,
    EVSEStatusCode,
    IsolationLevel,
    PaymentOption,
)
from freev2g.model.params import (
    ACEVChargeParameter,
    ACEVSEChargeParameter,
    DCEVChargeParameter,
    DCEVSEChargeParameter,
    DCEVStatus,
    ScaleNeeds,
)
from freev2g.model.schedule import ChargingProfileEntry, SAScheduleList

from .common import V2GRequest, V2GResponse

# --- data types (3.2-3.4) --------------------------------------------------------------------


@frozen(kw_only=True)
class ChargeService:
    service_id: int = 1
    service_name: str = "AC_DC_Charging"
    free_service: bool = False
    energy_transfer_modes: tuple[EnergyTransferMode, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class Service:
    service_id: int
    service_name: str = ""
    service_category: str = "OtherCustom"
    free_service: bool = True


@frozen(kw_only=True)
class SelectedService:
    service_id: int
    parameter_set_id: int | None = None


@frozen(kw_only=True)
class Parameter:
    name: str
    value: str


@frozen(kw_only=True)
class ParameterSet:
    parameter_set_id: int
    parameters: tuple[Parameter, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class DCEVSEStatus:
    notification: EVSENotification = EVSENotification.NONE
    notification_max_delay_s: int = 0
    isolation_status: IsolationLevel | None = None
    status_code: EVSEStatusCode = EVSEStatusCode.READY


@frozen(kw_only=True)
class ACEVSEStatus:
    notification: EVSENotification = EVSENotification.NONE
    notification_max_delay_s: int = 0
    rcd: bool = False


@frozen(kw_only=True)
class MeterInfo:
    meter_id: str
    meter_reading_Wh: int | None = None


@frozen(kw_only=True)
class ACEVChargeParameterMsg:
    """AC_EVChargeParameter (+ SCALE)."""

    departure_time_s: int | None = None
    e_amount_Wh: float = 0.0
    ev_max_voltage_V: float = 0.0
    ev_max_current_A: float = 0.0
    ev_min_current_A: float = 0.0
    scale: ScaleNeeds | None = None

    @classmethod
    def from_model(cls, p: ACEVChargeParameter) -> ACEVChargeParameterMsg:
        return cls(
            departure_time_s=p.departure_time_s,
            e_amount_Wh=p.e_amount_Wh,
            ev_max_voltage_V=p.ev_max_voltage_V,
            ev_max_current_A=p.ev_max_current_A,
            ev_min_current_A=p.ev_min_current_A,
            scale=p.scale,
        )

    def to_model(self) -> ACEVChargeParameter:
        return ACEVChargeParameter(
            e_amount_Wh=self.e_amount_Wh,
            ev_max_voltage_V=self.ev_max_voltage_V,
            ev_max_current_A=self.ev_max_current_A,
            ev_min_current_A=self.ev_min_current_A,
            departure_time_s=self.departure_time_s,
            scale=self.scale,
        )


@frozen(kw_only=True)
class DCEVChargeParameterMsg:
    """DC_EVChargeParameter (+ SCALE). Limits may be negative under SAE J2847/2."""

    departure_time_s: int | None = None
    dc_ev_status: DCEVStatus = field(factory=DCEVStatus)
    ev_maximum_current_limit_A: float = 0.0
    ev_maximum_power_limit_W: float | None = None
    ev_maximum_voltage_limit_V: float = 0.0
    ev_energy_capacity_Wh: float | None = None
    ev_energy_request_Wh: float | None = None
    full_soc_pct: float | None = None
    bulk_soc_pct: float | None = None
    scale: ScaleNeeds | None = None

    @classmethod
    def from_model(cls, p: DCEVChargeParameter) -> DCEVChargeParameterMsg:
        return cls(
            departure_time_s=p.departure_time_s,
            dc_ev_status=p.status,
            ev_maximum_current_limit_A=p.ev_max_current_A,
            ev_maximum_power_limit_W=p.ev_max_power_W,
            ev_maximum_voltage_limit_V=p.ev_max_voltage_V,
            ev_energy_capacity_Wh=p.ev_energy_capacity_Wh,
            ev_energy_request_Wh=p.ev_energy_request_Wh,
            full_soc_pct=p.full_soc_pct,
            bulk_soc_pct=p.bulk_soc_pct,
            scale=p.scale,
        )

    @property
    def is_discharge_request(self) -> bool:
        """J2847/2 (section 8): negative EV limits ask for discharge."""
        return self.ev_maximum_current_limit_A < 0 or (self.ev_maximum_power_limit_W or 0.0) < 0

    def to_model(self) -> DCEVChargeParameter:
        """Model view (magnitudes: the model keeps limits non-negative)."""
        power = self.ev_maximum_power_limit_W
        return DCEVChargeParameter(
            status=self.dc_ev_status,
            ev_max_current_A=abs(self.ev_maximum_current_limit_A),
            ev_max_voltage_V=self.ev_maximum_voltage_limit_V,
            ev_max_power_W=None if power is None else abs(power),
            ev_energy_capacity_Wh=self.ev_energy_capacity_Wh,
            ev_energy_request_Wh=self.ev_energy_request_Wh,
            full_soc_pct=self.full_soc_pct,
            bulk_soc_pct=self.bulk_soc_pct,
            departure_time_s=self.departure_time_s,
            scale=self.scale,
        )


# --- messages (3.1, 3.3) ---------------------------------------------------------------------


@frozen(kw_only=True)
class SessionSetupRes(V2GResponse):
    evse_id: str = "ZZ00000"
    evse_timestamp_s: int | None = None


@frozen(kw_only=True)
class SessionSetupReq(V2GRequest):
    RES = SessionSetupRes
    evcc_id: str


@frozen(kw_only=True)
class ServiceDiscoveryRes(V2GResponse):
    payment_options: tuple[PaymentOption, ...] = field(default=(PaymentOption.EXTERNAL_PAYMENT,), converter=tuple)
    charge_service: ChargeService = field(factory=ChargeService)
    services: tuple[Service, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class ServiceDiscoveryReq(V2GRequest):
    RES = ServiceDiscoveryRes
    service_scope: str | None = None
    service_category: str | None = None


@frozen(kw_only=True)
class ServiceDetailRes(V2GResponse):
    service_id: int = 0
    parameter_sets: tuple[ParameterSet, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class ServiceDetailReq(V2GRequest):
    RES = ServiceDetailRes
    service_id: int


@frozen(kw_only=True)
class PaymentServiceSelectionRes(V2GResponse):
    pass


@frozen(kw_only=True)
class PaymentServiceSelectionReq(V2GRequest):
    RES = PaymentServiceSelectionRes
    selected_payment_option: PaymentOption
    selected_services: tuple[SelectedService, ...] = field(converter=tuple)


@frozen(kw_only=True)
class PaymentDetailsRes(V2GResponse):
    gen_challenge: bytes = b"\x00" * 16
    evse_timestamp_s: int = 0


@frozen(kw_only=True)
class PaymentDetailsReq(V2GRequest):
    """PnC: eMAID + contract certificate chain (opaque DER bytes here)."""

    RES = PaymentDetailsRes
    emaid: str
    contract_signature_cert_chain: tuple[bytes, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class AuthorizationRes(V2GResponse):
    evse_processing: EVSEProcessing = EVSEProcessing.FINISHED


@frozen(kw_only=True)
class AuthorizationReq(V2GRequest):
    RES = AuthorizationRes
    id: str | None = None
    gen_challenge: bytes | None = None  # PnC only


@frozen(kw_only=True)
class ChargeParameterDiscoveryRes(V2GResponse):
    evse_processing: EVSEProcessing = EVSEProcessing.FINISHED
    sa_schedule_list: SAScheduleList | None = None
    ac_evse_charge_parameter: ACEVSEChargeParameter | None = None
    ac_evse_status: ACEVSEStatus | None = None
    dc_evse_charge_parameter: DCEVSEChargeParameter | None = None
    dc_evse_status: DCEVSEStatus | None = None


@frozen(kw_only=True)
class ChargeParameterDiscoveryReq(V2GRequest):
    RES = ChargeParameterDiscoveryRes
    max_entries_sa_schedule_tuple: int | None = None
    requested_energy_transfer_mode: EnergyTransferMode
    ac_ev_charge_parameter: ACEVChargeParameterMsg | None = None
    dc_ev_charge_parameter: DCEVChargeParameterMsg | None = None


@frozen(kw_only=True)
class CableCheckRes(V2GResponse):
    dc_evse_status: DCEVSEStatus = field(factory=DCEVSEStatus)
    evse_processing: EVSEProcessing = EVSEProcessing.FINISHED


@frozen(kw_only=True)
class CableCheckReq(V2GRequest):
    RES = CableCheckRes
    dc_ev_status: DCEVStatus


@frozen(kw_only=True)
class PreChargeRes(V2GResponse):
    dc_evse_status: DCEVSEStatus = field(factory=DCEVSEStatus)
    evse_present_voltage_V: float = 0.0


@frozen(kw_only=True)
class PreChargeReq(V2GRequest):
    RES = PreChargeRes
    dc_ev_status: DCEVStatus
    ev_target_voltage_V: float
    ev_target_current_A: float


@frozen(kw_only=True)
class PowerDeliveryRes(V2GResponse):
    ac_evse_status: ACEVSEStatus | None = None
    dc_evse_status: DCEVSEStatus | None = None


@frozen(kw_only=True)
class PowerDeliveryReq(V2GRequest):
    RES = PowerDeliveryRes
    charge_progress: ChargeProgress
    sa_schedule_tuple_id: int
    charging_profile: tuple[ChargingProfileEntry, ...] = field(default=(), converter=tuple)
    dc_ev_status: DCEVStatus | None = None  # DC_EVPowerDeliveryParameter
    bulk_charging_complete: bool | None = None
    charging_complete: bool = False


@frozen(kw_only=True)
class CurrentDemandRes(V2GResponse):
    dc_evse_status: DCEVSEStatus = field(factory=DCEVSEStatus)
    evse_present_voltage_V: float = 0.0
    evse_present_current_A: float = 0.0
    evse_current_limit_achieved: bool = False
    evse_voltage_limit_achieved: bool = False
    evse_power_limit_achieved: bool = False
    evse_maximum_voltage_limit_V: float | None = None
    evse_maximum_current_limit_A: float | None = None
    evse_maximum_power_limit_W: float | None = None
    evse_id: str = "ZZ00000"
    sa_schedule_tuple_id: int = 1
    meter_info: MeterInfo | None = None
    receipt_required: bool | None = None


@frozen(kw_only=True)
class CurrentDemandReq(V2GRequest):
    RES = CurrentDemandRes
    dc_ev_status: DCEVStatus
    ev_target_current_A: float
    ev_maximum_voltage_limit_V: float | None = None
    ev_maximum_current_limit_A: float | None = None
    ev_maximum_power_limit_W: float | None = None
    bulk_charging_complete: bool | None = None
    charging_complete: bool = False
    remaining_time_to_full_soc_s: float | None = None
    remaining_time_to_bulk_soc_s: float | None = None
    ev_target_voltage_V: float


@frozen(kw_only=True)
class ChargingStatusRes(V2GResponse):
    evse_id: str = "ZZ00000"
    sa_schedule_tuple_id: int = 1
    evse_max_current_A: float | None = None
    meter_info: MeterInfo | None = None
    receipt_required: bool = False
    ac_evse_status: ACEVSEStatus = field(factory=ACEVSEStatus)


@frozen(kw_only=True)
class ChargingStatusReq(V2GRequest):
    RES = ChargingStatusRes


@frozen(kw_only=True)
class WeldingDetectionRes(V2GResponse):
    dc_evse_status: DCEVSEStatus = field(factory=DCEVSEStatus)
    evse_present_voltage_V: float = 0.0


@frozen(kw_only=True)
class WeldingDetectionReq(V2GRequest):
    RES = WeldingDetectionRes
    dc_ev_status: DCEVStatus


@frozen(kw_only=True)
class SessionStopRes(V2GResponse):
    pass


@frozen(kw_only=True)
class SessionStopReq(V2GRequest):
    RES = SessionStopRes
    charging_session: ChargingSession = ChargingSession.TERMINATE


MESSAGES = (
    SessionSetupReq, SessionSetupRes, ServiceDiscoveryReq, ServiceDiscoveryRes,
    ServiceDetailReq, ServiceDetailRes, PaymentServiceSelectionReq, PaymentServiceSelectionRes,
    PaymentDetailsReq, PaymentDetailsRes, AuthorizationReq, AuthorizationRes,
    ChargeParameterDiscoveryReq, ChargeParameterDiscoveryRes, CableCheckReq, CableCheckRes,
    PreChargeReq, PreChargeRes, PowerDeliveryReq, PowerDeliveryRes, CurrentDemandReq,
    CurrentDemandRes, ChargingStatusReq, ChargingStatusRes, WeldingDetectionReq,
    WeldingDetectionRes, SessionStopReq, SessionStopRes,
)  # fmt: skip
