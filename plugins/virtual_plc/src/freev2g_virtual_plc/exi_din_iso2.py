"""DIN 70121 and ISO 15118-2 messages <-> freev2g.exi dicts (V2G_Message: Header + Body).

Body element names are the class names (the XSD names). Both schemas share most types; where
they differ (DIN: EVSEID hexBinary, PMax a short, no DepartureTime in DC_EVChargeParameter,
optional EVCabinConditioning; -2: MeterReading unsignedLong, EVSETimeStamp, ChargeProgress)
the `fam` argument ("din" / "iso2") chooses. Defaults the schema requires but our classes do
not hold are noted where they are written (see README "EXI bridge" for the list of gaps).
"""
from __future__ import annotations

from typing import Any

from freev2g.model.enums import EVErrorCode, EVSENotification, EVSEStatusCode, IsolationLevel
from freev2g.model.params import DCEVSEChargeParameter, DCEVStatus
from freev2g.model.schedule import ChargingProfileEntry, PMaxScheduleEntry, SAScheduleList, SAScheduleTuple

from .exi_codec import ExiBridgeError, from_pv, opt, put, pv, session_bytes, session_hex
from .messages import din_iso2, iso2

# DIN PMax / ChargingProfileEntryMaxPower are bare shorts whose unit the standard does not state;
# implementations disagree between W and kW (charging-domain.md 3.5, [verify]): configurable
# with set_din_power_unit(). In W a power above 32767 W is written as 32767 W (the most the
# type holds: a DC charger's PMax saturates there); in kW it is rounded to whole kW.
DIN_POWER_UNITS = {"W": 1.0, "kW": 1000.0}
din_power_unit = "W"


def set_din_power_unit(unit: str) -> None:
    global din_power_unit
    if unit not in DIN_POWER_UNITS:
        raise ExiBridgeError(f"DIN power unit {unit!r}: expected one of {', '.join(DIN_POWER_UNITS)}")
    din_power_unit = unit


def din_power(watts: float) -> int:
    return max(-32768, min(32767, round(watts / DIN_POWER_UNITS[din_power_unit])))


def din_power_of(value: int) -> float:
    return float(value * DIN_POWER_UNITS[din_power_unit])


# --- data types ------------------------------------------------------------------------------


def ev_status(s: DCEVStatus) -> dict[str, Any]:
    return {"EVReady": s.ev_ready, "EVErrorCode": s.error_code.value, "EVRESSSOC": round(s.soc_pct)}


def ev_status_of(d: dict[str, Any]) -> DCEVStatus:
    return DCEVStatus(ev_ready=d["EVReady"], error_code=EVErrorCode(d["EVErrorCode"]), soc_pct=float(d["EVRESSSOC"]))


def evse_status(s: din_iso2.DCEVSEStatus) -> dict[str, Any]:
    d = {"NotificationMaxDelay": s.notification_max_delay_s, "EVSENotification": s.notification.value,
         "EVSEStatusCode": s.status_code.value}
    put(d, "EVSEIsolationStatus", s.isolation_status, lambda v: v.value)
    return d


def evse_status_of(d: dict[str, Any]) -> din_iso2.DCEVSEStatus:
    return din_iso2.DCEVSEStatus(notification=EVSENotification(d["EVSENotification"]),
                                 notification_max_delay_s=d["NotificationMaxDelay"],
                                 isolation_status=opt(d, "EVSEIsolationStatus", IsolationLevel),
                                 status_code=EVSEStatusCode(d["EVSEStatusCode"]))


def ac_status(s: iso2.ACEVSEStatus) -> dict[str, Any]:
    return {"NotificationMaxDelay": s.notification_max_delay_s, "EVSENotification": s.notification.value,
            "RCD": s.rcd}


def ac_status_of(d: dict[str, Any]) -> iso2.ACEVSEStatus:
    return iso2.ACEVSEStatus(notification=EVSENotification(d["EVSENotification"]),
                             notification_max_delay_s=d["NotificationMaxDelay"], rcd=d["RCD"])


def meter_info(fam: str, m: iso2.MeterInfo) -> dict[str, Any]:
    d: dict[str, Any] = {"MeterID": m.meter_id}
    put(d, "MeterReading", m.meter_reading_Wh, (lambda v: pv(v, "Wh")) if fam == "din" else int)
    put(d, "SigMeterReading", m.sig_meter_reading)
    put(d, "MeterStatus", m.meter_status)
    put(d, "TMeter", m.t_meter_s)
    return d


def meter_info_of(fam: str, d: dict[str, Any]) -> iso2.MeterInfo:
    reading = d.get("MeterReading")
    if isinstance(reading, dict):
        reading = round(from_pv(reading))
    return iso2.MeterInfo(meter_id=d["MeterID"], meter_reading_Wh=reading, sig_meter_reading=d.get("SigMeterReading"),
                          meter_status=d.get("MeterStatus"), t_meter_s=d.get("TMeter"))


def ev_cp(fam: str, p: din_iso2.DCEVChargeParameterMsg) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if fam == "iso2":
        put(d, "DepartureTime", p.departure_time_s)
    elif p.departure_time_s is not None:
        raise ExiBridgeError("DIN DC_EVChargeParameter has no DepartureTime")
    d["DC_EVStatus"] = ev_status(p.dc_ev_status)
    d["EVMaximumCurrentLimit"] = pv(p.ev_maximum_current_limit_A, "A")
    put(d, "EVMaximumPowerLimit", p.ev_maximum_power_limit_W, lambda v: pv(v, "W"))
    d["EVMaximumVoltageLimit"] = pv(p.ev_maximum_voltage_limit_V, "V")
    put(d, "EVEnergyCapacity", p.ev_energy_capacity_Wh, lambda v: pv(v, "Wh"))
    put(d, "EVEnergyRequest", p.ev_energy_request_Wh, lambda v: pv(v, "Wh"))
    put(d, "FullSOC", p.full_soc_pct, round)
    put(d, "BulkSOC", p.bulk_soc_pct, round)
    return d


def ev_cp_of(d: dict[str, Any]) -> din_iso2.DCEVChargeParameterMsg:
    return din_iso2.DCEVChargeParameterMsg(
        departure_time_s=d.get("DepartureTime"), dc_ev_status=ev_status_of(d["DC_EVStatus"]),
        ev_maximum_current_limit_A=from_pv(d["EVMaximumCurrentLimit"]),
        ev_maximum_power_limit_W=opt(d, "EVMaximumPowerLimit", from_pv),
        ev_maximum_voltage_limit_V=from_pv(d["EVMaximumVoltageLimit"]),
        ev_energy_capacity_Wh=opt(d, "EVEnergyCapacity", from_pv), ev_energy_request_Wh=opt(d, "EVEnergyRequest", from_pv),
        full_soc_pct=opt(d, "FullSOC", float), bulk_soc_pct=opt(d, "BulkSOC", float))


def evse_dc_cp(p: DCEVSEChargeParameter, status: din_iso2.DCEVSEStatus) -> dict[str, Any]:
    d = {"DC_EVSEStatus": evse_status(status), "EVSEMaximumCurrentLimit": pv(p.max_current_A, "A"),
         "EVSEMaximumPowerLimit": pv(p.max_power_W, "W"), "EVSEMaximumVoltageLimit": pv(p.max_voltage_V, "V"),
         "EVSEMinimumCurrentLimit": pv(p.min_current_A, "A"), "EVSEMinimumVoltageLimit": pv(p.min_voltage_V, "V")}
    put(d, "EVSECurrentRegulationTolerance", p.current_regulation_tolerance_A, lambda v: pv(v, "A"))
    d["EVSEPeakCurrentRipple"] = pv(p.peak_current_ripple_A, "A")
    put(d, "EVSEEnergyToBeDelivered", p.energy_to_be_delivered_Wh, lambda v: pv(v, "Wh"))
    return d


def evse_dc_cp_of(d: dict[str, Any]) -> DCEVSEChargeParameter:
    st = d["DC_EVSEStatus"]
    return DCEVSEChargeParameter(
        max_current_A=from_pv(d["EVSEMaximumCurrentLimit"]), max_voltage_V=from_pv(d["EVSEMaximumVoltageLimit"]),
        max_power_W=opt(d, "EVSEMaximumPowerLimit", from_pv) or 0.0,
        min_current_A=from_pv(d["EVSEMinimumCurrentLimit"]), min_voltage_V=from_pv(d["EVSEMinimumVoltageLimit"]),
        peak_current_ripple_A=from_pv(d["EVSEPeakCurrentRipple"]),
        current_regulation_tolerance_A=opt(d, "EVSECurrentRegulationTolerance", from_pv),
        energy_to_be_delivered_Wh=opt(d, "EVSEEnergyToBeDelivered", from_pv),
        status_code=EVSEStatusCode(st["EVSEStatusCode"]),
        isolation=IsolationLevel(st.get("EVSEIsolationStatus", IsolationLevel.INVALID.value)))


def schedules(fam: str, lst: SAScheduleList) -> dict[str, Any]:
    out = []
    for t in lst.tuples:
        entries = []
        for e in t.entries:
            interval = {"start": e.start_s}
            put(interval, "duration", e.duration_s)
            entries.append({"RelativeTimeInterval": interval,
                            "PMax": din_power(e.pmax_W) if fam == "din" else pv(e.pmax_W, "W")})
        sched: dict[str, Any] = {"PMaxScheduleEntry": entries}
        if fam == "din":
            sched = {"PMaxScheduleID": 0, **sched}  # DIN requires an id our tuple does not hold: 0
        out.append({"SAScheduleTupleID": t.tuple_id, "PMaxSchedule": sched})
    return {"SAScheduleTuple": out}


def schedules_of(d: dict[str, Any]) -> SAScheduleList:
    tuples = []
    for t in d["SAScheduleTuple"]:
        entries = [PMaxScheduleEntry(e["RelativeTimeInterval"]["start"],
                                     din_power_of(e["PMax"]) if isinstance(e["PMax"], int) else from_pv(e["PMax"]),
                                     e["RelativeTimeInterval"].get("duration"))
                   for e in t["PMaxSchedule"]["PMaxScheduleEntry"]]
        tuples.append(SAScheduleTuple(t["SAScheduleTupleID"], entries))
    return SAScheduleList(tuples)


def selected(services: tuple[din_iso2.SelectedService, ...]) -> dict[str, Any]:
    out = []
    for s in services:
        d: dict[str, Any] = {"ServiceID": s.service_id}
        put(d, "ParameterSetID", s.parameter_set_id)
        out.append(d)
    return {"SelectedService": out}


def selected_of(d: dict[str, Any]) -> list[din_iso2.SelectedService]:
    return [din_iso2.SelectedService(service_id=s["ServiceID"], parameter_set_id=s.get("ParameterSetID"))
            for s in d["SelectedService"]]


def profile(fam: str, entries: tuple[ChargingProfileEntry, ...]) -> list[dict[str, Any]]:
    out = []
    for e in entries:
        d: dict[str, Any] = {"ChargingProfileEntryStart": e.start_s,
                             "ChargingProfileEntryMaxPower": din_power(e.max_power_W) if fam == "din"
                             else pv(e.max_power_W, "W")}
        if fam == "iso2":
            put(d, "ChargingProfileEntryMaxNumberOfPhasesInUse", e.max_phases)
        out.append(d)
    return out


def profile_of(entries: list[dict[str, Any]]) -> list[ChargingProfileEntry]:
    out = []
    for e in entries:
        p = e["ChargingProfileEntryMaxPower"]
        out.append(ChargingProfileEntry(e["ChargingProfileEntryStart"], din_power_of(p) if isinstance(p, int) else from_pv(p),
                                        e.get("ChargingProfileEntryMaxNumberOfPhasesInUse")))
    return out


from .exi_din_iso2_msgs import body_of, message_of  # noqa: E402  (the per-message tables use the helpers above)


def to_doc(fam: str, msg: Any) -> dict[str, Any]:
    name, body = body_of(fam, msg)
    return {"V2G_Message": {"Header": {"SessionID": session_bytes(msg.session_id)}, "Body": {name: body}}}


def from_doc(fam: str, doc: dict[str, Any]) -> Any:
    v2g = doc["V2G_Message"]
    body = v2g["Body"]
    if len(body) != 1:
        raise ExiBridgeError(f"{fam} V2G_Message Body without a message element: {sorted(body)}")
    name, content = next(iter(body.items()))
    return message_of(fam, name, content, session_hex(v2g["Header"]["SessionID"]))

