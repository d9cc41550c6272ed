"""Where the SCALE data extensions travel in each OCPP version (uplinks.md 1.3, 1.4, 1.5;
seed 002 sections 9.3, 9.4 and 13.3).

2.0.1: the SCALE fields go in `acChargingParameters.customData` / `dcChargingParameters.customData`
of NotifyEVChargingNeedsRequest, the ISO 15118 SessionID in `TransactionEventRequest.customData`.
2.1: native `v2xChargingParameters` fields, plus customData for minSoC, remainingV2GEnergy and
roundTripEfficiency (no native field). 1.6: no customData at all, so DataTransfer with our
vendorId and a JSON object in `data`.

Our ScaleNeeds names map as: ev_min/max_energy_request_Wh -> evMin/MaxEnergyRequest,
ev_min_soc_pct -> minSoC, ev_max_soc_pct -> targetSoC (the SoC the EV wants at the end),
ev_max_power_W -> evMaxPower. ScaleNeeds has no minimum power; evMinPower is derived from the
EV's minimum current: AC EVMinCurrent x nominal voltage x phases (an approximation; DC has no
minimum current in ISO 15118-2, so DC sends no evMinPower).
"""
from __future__ import annotations

from typing import Any

from freev2g.model.events import EVNeedsReceived
from freev2g.model.params import ScaleNeeds

MESSAGE_ID_NEEDS = "EVChargingNeeds"  # 1.6 DataTransfer messageId for the EV's needs
MESSAGE_ID_SESSION = "SessionId"  # 1.6 DataTransfer messageId for the ISO 15118 SessionID


def _int(value: float | None) -> int | None:
    return None if value is None else int(round(value))


def _drop_none(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}


def scale_of(event: EVNeedsReceived) -> ScaleNeeds | None:
    params = event.ac or event.dc
    return getattr(params, "scale", None)


def ev_min_power_W(event: EVNeedsReceived, nominal_voltage_V: float) -> float | None:
    scale = scale_of(event)
    if event.ac is None:
        return None
    min_current = scale.ev_min_current_A if scale and scale.ev_min_current_A is not None else None
    if min_current is None:
        return None
    return min_current * nominal_voltage_V * event.mode.phases


def custom_data_201(event: EVNeedsReceived, vendor_id: str, nominal_voltage_V: float) -> dict[str, Any] | None:
    """customData for 2.0.1 AC/DC charging parameters, or None without SCALE data."""
    scale = scale_of(event)
    if scale is None:
        return None
    doc = {
        "vendorId": vendor_id,
        "evMinPower": _int(ev_min_power_W(event, nominal_voltage_V)),
        "evMaxPower": _int(scale.ev_max_power_W) if event.ac is not None else None,
        "evMinEnergyRequest": _int(scale.ev_min_energy_request_Wh),
        "evMaxEnergyRequest": _int(scale.ev_max_energy_request_Wh),
        "minSoC": _int(scale.ev_min_soc_pct),
        "targetSoC": _int(scale.ev_max_soc_pct),
    }
    return _drop_none(doc)


def v2x_parameters_21(event: EVNeedsReceived, vendor_id: str, nominal_voltage_V: float) -> dict[str, Any] | None:
    """OCPP 2.1 V2XChargingParametersType from the EV's needs (native fields + customData)."""
    scale = scale_of(event)
    bpt = event.bpt
    max_charge_W = None
    if event.dc is not None:
        max_charge_W = event.dc.ev_max_power_W
    if scale is not None and scale.ev_max_power_W is not None:
        max_charge_W = scale.ev_max_power_W
    doc: dict[str, Any] = {
        "minChargePower": ev_min_power_W(event, nominal_voltage_V),
        "maxChargePower": max_charge_W,
        "evMinEnergyRequest": scale.ev_min_energy_request_Wh if scale else None,
        "evMaxEnergyRequest": scale.ev_max_energy_request_Wh if scale else None,
        "targetSoC": _int(scale.ev_max_soc_pct) if scale else None,
    }
    if bpt is not None:
        doc.update(
            maxDischargePower=bpt.ev_max_discharge_power_W,
            minDischargePower=bpt.ev_min_discharge_power_W,
            maxDischargeCurrent=bpt.ev_max_discharge_current_A or None,
            minDischargeCurrent=bpt.ev_min_discharge_current_A or None,
            evMinV2XEnergyRequest=bpt.ev_min_v2x_energy_request_Wh,
            evMaxV2XEnergyRequest=bpt.ev_max_v2x_energy_request_Wh,
        )
    if scale is not None:
        extra = _drop_none({
            "minSoC": _int(scale.ev_min_soc_pct),
            "remainingV2GEnergy": scale.remaining_v2g_energy_Wh,
            "roundTripEfficiency": scale.round_trip_efficiency_pct,
        })
        if extra:
            doc["customData"] = {"vendorId": vendor_id, **extra}
    doc = _drop_none(doc)
    return doc or None


def data_transfer_16(event: EVNeedsReceived, session_id: str, iso_session_id: str | None,
                     nominal_voltage_V: float) -> dict[str, Any]:
    """The JSON object carried as a string in the 1.6 DataTransfer `data` field."""
    scale = scale_of(event)
    doc: dict[str, Any] = {
        "transactionSessionId": session_id,
        "sessionId": iso_session_id,
        "requestedEnergyTransfer": event.mode.value,
        "evMinPower": _int(ev_min_power_W(event, nominal_voltage_V)),
    }
    if scale is not None:
        doc.update(
            evMaxPower=_int(scale.ev_max_power_W),
            evMinEnergyRequest=_int(scale.ev_min_energy_request_Wh),
            evMaxEnergyRequest=_int(scale.ev_max_energy_request_Wh),
            minSoC=_int(scale.ev_min_soc_pct),
            targetSoC=_int(scale.ev_max_soc_pct),
            remainingV2GEnergy=_int(scale.remaining_v2g_energy_Wh),
            roundTripEfficiency=scale.round_trip_efficiency_pct,
        )
    return _drop_none(doc)
