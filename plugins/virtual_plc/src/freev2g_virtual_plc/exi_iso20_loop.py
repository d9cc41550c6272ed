"""ISO 15118-20 DC / AC Body tables: parameter discovery, PreCharge, WeldingDetection and the
charge loops (registered into exi_iso20_msgs). BPT variants are chosen when a discharge field is
set; Scheduled/Dynamic from the request's control_mode (responses: the `mode` passed in)."""
from __future__ import annotations

from typing import Any

from freev2g.model.enums import ControlMode

from . import exi_iso20 as h
from .exi_codec import put
from .exi_iso20_msgs import dec, enc
from .messages import iso20 as M

rn, put_rn, get_rn, from_rn = h.rn, h.put_rn, h.get_rn, h.from_rn


def _mode_key(mode: ControlMode, bpt: bool, suffix: str) -> str:
    return f"{'BPT_' if bpt else ''}{'Dynamic' if mode is ControlMode.DYNAMIC else 'Scheduled'}_{suffix}"


def _find_mode(d: dict[str, Any], suffix: str) -> tuple[ControlMode, bool, dict[str, Any]]:
    for bpt in (False, True):
        for mode in (ControlMode.SCHEDULED, ControlMode.DYNAMIC):
            c = d.get(_mode_key(mode, bpt, suffix))
            if c is not None:
                return mode, bpt, c
    raise KeyError(f"no *_{suffix} element")


# --- parameter discovery -------------------------------------------------------------------------


@enc("DCChargeParameterDiscoveryReq")
def _(m, mode):
    c = {"EVMaximumChargePower": rn(m.ev_max_charge_power_W), "EVMinimumChargePower": rn(m.ev_min_charge_power_W),
         "EVMaximumChargeCurrent": rn(m.ev_max_charge_current_A), "EVMinimumChargeCurrent": rn(m.ev_min_charge_current_A),
         "EVMaximumVoltage": rn(m.ev_max_voltage_V), "EVMinimumVoltage": rn(m.ev_min_voltage_V)}
    put(c, "TargetSOC", m.target_soc_pct, round)
    if m.bpt is None:
        return {"DC_CPDReqEnergyTransferMode": c}
    b = m.bpt  # SCALE RemainingV2GEnergy / RoundTripEfficiency: not in the -20 schema, not sent
    c.update({"EVMaximumDischargePower": rn(b.ev_max_discharge_power_W),
              "EVMinimumDischargePower": rn(b.ev_min_discharge_power_W),
              "EVMaximumDischargeCurrent": rn(b.ev_max_discharge_current_A or 0.0),
              "EVMinimumDischargeCurrent": rn(b.ev_min_discharge_current_A or 0.0)})
    return {"BPT_DC_CPDReqEnergyTransferMode": c}


@dec("DCChargeParameterDiscoveryReq")
def _(d):
    c = d.get("DC_CPDReqEnergyTransferMode") or d["BPT_DC_CPDReqEnergyTransferMode"]
    out: dict[str, Any] = {
        "ev_max_charge_power_W": from_rn(c["EVMaximumChargePower"]), "ev_min_charge_power_W": from_rn(c["EVMinimumChargePower"]),
        "ev_max_charge_current_A": from_rn(c["EVMaximumChargeCurrent"]),
        "ev_min_charge_current_A": from_rn(c["EVMinimumChargeCurrent"]),
        "ev_max_voltage_V": from_rn(c["EVMaximumVoltage"]), "ev_min_voltage_V": from_rn(c["EVMinimumVoltage"]),
        "target_soc_pct": None if "TargetSOC" not in c else float(c["TargetSOC"])}
    if "BPT_DC_CPDReqEnergyTransferMode" in d:
        out["bpt"] = M.EVBPTDischargeLimits(
            ev_max_discharge_power_W=from_rn(c["EVMaximumDischargePower"]),
            ev_min_discharge_power_W=from_rn(c["EVMinimumDischargePower"]),
            ev_max_discharge_current_A=from_rn(c["EVMaximumDischargeCurrent"]),
            ev_min_discharge_current_A=from_rn(c["EVMinimumDischargeCurrent"]))
    return out


@enc("DCChargeParameterDiscoveryRes")
def _(m, mode):
    c = {"EVSEMaximumChargePower": rn(m.evse_max_charge_power_W), "EVSEMinimumChargePower": rn(m.evse_min_charge_power_W),
         "EVSEMaximumChargeCurrent": rn(m.evse_max_charge_current_A),
         "EVSEMinimumChargeCurrent": rn(m.evse_min_charge_current_A),
         "EVSEMaximumVoltage": rn(m.evse_max_voltage_V), "EVSEMinimumVoltage": rn(m.evse_min_voltage_V)}
    if m.bpt is None:
        return {**h.rc(m), "DC_CPDResEnergyTransferMode": c}
    b = m.bpt
    c.update({"EVSEMaximumDischargePower": rn(b.evse_max_discharge_power_W),
              "EVSEMinimumDischargePower": rn(b.evse_min_discharge_power_W),
              "EVSEMaximumDischargeCurrent": rn(b.evse_max_discharge_current_A or 0.0),
              "EVSEMinimumDischargeCurrent": rn(b.evse_min_discharge_current_A or 0.0)})
    return {**h.rc(m), "BPT_DC_CPDResEnergyTransferMode": c}


@dec("DCChargeParameterDiscoveryRes")
def _(d):
    c = d.get("DC_CPDResEnergyTransferMode") or d["BPT_DC_CPDResEnergyTransferMode"]  # PowerRampLimitation dropped
    out: dict[str, Any] = {
        **h.rc_of(d), "evse_max_charge_power_W": from_rn(c["EVSEMaximumChargePower"]),
        "evse_min_charge_power_W": from_rn(c["EVSEMinimumChargePower"]),
        "evse_max_charge_current_A": from_rn(c["EVSEMaximumChargeCurrent"]),
        "evse_min_charge_current_A": from_rn(c["EVSEMinimumChargeCurrent"]),
        "evse_max_voltage_V": from_rn(c["EVSEMaximumVoltage"]), "evse_min_voltage_V": from_rn(c["EVSEMinimumVoltage"])}
    if "BPT_DC_CPDResEnergyTransferMode" in d:
        out["bpt"] = M.EVSEBPTDischargeLimits(
            evse_max_discharge_power_W=from_rn(c["EVSEMaximumDischargePower"]),
            evse_min_discharge_power_W=from_rn(c["EVSEMinimumDischargePower"]),
            evse_max_discharge_current_A=from_rn(c["EVSEMaximumDischargeCurrent"]),
            evse_min_discharge_current_A=from_rn(c["EVSEMinimumDischargeCurrent"]))
    return out


@enc("ACChargeParameterDiscoveryReq")
def _(m, mode):
    c = {"EVMaximumChargePower": rn(m.ev_max_charge_power_W), "EVMinimumChargePower": rn(m.ev_min_charge_power_W)}
    if m.bpt is None:
        return {"AC_CPDReqEnergyTransferMode": c}
    c.update({"EVMaximumDischargePower": rn(m.bpt.ev_max_discharge_power_W),
              "EVMinimumDischargePower": rn(m.bpt.ev_min_discharge_power_W)})
    return {"BPT_AC_CPDReqEnergyTransferMode": c}


@dec("ACChargeParameterDiscoveryReq")
def _(d):
    c = d.get("AC_CPDReqEnergyTransferMode") or d["BPT_AC_CPDReqEnergyTransferMode"]
    out: dict[str, Any] = {"ev_max_charge_power_W": from_rn(c["EVMaximumChargePower"]),
                           "ev_min_charge_power_W": from_rn(c["EVMinimumChargePower"])}
    if "BPT_AC_CPDReqEnergyTransferMode" in d:
        out["bpt"] = M.EVBPTDischargeLimits(ev_max_discharge_power_W=from_rn(c["EVMaximumDischargePower"]),
                                            ev_min_discharge_power_W=from_rn(c["EVMinimumDischargePower"]))
    return out


@enc("ACChargeParameterDiscoveryRes")
def _(m, mode):
    c = {"EVSEMaximumChargePower": rn(m.evse_max_charge_power_W), "EVSEMinimumChargePower": rn(m.evse_min_charge_power_W),
         "EVSENominalFrequency": rn(m.evse_nominal_frequency_Hz)}
    put_rn(c, "EVSEPresentActivePower", m.evse_present_active_power_W)
    if m.bpt is None:
        return {**h.rc(m), "AC_CPDResEnergyTransferMode": c}
    c.update({"EVSEMaximumDischargePower": rn(m.bpt.evse_max_discharge_power_W),
              "EVSEMinimumDischargePower": rn(m.bpt.evse_min_discharge_power_W)})
    return {**h.rc(m), "BPT_AC_CPDResEnergyTransferMode": c}


@dec("ACChargeParameterDiscoveryRes")
def _(d):
    c = d.get("AC_CPDResEnergyTransferMode") or d["BPT_AC_CPDResEnergyTransferMode"]  # _L2/_L3, asymmetry, ramp dropped
    out: dict[str, Any] = {**h.rc_of(d), "evse_max_charge_power_W": from_rn(c["EVSEMaximumChargePower"]),
                           "evse_min_charge_power_W": from_rn(c["EVSEMinimumChargePower"]),
                           "evse_nominal_frequency_Hz": from_rn(c["EVSENominalFrequency"]),
                           "evse_present_active_power_W": get_rn(c, "EVSEPresentActivePower")}
    if "BPT_AC_CPDResEnergyTransferMode" in d:
        out["bpt"] = M.EVSEBPTDischargeLimits(evse_max_discharge_power_W=from_rn(c["EVSEMaximumDischargePower"]),
                                              evse_min_discharge_power_W=from_rn(c["EVSEMinimumDischargePower"]))
    return out


# --- DC preparation ------------------------------------------------------------------------------


@enc("DCPreChargeReq")
def _(m, mode):
    return {"EVProcessing": m.ev_processing.value, "EVPresentVoltage": rn(m.ev_present_voltage_V),
            "EVTargetVoltage": rn(m.ev_target_voltage_V)}


@dec("DCPreChargeReq")
def _(d):
    return {"ev_processing": M.Processing(d["EVProcessing"]), "ev_present_voltage_V": from_rn(d["EVPresentVoltage"]),
            "ev_target_voltage_V": from_rn(d["EVTargetVoltage"])}


@enc("DCWeldingDetectionReq")
def _(m, mode):
    return {"EVProcessing": m.ev_processing.value}


@dec("DCWeldingDetectionReq")
def _(d):
    return {"ev_processing": M.Processing(d["EVProcessing"])}


# --- loops ---------------------------------------------------------------------------------------

_DISPLAY = (("PresentSOC", "present_soc_pct", True), ("MinimumSOC", "minimum_soc_pct", True),
            ("TargetSOC", "target_soc_pct", True), ("MaximumSOC", "maximum_soc_pct", True),
            ("RemainingTimeToTargetSOC", "remaining_time_to_target_soc_s", True),
            ("ChargingComplete", "charging_complete", False), ("BatteryEnergyCapacity", "battery_energy_capacity_Wh", None))


def display(p: M.DisplayParameters) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for key, attr, as_int in _DISPLAY:
        v = getattr(p, attr)
        if v is not None:
            d[key] = round(v) if as_int else (rn(v) if as_int is None else v)
    return d


def display_of(d: dict[str, Any]) -> M.DisplayParameters:
    kw: dict[str, Any] = {}
    for key, attr, as_int in _DISPLAY:
        if key in d:
            kw[attr] = float(d[key]) if as_int else (from_rn(d[key]) if as_int is None else d[key])
    return M.DisplayParameters(**kw)


def meter(m: M.MeterInfo) -> dict[str, Any]:
    d: dict[str, Any] = {"MeterID": m.meter_id, "ChargedEnergyReadingWh": round(m.charged_energy_reading_Wh)}
    put(d, "BPT_DischargedEnergyReadingWh", m.bpt_discharged_energy_reading_Wh, round)
    return d


def meter_of(d: dict[str, Any]) -> M.MeterInfo:
    v = d.get("BPT_DischargedEnergyReadingWh")
    return M.MeterInfo(meter_id=d["MeterID"], charged_energy_reading_Wh=float(d["ChargedEnergyReadingWh"]),
                       bpt_discharged_energy_reading_Wh=None if v is None else float(v))


def _loop_head(m) -> dict[str, Any]:
    b: dict[str, Any] = {}
    put(b, "DisplayParameters", m.display, display)
    b["MeterInfoRequested"] = m.meter_info_requested
    return b


def _loop_head_of(d) -> dict[str, Any]:
    return {"display": None if "DisplayParameters" not in d else display_of(d["DisplayParameters"]),
            "meter_info_requested": d["MeterInfoRequested"]}


@enc("DCChargeLoopReq")
def _(m, mode):
    b = {**_loop_head(m), "EVPresentVoltage": rn(m.ev_present_voltage_V)}
    bpt = m.ev_max_discharge_power_W is not None or m.ev_max_discharge_current_A is not None
    c: dict[str, Any] = {}
    if m.control_mode is ControlMode.DYNAMIC:
        # required in Dynamic; our class holds no EVMinimumChargePower / EVMinimumVoltage: 0
        for key, v in (("EVTargetEnergyRequest", m.ev_target_energy_request_Wh),
                       ("EVMaximumEnergyRequest", m.ev_max_energy_request_Wh),
                       ("EVMinimumEnergyRequest", m.ev_min_energy_request_Wh),
                       ("EVMaximumChargePower", m.ev_max_charge_power_W), ("EVMinimumChargePower", 0.0),
                       ("EVMaximumChargeCurrent", m.ev_max_charge_current_A),
                       ("EVMaximumVoltage", m.ev_max_voltage_V), ("EVMinimumVoltage", 0.0)):
            c[key] = rn(v or 0.0)
        if bpt:
            c.update({"EVMaximumDischargePower": rn(m.ev_max_discharge_power_W or 0.0),
                      "EVMinimumDischargePower": rn(0.0),
                      "EVMaximumDischargeCurrent": rn(m.ev_max_discharge_current_A or 0.0)})
    else:
        put_rn(c, "EVTargetEnergyRequest", m.ev_target_energy_request_Wh)
        put_rn(c, "EVMaximumEnergyRequest", m.ev_max_energy_request_Wh)
        put_rn(c, "EVMinimumEnergyRequest", m.ev_min_energy_request_Wh)
        c["EVTargetCurrent"] = rn(m.ev_target_current_A or 0.0)
        c["EVTargetVoltage"] = rn(m.ev_target_voltage_V or 0.0)
        put_rn(c, "EVMaximumChargePower", m.ev_max_charge_power_W)
        put_rn(c, "EVMaximumChargeCurrent", m.ev_max_charge_current_A)
        put_rn(c, "EVMaximumVoltage", m.ev_max_voltage_V)
        if bpt:
            put_rn(c, "EVMaximumDischargePower", m.ev_max_discharge_power_W)
            put_rn(c, "EVMaximumDischargeCurrent", m.ev_max_discharge_current_A)
    b[_mode_key(m.control_mode, bpt, "DC_CLReqControlMode")] = c
    return b


@dec("DCChargeLoopReq")
def _(d):
    mode, bpt, c = _find_mode(d, "DC_CLReqControlMode")
    out = {**_loop_head_of(d), "control_mode": mode, "ev_present_voltage_V": from_rn(d["EVPresentVoltage"]),
           "ev_target_current_A": get_rn(c, "EVTargetCurrent"), "ev_target_voltage_V": get_rn(c, "EVTargetVoltage"),
           "ev_max_charge_power_W": get_rn(c, "EVMaximumChargePower"),
           "ev_max_charge_current_A": get_rn(c, "EVMaximumChargeCurrent"), "ev_max_voltage_V": get_rn(c, "EVMaximumVoltage"),
           "ev_max_discharge_power_W": get_rn(c, "EVMaximumDischargePower"),
           "ev_max_discharge_current_A": get_rn(c, "EVMaximumDischargeCurrent"),
           "ev_target_energy_request_Wh": get_rn(c, "EVTargetEnergyRequest"),
           "ev_max_energy_request_Wh": get_rn(c, "EVMaximumEnergyRequest"),
           "ev_min_energy_request_Wh": get_rn(c, "EVMinimumEnergyRequest")}
    return out


def _res_head(m) -> dict[str, Any]:
    b = h.rc(m)
    put(b, "EVSEStatus", h.evse_status(m.evse_status))
    put(b, "MeterInfo", m.meter_info, meter)
    return b


def _res_head_of(d) -> dict[str, Any]:
    return {**h.rc_of(d), "evse_status": h.evse_status_of(d.get("EVSEStatus")),
            "meter_info": None if "MeterInfo" not in d else meter_of(d["MeterInfo"])}


@enc("DCChargeLoopRes")
def _(m, mode):
    b = {**_res_head(m), "EVSEPresentCurrent": rn(m.evse_present_current_A),
         "EVSEPresentVoltage": rn(m.evse_present_voltage_V), "EVSEPowerLimitAchieved": m.evse_power_limit_achieved,
         "EVSECurrentLimitAchieved": m.evse_current_limit_achieved,
         "EVSEVoltageLimitAchieved": m.evse_voltage_limit_achieved}
    bpt = m.evse_max_discharge_power_W is not None or m.evse_max_discharge_current_A is not None
    c: dict[str, Any] = {}
    if mode is ControlMode.DYNAMIC:  # required; EVSEMinimumChargePower (/Voltage) not held: 0
        c.update({"EVSEMaximumChargePower": rn(m.evse_max_charge_power_W or 0.0), "EVSEMinimumChargePower": rn(0.0),
                  "EVSEMaximumChargeCurrent": rn(m.evse_max_charge_current_A or 0.0),
                  "EVSEMaximumVoltage": rn(m.evse_max_voltage_V or 0.0)})
        if bpt:
            c.update({"EVSEMaximumDischargePower": rn(m.evse_max_discharge_power_W or 0.0),
                      "EVSEMinimumDischargePower": rn(0.0),
                      "EVSEMaximumDischargeCurrent": rn(m.evse_max_discharge_current_A or 0.0),
                      "EVSEMinimumVoltage": rn(0.0)})
    else:
        put_rn(c, "EVSEMaximumChargePower", m.evse_max_charge_power_W)
        put_rn(c, "EVSEMaximumChargeCurrent", m.evse_max_charge_current_A)
        put_rn(c, "EVSEMaximumVoltage", m.evse_max_voltage_V)
        if bpt:
            put_rn(c, "EVSEMaximumDischargePower", m.evse_max_discharge_power_W)
            put_rn(c, "EVSEMaximumDischargeCurrent", m.evse_max_discharge_current_A)
    b[_mode_key(mode, bpt, "DC_CLResControlMode")] = c
    return b


@dec("DCChargeLoopRes")
def _(d):
    _, _, c = _find_mode(d, "DC_CLResControlMode")
    return {**_res_head_of(d), "evse_present_current_A": from_rn(d["EVSEPresentCurrent"]),
            "evse_present_voltage_V": from_rn(d["EVSEPresentVoltage"]),
            "evse_power_limit_achieved": d["EVSEPowerLimitAchieved"],
            "evse_current_limit_achieved": d["EVSECurrentLimitAchieved"],
            "evse_voltage_limit_achieved": d["EVSEVoltageLimitAchieved"],
            "evse_max_charge_power_W": get_rn(c, "EVSEMaximumChargePower"),
            "evse_max_charge_current_A": get_rn(c, "EVSEMaximumChargeCurrent"),
            "evse_max_voltage_V": get_rn(c, "EVSEMaximumVoltage"),
            "evse_max_discharge_power_W": get_rn(c, "EVSEMaximumDischargePower"),
            "evse_max_discharge_current_A": get_rn(c, "EVSEMaximumDischargeCurrent")}


@enc("ACChargeLoopReq")
def _(m, mode):
    b = _loop_head(m)
    c: dict[str, Any] = {}
    if m.control_mode is ControlMode.DYNAMIC:
        # required in Dynamic; our class holds only the target energy: max = target, min = 0 Wh,
        # reactive power 0 var
        target = m.ev_target_energy_request_Wh or 0.0
        c.update({"EVTargetEnergyRequest": rn(target), "EVMaximumEnergyRequest": rn(target),
                  "EVMinimumEnergyRequest": rn(0.0), "EVMaximumChargePower": rn(m.ev_max_charge_power_W or 0.0),
                  "EVMinimumChargePower": rn(m.ev_min_charge_power_W or 0.0),
                  "EVPresentActivePower": rn(m.ev_present_active_power_W), "EVPresentReactivePower": rn(0.0)})
    else:
        put_rn(c, "EVTargetEnergyRequest", m.ev_target_energy_request_Wh)
        put_rn(c, "EVMaximumChargePower", m.ev_max_charge_power_W)
        put_rn(c, "EVMinimumChargePower", m.ev_min_charge_power_W)
        c["EVPresentActivePower"] = rn(m.ev_present_active_power_W)
    b[_mode_key(m.control_mode, False, "AC_CLReqControlMode")] = c
    return b


@dec("ACChargeLoopReq")
def _(d):
    mode, _, c = _find_mode(d, "AC_CLReqControlMode")
    return {**_loop_head_of(d), "control_mode": mode, "ev_present_active_power_W": from_rn(c["EVPresentActivePower"]),
            "ev_max_charge_power_W": get_rn(c, "EVMaximumChargePower"),
            "ev_min_charge_power_W": get_rn(c, "EVMinimumChargePower"),
            "ev_target_energy_request_Wh": get_rn(c, "EVTargetEnergyRequest")}


@enc("ACChargeLoopRes")
def _(m, mode):
    b = _res_head(m)
    c: dict[str, Any] = {}
    if mode is ControlMode.DYNAMIC:
        c["EVSETargetActivePower"] = rn(m.evse_target_active_power_W or 0.0)
    else:
        put_rn(c, "EVSETargetActivePower", m.evse_target_active_power_W)
    put_rn(c, "EVSEPresentActivePower", m.evse_present_active_power_W)
    b[_mode_key(mode, False, "AC_CLResControlMode")] = c
    return b


@dec("ACChargeLoopRes")
def _(d):
    _, _, c = _find_mode(d, "AC_CLResControlMode")
    return {**_res_head_of(d), "evse_target_active_power_W": get_rn(c, "EVSETargetActivePower"),
            "evse_present_active_power_W": get_rn(c, "EVSEPresentActivePower")}
