"""EV and EVSE charge parameters, including the SCALE data extensions.

Units are in the field names (`_V`, `_A`, `_W`, `_Wh`, `_pct`, `_s`). Field meanings follow
ISO 15118-2 ChargeParameterDiscovery (charging-domain.md 3.3), ISO 15118-20 BPT (section 7),
and the SCALE deliverable D2.3 proposals (seed 002, sections 9.1 and 13.1).
"""
from __future__ import annotations

from attrs import field, frozen
from attrs.validators import instance_of, optional

from ._validate import finite, in_range, non_negative, percent
from .enums import EnergyTransferMode, EVErrorCode, EVSEStatusCode, IsolationLevel, PaymentOption


@frozen
class ScaleNeeds:
    """SCALE extension fields carried in ChargeParameterDiscoveryReq (seed 002 sections 9.1, 13.1).

    ISO 15118-20 carries several of them natively (ScheduleExchangeReq: EVMinimum/Maximum
    EnergyRequest, MinimumSOC, TargetSOC); the -20 link fills the same fields from there.

    AC adds `ev_max_power_W` and `ev_min_current_A`. The V2X pair is carried by ISO 15118-20
    BPT parameter discovery: `remaining_v2g_energy_Wh` and `round_trip_efficiency_pct`.
    """

    ev_max_energy_request_Wh: float | None = field(default=None, validator=non_negative)
    ev_min_energy_request_Wh: float | None = field(default=None, validator=non_negative)
    ev_max_soc_pct: float | None = field(default=None, validator=percent)
    ev_min_soc_pct: float | None = field(default=None, validator=percent)
    ev_target_soc_pct: float | None = field(default=None, validator=percent)  # -20 TargetSOC
    ev_max_power_W: float | None = field(default=None, validator=non_negative)
    ev_min_current_A: float | None = field(default=None, validator=non_negative)
    remaining_v2g_energy_Wh: float | None = field(default=None, validator=non_negative)
    round_trip_efficiency_pct: float | None = field(default=None, validator=percent)

    def __attrs_post_init__(self):
        lo, hi = self.ev_min_energy_request_Wh, self.ev_max_energy_request_Wh
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"ScaleNeeds.ev_min_energy_request_Wh {lo} exceeds ev_max_energy_request_Wh {hi}")
        lo, hi = self.ev_min_soc_pct, self.ev_max_soc_pct
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"ScaleNeeds.ev_min_soc_pct {lo} exceeds ev_max_soc_pct {hi}")


@frozen
class ACEVChargeParameter:
    """ISO 15118-2 AC_EVChargeParameter (+ SCALE)."""

    e_amount_Wh: float = field(validator=non_negative)
    ev_max_voltage_V: float = field(validator=non_negative)
    ev_max_current_A: float = field(validator=non_negative)
    ev_min_current_A: float = field(validator=non_negative)
    departure_time_s: int | None = field(default=None, validator=non_negative)
    scale: ScaleNeeds | None = field(default=None, validator=optional(instance_of(ScaleNeeds)))


@frozen
class DCEVStatus:
    ev_ready: bool = True
    error_code: EVErrorCode = EVErrorCode.NO_ERROR
    soc_pct: float = field(default=0.0, validator=percent)


@frozen
class DCEVChargeParameter:
    """ISO 15118-2 DC_EVChargeParameter (+ SCALE); DIN uses the same fields."""

    status: DCEVStatus
    ev_max_current_A: float = field(validator=non_negative)
    ev_max_voltage_V: float = field(validator=non_negative)
    ev_max_power_W: float | None = field(default=None, validator=non_negative)
    ev_energy_capacity_Wh: float | None = field(default=None, validator=non_negative)
    ev_energy_request_Wh: float | None = field(default=None, validator=non_negative)
    full_soc_pct: float | None = field(default=None, validator=percent)
    bulk_soc_pct: float | None = field(default=None, validator=percent)
    departure_time_s: int | None = field(default=None, validator=non_negative)
    scale: ScaleNeeds | None = field(default=None, validator=optional(instance_of(ScaleNeeds)))


@frozen
class BPTEVParameter:
    """ISO 15118-20 DC_BPT / AC_BPT discharge limits of the EV (charging-domain.md 7).

    Discharge limits are given as positive magnitudes.
    """

    ev_max_discharge_power_W: float = field(validator=non_negative)
    ev_min_discharge_power_W: float = field(default=0.0, validator=non_negative)
    ev_max_discharge_current_A: float = field(default=0.0, validator=non_negative)
    ev_min_discharge_current_A: float = field(default=0.0, validator=non_negative)
    ev_min_v2x_energy_request_Wh: float | None = field(default=None, validator=finite)
    ev_max_v2x_energy_request_Wh: float | None = field(default=None, validator=finite)


@frozen
class ACEVSEChargeParameter:
    nominal_voltage_V: float = field(validator=non_negative)
    max_current_A: float = field(validator=non_negative)
    rcd_error: bool = False
    max_power_W: float | None = field(default=None, validator=non_negative)
    present_active_power_W: float | None = field(default=None, validator=finite)  # -20 / SCALE


@frozen
class DCEVSEChargeParameter:
    max_current_A: float = field(validator=non_negative)
    max_voltage_V: float = field(validator=non_negative)
    max_power_W: float = field(validator=non_negative)
    min_current_A: float = field(default=0.0, validator=non_negative)
    min_voltage_V: float = field(default=0.0, validator=non_negative)
    peak_current_ripple_A: float = field(default=0.0, validator=non_negative)
    current_regulation_tolerance_A: float | None = field(default=None, validator=non_negative)
    energy_to_be_delivered_Wh: float | None = field(default=None, validator=non_negative)
    status_code: EVSEStatusCode = EVSEStatusCode.READY
    isolation: IsolationLevel = IsolationLevel.INVALID
    # -20 BPT: discharge capability (positive magnitudes); None when not bidirectional.
    max_discharge_power_W: float | None = field(default=None, validator=non_negative)
    max_discharge_current_A: float | None = field(default=None, validator=non_negative)


@frozen
class EVSEOffer:
    """What the SECC advertises in ServiceDiscovery (protocol-independent view)."""

    evse_id: str = field(validator=instance_of(str))
    energy_transfer_modes: tuple[EnergyTransferMode, ...] = field(converter=tuple)
    payment_options: tuple[PaymentOption, ...] = field(
        default=(PaymentOption.EXTERNAL_PAYMENT,), converter=tuple
    )
    free_service: bool = False
    sae_j2847_2_bpt_mode: str | None = None  # "V2H" | "V2G" when offered (charging-domain.md 8)
    evse_id_din: str = "49A80737A45678"

    def __attrs_post_init__(self):
        if not self.energy_transfer_modes:
            raise ValueError("EVSEOffer.energy_transfer_modes must list at least one mode")
        if not self.payment_options:
            raise ValueError("EVSEOffer.payment_options must list at least one option")


__all__ = [
    "ScaleNeeds",
    "ACEVChargeParameter",
    "DCEVStatus",
    "DCEVChargeParameter",
    "BPTEVParameter",
    "ACEVSEChargeParameter",
    "DCEVSEChargeParameter",
    "EVSEOffer",
    "in_range",
]
