"""DIN SPEC 70121 messages (DC only; charging-domain.md 3.5 lists the differences to -2).

Definitions identical in ISO 15118-2 (the DC data types, CableCheck, PreCharge, WeldingDetection,
SessionStopRes; the field sets of SessionSetupReq, ServiceDiscoveryReq, CurrentDemandReq/Res) come
from din_iso2.py and are re-exported here (the SCALE extension of DC_EVChargeParameter stays empty). DIN has no ServiceDetail, no PnC
PaymentDetails, no Renegotiate (PowerDeliveryReq carries ReadyToChargeState instead of
ChargeProgress) and an empty SessionStopReq.
"""
from __future__ import annotations

from attrs import field, frozen

from freev2g.model.enums import EnergyTransferMode, EVSEProcessing, PaymentOption
from freev2g.model.params import DCEVSEChargeParameter, DCEVStatus
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


@frozen(kw_only=True)
class ChargeService:
    service_id: int = 1
    free_service: bool = False
    energy_transfer_type: EnergyTransferMode = EnergyTransferMode.DC_EXTENDED


@frozen(kw_only=True)
class SessionSetupRes(V2GResponse):
    evse_id: str = "00"
    datetime_now_s: int | None = None


@frozen(kw_only=True)
class SessionSetupReq(SessionSetupReqFields):
    RES = SessionSetupRes


@frozen(kw_only=True)
class ServiceDiscoveryRes(V2GResponse):
    payment_options: tuple[PaymentOption, ...] = field(default=(PaymentOption.EXTERNAL_PAYMENT,), converter=tuple)
    charge_service: ChargeService = field(factory=ChargeService)


@frozen(kw_only=True)
class ServiceDiscoveryReq(ServiceDiscoveryReqFields):
    RES = ServiceDiscoveryRes


@frozen(kw_only=True)
class ServicePaymentSelectionRes(V2GResponse):
    pass


@frozen(kw_only=True)
class ServicePaymentSelectionReq(V2GRequest):
    RES = ServicePaymentSelectionRes
    selected_payment_option: PaymentOption
    selected_services: tuple[SelectedService, ...] = field(converter=tuple)


@frozen(kw_only=True)
class ContractAuthenticationRes(V2GResponse):
    evse_processing: EVSEProcessing = EVSEProcessing.FINISHED


@frozen(kw_only=True)
class ContractAuthenticationReq(V2GRequest):
    RES = ContractAuthenticationRes
    gen_challenge: bytes | None = None


@frozen(kw_only=True)
class ChargeParameterDiscoveryRes(V2GResponse):
    evse_processing: EVSEProcessing = EVSEProcessing.FINISHED
    sa_schedule_list: SAScheduleList | None = None  # PMax unit: W here (DIN leaves it open)
    dc_evse_charge_parameter: DCEVSEChargeParameter | None = None
    dc_evse_status: DCEVSEStatus = field(factory=DCEVSEStatus)


@frozen(kw_only=True)
class ChargeParameterDiscoveryReq(V2GRequest):
    RES = ChargeParameterDiscoveryRes
    ev_requested_energy_transfer_type: EnergyTransferMode
    dc_ev_charge_parameter: DCEVChargeParameterMsg


@frozen(kw_only=True)
class PowerDeliveryRes(V2GResponse):
    dc_evse_status: DCEVSEStatus = field(factory=DCEVSEStatus)


@frozen(kw_only=True)
class PowerDeliveryReq(V2GRequest):
    RES = PowerDeliveryRes
    ready_to_charge_state: bool
    sa_schedule_tuple_id: int | None = None  # inside ChargingProfile in DIN
    charging_profile: tuple[ChargingProfileEntry, ...] = field(default=(), converter=tuple)
    dc_ev_status: DCEVStatus = field(factory=DCEVStatus)
    bulk_charging_complete: bool | None = None
    charging_complete: bool = False


@frozen(kw_only=True)
class CurrentDemandRes(CurrentDemandResFields):
    """No EVSEID, SAScheduleTupleID, MeterInfo or ReceiptRequired in DIN (3.5)."""


@frozen(kw_only=True)
class CurrentDemandReq(CurrentDemandReqFields):
    RES = CurrentDemandRes


@frozen(kw_only=True)
class SessionStopReq(V2GRequest):
    """DIN: empty body (SessionStopType); a pause does not exist."""

    RES = SessionStopRes


MESSAGES = (
    SessionSetupReq, SessionSetupRes, ServiceDiscoveryReq, ServiceDiscoveryRes,
    ServicePaymentSelectionReq, ServicePaymentSelectionRes, ContractAuthenticationReq,
    ContractAuthenticationRes, ChargeParameterDiscoveryReq, ChargeParameterDiscoveryRes,
    CableCheckReq, CableCheckRes, PreChargeReq, PreChargeRes, PowerDeliveryReq, PowerDeliveryRes,
    CurrentDemandReq, CurrentDemandRes, WeldingDetectionReq, WeldingDetectionRes,
    SessionStopReq, SessionStopRes,
)  # fmt: skip
