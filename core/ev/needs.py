"""What the EV asks for: session request, charge parameters, loop targets (pure functions).

charging-domain.md 3.3 (ChargeParameterDiscovery fields), 5.4 (PreCharge: target = battery
voltage, <= 2 A), 7.5 (-20 DC/BPT), 8 (J2847/2), 9 (SCALE data); seed 002 9.1 / 13.1.
"""
from __future__ import annotations

from attrs import frozen

from ..link import EvSessionRequest
from ..model.enums import EnergyTransferMode, EVErrorCode, PaymentOption, Protocol
from ..model.params import (
    ACEVChargeParameter,
    BPTEVParameter,
    DCEVChargeParameter,
    DCEVStatus,
    ScaleNeeds,
)
from .config import EvConfig
from .variables import DcEvBPTParameters, DcEvParameters


@frozen(kw_only=True)
class SessionIntent:
    """The arguments of the last start_charging, plus the parameter commands since."""

    mode: EnergyTransferMode
    payment: PaymentOption = PaymentOption.EXTERNAL_PAYMENT
    departure_time_s: int | None = None
    e_amount_Wh: float | None = None  # None: from target SoC and capacity
    dc: DcEvParameters | None = None
    bpt: DcEvBPTParameters | None = None
    j2847_mode: str | None = None


def default_dc_params(cfg: EvConfig) -> DcEvParameters:
    return DcEvParameters(
        max_current_limit_A=cfg.dc.max_current_A,
        max_voltage_limit_V=cfg.dc.max_voltage_V,
        max_power_limit_W=cfg.dc.max_power_W,
        energy_capacity_Wh=cfg.battery.capacity_Wh,
        target_current_A=cfg.dc.target_current_A,
        target_voltage_V=cfg.dc.target_voltage_V,
    )


def default_bpt_params(cfg: EvConfig) -> DcEvBPTParameters:
    return DcEvBPTParameters(
        discharge_max_current_limit_A=cfg.bpt.max_discharge_current_A,
        discharge_max_power_limit_W=cfg.bpt.max_discharge_power_W,
        discharge_target_current_A=cfg.bpt.max_discharge_current_A,
        discharge_minimal_soc_pct=cfg.battery.min_soc_pct,
    )


def energy_request_Wh(cfg: EvConfig, soc_pct: float, intent: SessionIntent) -> float:
    if intent.e_amount_Wh is not None:
        return max(0.0, intent.e_amount_Wh)
    return max(0.0, (cfg.battery.target_soc_pct - soc_pct) / 100.0 * cfg.battery.capacity_Wh)


def scale_needs(cfg: EvConfig, soc_pct: float, *, ac: bool) -> ScaleNeeds:
    """SCALE D2.3 9.1/13.1: min/max energy and SoC; AC adds EV max power and min current;
    the V2X pair (remaining V2G energy, round-trip efficiency) rides along."""
    cap = cfg.battery.capacity_Wh
    min_soc = min(cfg.battery.min_soc_pct, cfg.battery.full_soc_pct)
    return ScaleNeeds(
        ev_max_energy_request_Wh=max(0.0, (cfg.battery.full_soc_pct - soc_pct) / 100.0 * cap),
        ev_min_energy_request_Wh=max(0.0, (min_soc - soc_pct) / 100.0 * cap),
        ev_max_soc_pct=cfg.battery.full_soc_pct,
        ev_min_soc_pct=min_soc,
        ev_max_power_W=cfg.ac.max_current_A * cfg.ac.max_voltage_V * cfg.ac.phases if ac else None,
        ev_min_current_A=cfg.ac.min_current_A if ac else None,
        remaining_v2g_energy_Wh=max(0.0, (soc_pct - min_soc) / 100.0 * cap),
        round_trip_efficiency_pct=cfg.bpt.round_trip_efficiency_pct,
    )


def session_request(
    cfg: EvConfig, intent: SessionIntent, soc_pct: float, error: EVErrorCode, protocols: tuple[Protocol, ...] | None = None
) -> EvSessionRequest:
    """EvSessionRequest for SessionSetup / (re)ChargeParameterDiscovery."""
    e_req = energy_request_Wh(cfg, soc_pct, intent)
    scale = scale_needs(cfg, soc_pct, ac=intent.mode.is_ac) if cfg.scale else None
    ac = dc = bpt = None
    if intent.mode.is_ac:
        ac = ACEVChargeParameter(
            e_amount_Wh=e_req,
            ev_max_voltage_V=cfg.ac.max_voltage_V,
            ev_max_current_A=cfg.ac.max_current_A,
            ev_min_current_A=cfg.ac.min_current_A,
            departure_time_s=intent.departure_time_s,
            scale=scale,
        )
    else:
        p = intent.dc or default_dc_params(cfg)
        dc = DCEVChargeParameter(
            status=dc_status(soc_pct, error),
            ev_max_current_A=p.max_current_limit_A,
            ev_max_voltage_V=p.max_voltage_limit_V,
            ev_max_power_W=p.max_power_limit_W,
            ev_energy_capacity_Wh=p.energy_capacity_Wh,
            ev_energy_request_Wh=e_req,
            full_soc_pct=cfg.battery.full_soc_pct,
            bulk_soc_pct=cfg.battery.bulk_soc_pct,
            departure_time_s=intent.departure_time_s,
            scale=scale,
        )
    if intent.mode.is_bidirectional or intent.j2847_mode:
        b = intent.bpt or default_bpt_params(cfg)
        cap = cfg.battery.capacity_Wh
        bpt = BPTEVParameter(
            ev_max_discharge_power_W=b.discharge_max_power_limit_W,
            ev_min_discharge_power_W=cfg.bpt.min_discharge_power_W,
            ev_max_discharge_current_A=b.discharge_max_current_limit_A,
            ev_min_v2x_energy_request_Wh=(b.discharge_minimal_soc_pct - soc_pct) / 100.0 * cap,
            ev_max_v2x_energy_request_Wh=(cfg.battery.full_soc_pct - soc_pct) / 100.0 * cap,
        )
    return EvSessionRequest(
        protocols=protocols or tuple(cfg.ev.protocols),
        mode=intent.mode,
        payment=intent.payment,
        ev_mac=cfg.ev.evcc_id,
        ac=ac,
        dc=dc,
        bpt=bpt,
        j2847_mode=intent.j2847_mode,
    )


def dc_status(soc_pct: float, error: EVErrorCode) -> DCEVStatus:
    return DCEVStatus(
        ev_ready=error is EVErrorCode.NO_ERROR,
        error_code=error,
        soc_pct=min(100.0, max(0.0, soc_pct)),
    )


def dc_charge_current_A(cfg: EvConfig, p: DcEvParameters, soc_pct: float, battery_V: float) -> float:
    """Constant current up to the bulk SoC, then a linear taper to 1/4 at the target SoC
    (a plain CC/CV stand-in; the battery's own physics is the sim board's)."""
    current = p.target_current_A if p.target_current_A is not None else p.max_current_limit_A
    current = min(current, p.max_current_limit_A)
    if p.max_power_limit_W:
        current = min(current, p.max_power_limit_W / max(battery_V, 1.0))
    bulk, target = cfg.battery.bulk_soc_pct, cfg.battery.target_soc_pct
    if target > bulk and soc_pct > bulk:
        frac = min(1.0, (soc_pct - bulk) / (target - bulk))
        current *= 1.0 - 0.75 * frac
    return max(0.0, current + cfg.quirks.target_current_offset_A)


def dc_discharge_current_A(b: DcEvBPTParameters, battery_V: float) -> float:
    """Magnitude of the discharge current the EV asks for (sent negative, 7.5 / 8)."""
    current = b.discharge_target_current_A or b.discharge_max_current_limit_A
    current = min(current, b.discharge_max_current_limit_A)
    if b.discharge_max_power_limit_W:
        current = min(current, b.discharge_max_power_limit_W / max(battery_V, 1.0))
    return max(0.0, current)
