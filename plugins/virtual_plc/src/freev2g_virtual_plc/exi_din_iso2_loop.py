"""DIN 70121 / ISO 15118-2 Body tables of the energy loop: PowerDelivery, CurrentDemand,
ChargingStatus, MeteringReceipt, SessionStopReq (registered into exi_din_iso2_msgs)."""
from __future__ import annotations

from typing import Any

from freev2g.model.enums import ChargeProgress, ChargingSession

from . import exi_din_iso2 as h
from .exi_codec import ExiBridgeError, from_pv, hexbin, opt, put, pv
from .exi_din_iso2_msgs import dec, enc, rc, rc_of
from .messages import iso2


@enc("PowerDeliveryReq")
def _(fam, m):
    if fam == "din":
        b: dict[str, Any] = {"ReadyToChargeState": m.ready_to_charge_state}
        if m.charging_profile:  # DIN: SAScheduleTupleID lives inside ChargingProfile
            if m.sa_schedule_tuple_id is None:
                raise ExiBridgeError("DIN PowerDeliveryReq: a ChargingProfile needs its SAScheduleTupleID")
            b["ChargingProfile"] = {"SAScheduleTupleID": m.sa_schedule_tuple_id,
                                    "ProfileEntry": h.profile(fam, m.charging_profile)}
        # without a profile the DIN schema has no place for our sa_schedule_tuple_id: not sent
        param: dict[str, Any] = {"DC_EVStatus": h.ev_status(m.dc_ev_status)}
        put(param, "BulkChargingComplete", m.bulk_charging_complete)
        param["ChargingComplete"] = m.charging_complete
        b["DC_EVPowerDeliveryParameter"] = param
        return b
    b = {"ChargeProgress": m.charge_progress.value, "SAScheduleTupleID": m.sa_schedule_tuple_id}
    if m.charging_profile:
        b["ChargingProfile"] = {"ProfileEntry": h.profile(fam, m.charging_profile)}
    if m.dc_ev_status is not None:
        param = {"DC_EVStatus": h.ev_status(m.dc_ev_status)}
        put(param, "BulkChargingComplete", m.bulk_charging_complete)
        param["ChargingComplete"] = m.charging_complete
        b["DC_EVPowerDeliveryParameter"] = param
    return b


@dec("PowerDeliveryReq")
def _(fam, d):
    param = d.get("DC_EVPowerDeliveryParameter")
    prof = d.get("ChargingProfile")
    out: dict[str, Any] = {"charging_profile": h.profile_of(prof["ProfileEntry"]) if prof else ()}
    if param is not None:
        out.update(dc_ev_status=h.ev_status_of(param["DC_EVStatus"]),
                   bulk_charging_complete=param.get("BulkChargingComplete"), charging_complete=param["ChargingComplete"])
    if fam == "din":
        out.update(ready_to_charge_state=d["ReadyToChargeState"],
                   sa_schedule_tuple_id=prof["SAScheduleTupleID"] if prof else None)
        return out
    out.update(charge_progress=ChargeProgress(d["ChargeProgress"]), sa_schedule_tuple_id=d["SAScheduleTupleID"])
    return out


def _evse_status_pair(m, b):
    if getattr(m, "ac_evse_status", None) is not None:
        b["AC_EVSEStatus"] = h.ac_status(m.ac_evse_status)
    elif m.dc_evse_status is not None:
        b["DC_EVSEStatus"] = h.evse_status(m.dc_evse_status)
    else:
        # the schema requires one status; with neither set (a FAILED answer built from the
        # response code alone) an AC status with no notification is written
        b["AC_EVSEStatus"] = h.ac_status(iso2.ACEVSEStatus())
    return b


def _evse_status_pair_of(d):
    return {"ac_evse_status": opt(d, "AC_EVSEStatus", h.ac_status_of),
            "dc_evse_status": opt(d, "DC_EVSEStatus", h.evse_status_of)}


@enc("PowerDeliveryRes")
def _(fam, m):
    if fam == "din":
        return {**rc(m), "DC_EVSEStatus": h.evse_status(m.dc_evse_status)}
    return _evse_status_pair(m, rc(m))


@dec("PowerDeliveryRes")
def _(fam, d):
    if fam == "din":
        return {**rc_of(d), "dc_evse_status": h.evse_status_of(d["DC_EVSEStatus"])}
    return {**rc_of(d), **_evse_status_pair_of(d)}


@enc("CurrentDemandReq")
def _(fam, m):
    b: dict[str, Any] = {"DC_EVStatus": h.ev_status(m.dc_ev_status), "EVTargetCurrent": pv(m.ev_target_current_A, "A")}
    put(b, "EVMaximumVoltageLimit", m.ev_maximum_voltage_limit_V, lambda v: pv(v, "V"))
    put(b, "EVMaximumCurrentLimit", m.ev_maximum_current_limit_A, lambda v: pv(v, "A"))
    put(b, "EVMaximumPowerLimit", m.ev_maximum_power_limit_W, lambda v: pv(v, "W"))
    put(b, "BulkChargingComplete", m.bulk_charging_complete)
    b["ChargingComplete"] = m.charging_complete
    put(b, "RemainingTimeToFullSoC", m.remaining_time_to_full_soc_s, lambda v: pv(v, "s"))
    put(b, "RemainingTimeToBulkSoC", m.remaining_time_to_bulk_soc_s, lambda v: pv(v, "s"))
    b["EVTargetVoltage"] = pv(m.ev_target_voltage_V, "V")
    return b


@dec("CurrentDemandReq")
def _(fam, d):
    return {"dc_ev_status": h.ev_status_of(d["DC_EVStatus"]), "ev_target_current_A": from_pv(d["EVTargetCurrent"]),
            "ev_maximum_voltage_limit_V": opt(d, "EVMaximumVoltageLimit", from_pv),
            "ev_maximum_current_limit_A": opt(d, "EVMaximumCurrentLimit", from_pv),
            "ev_maximum_power_limit_W": opt(d, "EVMaximumPowerLimit", from_pv),
            "bulk_charging_complete": d.get("BulkChargingComplete"), "charging_complete": d["ChargingComplete"],
            "remaining_time_to_full_soc_s": opt(d, "RemainingTimeToFullSoC", from_pv),
            "remaining_time_to_bulk_soc_s": opt(d, "RemainingTimeToBulkSoC", from_pv),
            "ev_target_voltage_V": from_pv(d["EVTargetVoltage"])}


@enc("CurrentDemandRes")
def _(fam, m):
    b = {**rc(m), "DC_EVSEStatus": h.evse_status(m.dc_evse_status),
         "EVSEPresentVoltage": pv(m.evse_present_voltage_V, "V"), "EVSEPresentCurrent": pv(m.evse_present_current_A, "A"),
         "EVSECurrentLimitAchieved": m.evse_current_limit_achieved,
         "EVSEVoltageLimitAchieved": m.evse_voltage_limit_achieved, "EVSEPowerLimitAchieved": m.evse_power_limit_achieved}
    put(b, "EVSEMaximumVoltageLimit", m.evse_maximum_voltage_limit_V, lambda v: pv(v, "V"))
    put(b, "EVSEMaximumCurrentLimit", m.evse_maximum_current_limit_A, lambda v: pv(v, "A"))
    put(b, "EVSEMaximumPowerLimit", m.evse_maximum_power_limit_W, lambda v: pv(v, "W"))
    if fam == "iso2":
        b.update({"EVSEID": m.evse_id, "SAScheduleTupleID": m.sa_schedule_tuple_id})
        put(b, "MeterInfo", m.meter_info, lambda v: h.meter_info(fam, v))
        put(b, "ReceiptRequired", m.receipt_required)
    return b


@dec("CurrentDemandRes")
def _(fam, d):
    out = {**rc_of(d), "dc_evse_status": h.evse_status_of(d["DC_EVSEStatus"]),
           "evse_present_voltage_V": from_pv(d["EVSEPresentVoltage"]),
           "evse_present_current_A": from_pv(d["EVSEPresentCurrent"]),
           "evse_current_limit_achieved": d["EVSECurrentLimitAchieved"],
           "evse_voltage_limit_achieved": d["EVSEVoltageLimitAchieved"],
           "evse_power_limit_achieved": d["EVSEPowerLimitAchieved"],
           "evse_maximum_voltage_limit_V": opt(d, "EVSEMaximumVoltageLimit", from_pv),
           "evse_maximum_current_limit_A": opt(d, "EVSEMaximumCurrentLimit", from_pv),
           "evse_maximum_power_limit_W": opt(d, "EVSEMaximumPowerLimit", from_pv)}
    if fam == "iso2":
        out.update(evse_id=d["EVSEID"], sa_schedule_tuple_id=d["SAScheduleTupleID"],
                   meter_info=opt(d, "MeterInfo", lambda v: h.meter_info_of(fam, v)),
                   receipt_required=d.get("ReceiptRequired"))
    return out


@enc("ChargingStatusReq")
def _(fam, m):
    return {}


@dec("ChargingStatusReq")
def _(fam, d):
    return {}


@enc("ChargingStatusRes")
def _(fam, m):
    b = {**rc(m), "EVSEID": m.evse_id, "SAScheduleTupleID": m.sa_schedule_tuple_id}
    put(b, "EVSEMaxCurrent", m.evse_max_current_A, lambda v: pv(v, "A"))
    put(b, "MeterInfo", m.meter_info, lambda v: h.meter_info(fam, v))
    b["ReceiptRequired"] = m.receipt_required
    b["AC_EVSEStatus"] = h.ac_status(m.ac_evse_status)
    return b


@dec("ChargingStatusRes")
def _(fam, d):
    return {**rc_of(d), "evse_id": d["EVSEID"], "sa_schedule_tuple_id": d["SAScheduleTupleID"],
            "evse_max_current_A": opt(d, "EVSEMaxCurrent", from_pv),
            "meter_info": opt(d, "MeterInfo", lambda v: h.meter_info_of(fam, v)),
            "receipt_required": d.get("ReceiptRequired", False), "ac_evse_status": h.ac_status_of(d["AC_EVSEStatus"])}


@enc("MeteringReceiptReq")
def _(fam, m):
    # the body repeats the header's SessionID; our `signature` (opaque bytes standing for the
    # header's xmldsig Signature) has no EXI form here and is not sent
    b: dict[str, Any] = {}
    put(b, "Id", m.id)
    b["SessionID"] = hexbin(m.session_id, "SessionID")
    put(b, "SAScheduleTupleID", m.sa_schedule_tuple_id)
    b["MeterInfo"] = h.meter_info(fam, m.meter_info)
    return b


@dec("MeteringReceiptReq")
def _(fam, d):
    return {"id": d.get("Id"), "sa_schedule_tuple_id": d.get("SAScheduleTupleID"),
            "meter_info": h.meter_info_of(fam, d["MeterInfo"])}


@enc("MeteringReceiptRes")
def _(fam, m):
    return _evse_status_pair(m, rc(m))


@dec("MeteringReceiptRes")
def _(fam, d):
    return {**rc_of(d), **_evse_status_pair_of(d)}


@enc("SessionStopReq")
def _(fam, m):
    return {} if fam == "din" else {"ChargingSession": m.charging_session.value}


@dec("SessionStopReq")
def _(fam, d):
    return {} if fam == "din" else {"charging_session": ChargingSession(d["ChargingSession"])}
