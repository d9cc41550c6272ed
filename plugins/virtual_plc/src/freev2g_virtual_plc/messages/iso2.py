"""ISO 15118-2 messages (charging-domain.md 3.1-3.4), one attrs class per message.

Field names follow the schema element names in snake case with units. Values are plain numbers
without sign checks because SAE J2847/2 (section 8) carries negative currents and powers in
the same fields. The SCALE extension of ChargeParameterDiscoveryReq (seed 002 sections 9.1 and
13.1: EVMaxEnergyRequest, EVMinEnergyRequest, EVMaxSoc, EVMinSoc; AC adds EVMaxPower and
EVMinCurrent) travels as a `ScaleNeeds` in the EV charge parameter. Definitions identical in
DIN 70121 come from din_iso2.py and are re-exported here.
"""
from __future__ import annotations

from attrs import field, frozen

from freev2g.model.enums import (
    ChargeProgress,
    ChargingSession,
    EnergyTransferMode,
    EVSENotification,
    EVSEProcessing,
    PaymentOption,
)
from freev2g.model.params import (
    ACEVChargeParameter,
    ACEVSEChargeParameter,
    DCEVSEChargeParameter,
    DCEVStatus,
    ScaleNeeds,
)
from freev2g.model.schedule import ChargingProfileEntry, SAScheduleList

from .common import V2GRequest, V2GResponse
from .din_iso2 import (
    CableCheckReq,
    CableCheckRes,
    CurrentDemandReqFields,
    CurrentDemandResFields,
    DCEVChargeParameterMsg,
    DCEVSEStatus,
    PreChargeReq,
    PreChargeRes,
    SelectedService,
    ServiceDiscoveryReqFields,
    SessionSetupReqFields,
    SessionStopRes,
    WeldingDetectionReq,
    WeldingDetectionRes,
)

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
class Parameter:
    name: str
    value: str


@frozen(kw_only=True)
class ParameterSet:
    parameter_set_id: int
    parameters: tuple[Parameter, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class ACEVSEStatus:
    notification: EVSENotification = EVSENotification.NONE
    notification_max_delay_s: int = 0
    rcd: bool = False


@frozen(kw_only=True)
class MeterInfo:
    """MeterInfoType: MeterID, MeterReading, SigMeterReading (signed by the meter), MeterStatus, TMeter."""

    meter_id: str
    meter_reading_Wh: int | None = None
    sig_meter_reading: bytes | None = None
    meter_status: int | None = None
    t_meter_s: int | None = None


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


# --- messages (3.1, 3.3) ---------------------------------------------------------------------


@frozen(kw_only=True)
class SessionSetupRes(V2GResponse):
    evse_id: str = "ZZ00000"
    evse_timestamp_s: int | None = None


@frozen(kw_only=True)
class SessionSetupReq(SessionSetupReqFields):
    RES = SessionSetupRes


@frozen(kw_only=True)
class ServiceDiscoveryRes(V2GResponse):
    payment_options: tuple[PaymentOption, ...] = field(default=(PaymentOption.EXTERNAL_PAYMENT,), converter=tuple)
    charge_service: ChargeService = field(factory=ChargeService)
    services: tuple[Service, ...] = field(default=(), converter=tuple)


@frozen(kw_only=True)
class ServiceDiscoveryReq(ServiceDiscoveryReqFields):
    RES = ServiceDiscoveryRes


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
class CurrentDemandRes(CurrentDemandResFields):
    """The DIN body plus EVSEID, SAScheduleTupleID, MeterInfo and ReceiptRequired."""

    evse_id: str = "ZZ00000"
    sa_schedule_tuple_id: int = 1
    meter_info: MeterInfo | None = None
    receipt_required: bool | None = None


@frozen(kw_only=True)
class CurrentDemandReq(CurrentDemandReqFields):
    RES = CurrentDemandRes


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
class MeteringReceiptRes(V2GResponse):
    """AC_EVSEStatus (AC) or DC_EVSEStatus (DC); FAILED_MeteringSignatureNotValid on a bad receipt."""

    ac_evse_status: ACEVSEStatus | None = None
    dc_evse_status: DCEVSEStatus | None = None


@frozen(kw_only=True)
class MeteringReceiptReq(V2GRequest):
    """PnC receipt of the MeterInfo of the last loop response (charging-domain.md 3.1 step 13).

    `id` is the Id attribute the EV's XML signature references; `signature` stands for that
    header signature (made with the contract key): opaque bytes here, not verified.
    """

    RES = MeteringReceiptRes
    id: str | None = None
    sa_schedule_tuple_id: int | None = None
    meter_info: MeterInfo
    signature: bytes | None = None


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
    CurrentDemandRes, ChargingStatusReq, ChargingStatusRes, MeteringReceiptReq, MeteringReceiptRes, WeldingDetectionReq,
    WeldingDetectionRes, SessionStopReq, SessionStopRes,
)  # fmt: skip
