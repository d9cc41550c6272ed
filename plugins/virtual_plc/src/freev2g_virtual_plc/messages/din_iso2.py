"""Definitions DIN SPEC 70121 and ISO 15118-2 have in common (charging-domain.md 3.1-3.5).

DIN and -2 messages of the DC path have the same schema except where 3.5 lists a difference.
Messages whose request and response are identical in both live here once and `din` / `iso2`
re-export them (CableCheck, PreCharge, WeldingDetection, SessionStopRes, the DC data types).
Where only the fields agree but the partner message differs (SessionSetupReq, ServiceDiscoveryReq,
CurrentDemandReq: their responses differ; CurrentDemandRes: -2 adds EVSEID, SAScheduleTupleID,
MeterInfo, ReceiptRequired), the fields are defined here once as a base class and each protocol
module declares its message with its own response type. ISO 15118-20 shares nothing: its
messages have different types (7).
"""
from __future__ import annotations

from attrs import field, frozen

from freev2g.model.enums import EVSENotification, EVSEProcessing, EVSEStatusCode, IsolationLevel
from freev2g.model.params import DCEVChargeParameter, DCEVStatus, ScaleNeeds

from .common import V2GRequest, V2GResponse

# --- data types --------------------------------------------------------------------------------


@frozen(kw_only=True)
class SelectedService:
    service_id: int
    parameter_set_id: int | None = None


@frozen(kw_only=True)
class DCEVSEStatus:
    notification: EVSENotification = EVSENotification.NONE
    notification_max_delay_s: int = 0
    isolation_status: IsolationLevel | None = None
    status_code: EVSEStatusCode = EVSEStatusCode.READY


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


# --- field sets of messages whose partner differs per protocol ----------------------------------


@frozen(kw_only=True)
class SessionSetupReqFields(V2GRequest):
    evcc_id: str


@frozen(kw_only=True)
class ServiceDiscoveryReqFields(V2GRequest):
    service_scope: str | None = None
    service_category: str | None = None


@frozen(kw_only=True)
class CurrentDemandReqFields(V2GRequest):
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
class CurrentDemandResFields(V2GResponse):
    """The DIN CurrentDemandRes body; -2 extends it."""

    dc_evse_status: DCEVSEStatus = field(factory=DCEVSEStatus)
    evse_present_voltage_V: float = 0.0
    evse_present_current_A: float = 0.0
    evse_current_limit_achieved: bool = False
    evse_voltage_limit_achieved: bool = False
    evse_power_limit_achieved: bool = False
    evse_maximum_voltage_limit_V: float | None = None
    evse_maximum_current_limit_A: float | None = None
    evse_maximum_power_limit_W: float | None = None


# --- messages identical in both ----------------------------------------------------------------


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


SHARED = (CableCheckReq, CableCheckRes, PreChargeReq, PreChargeRes, WeldingDetectionReq, WeldingDetectionRes,
          SessionStopRes)
