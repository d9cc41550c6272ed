"""Per-message Body tables of DIN 70121 / ISO 15118-2 (helpers in exi_din_iso2.py).

ENC[name](fam, msg) -> Body content; DEC[name](fam, content) -> keyword arguments of the class
of that name in messages.din / messages.iso2 (class name = XSD element name).
"""
from __future__ import annotations

from typing import Any, Callable

from freev2g.model.enums import EnergyTransferMode, EVSEProcessing, PaymentOption, ResponseCode
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter
from freev2g.model.schedule import PMaxScheduleEntry, SAScheduleList, SAScheduleTuple

from . import exi_din_iso2 as h
from .exi_codec import ExiBridgeError, from_pv, hexbin, opt, put, pv
from .messages import din, iso2

MODULES = {"din": din, "iso2": iso2}
ENC: dict[str, Callable[[str, Any], dict[str, Any]]] = {}
DEC: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {}


def enc(name: str):
    def deco(fn):
        ENC[name] = fn
        return fn
    return deco


def dec(name: str):
    def deco(fn):
        DEC[name] = fn
        return fn
    return deco


def rc(msg: Any) -> dict[str, Any]:
    return {"ResponseCode": msg.response_code.value}


def rc_of(d: dict[str, Any]) -> dict[str, Any]:
    return {"response_code": ResponseCode(d["ResponseCode"])}


# --- session setup, services, payment ---------------------------------------------------------


@enc("SessionSetupReq")
def _(fam, m):
    return {"EVCCID": hexbin(m.evcc_id, "EVCCID")}


@dec("SessionSetupReq")
def _(fam, d):
    return {"evcc_id": d["EVCCID"].hex().upper()}


@enc("SessionSetupRes")
def _(fam, m):
    if fam == "din":  # DIN EVSEID is hexBinary; DateTimeNow
        b = {**rc(m), "EVSEID": hexbin(m.evse_id, "DIN EVSEID")}
        put(b, "DateTimeNow", m.datetime_now_s)
        return b
    b = {**rc(m), "EVSEID": m.evse_id}
    put(b, "EVSETimeStamp", m.evse_timestamp_s)
    return b


@dec("SessionSetupRes")
def _(fam, d):
    if fam == "din":
        return {**rc_of(d), "evse_id": d["EVSEID"].hex().upper(), "datetime_now_s": d.get("DateTimeNow")}
    return {**rc_of(d), "evse_id": d["EVSEID"], "evse_timestamp_s": d.get("EVSETimeStamp")}


@enc("ServiceDiscoveryReq")
def _(fam, m):
    b: dict[str, Any] = {}
    put(b, "ServiceScope", m.service_scope)
    put(b, "ServiceCategory", m.service_category)
    return b


@dec("ServiceDiscoveryReq")
def _(fam, d):
    return {"service_scope": d.get("ServiceScope"), "service_category": d.get("ServiceCategory")}


@enc("ServiceDiscoveryRes")
def _(fam, m):
    cs = m.charge_service
    opts = [o.value for o in m.payment_options]
    if fam == "din":  # ServiceCategory is required; the charge service's is EVCharging
        return {**rc(m), "PaymentOptions": {"PaymentOption": opts},
                "ChargeService": {"ServiceTag": {"ServiceID": cs.service_id, "ServiceCategory": "EVCharging"},
                                  "FreeService": cs.free_service, "EnergyTransferType": cs.energy_transfer_type.value}}
    charge: dict[str, Any] = {"ServiceID": cs.service_id}
    if cs.service_name:
        charge["ServiceName"] = cs.service_name
    charge.update({"ServiceCategory": "EVCharging", "FreeService": cs.free_service,
                   # at least one mode; a FAILED answer built without modes says DC_extended
                   # -2 has no BPT modes (AC_BPT/DC_BPT are -20 services): not sent
                   "SupportedEnergyTransferMode": {"EnergyTransferMode": [e.value for e in cs.energy_transfer_modes
                                                                          if not e.is_bidirectional]
                                                   or [EnergyTransferMode.DC_EXTENDED.value]}})
    b = {**rc(m), "PaymentOptionList": {"PaymentOption": opts}, "ChargeService": charge}
    if m.services:
        services = []
        for s in m.services:
            sd: dict[str, Any] = {"ServiceID": s.service_id}
            if s.service_name:
                sd["ServiceName"] = s.service_name
            sd.update({"ServiceCategory": s.service_category, "FreeService": s.free_service})
            services.append(sd)
        b["ServiceList"] = {"Service": services}
    return b


@dec("ServiceDiscoveryRes")
def _(fam, d):
    if fam == "din":
        cs = d["ChargeService"]
        return {**rc_of(d), "payment_options": [PaymentOption(o) for o in d["PaymentOptions"]["PaymentOption"]],
                "charge_service": din.ChargeService(service_id=cs["ServiceTag"]["ServiceID"],
                                                    free_service=cs["FreeService"],
                                                    energy_transfer_type=EnergyTransferMode(cs["EnergyTransferType"]))}
    cs = d["ChargeService"]
    services = [iso2.Service(service_id=s["ServiceID"], service_name=s.get("ServiceName", ""),
                             service_category=s["ServiceCategory"], free_service=s["FreeService"])
                for s in d.get("ServiceList", {}).get("Service", [])]
    return {**rc_of(d), "payment_options": [PaymentOption(o) for o in d["PaymentOptionList"]["PaymentOption"]],
            "charge_service": iso2.ChargeService(
                service_id=cs["ServiceID"], service_name=cs.get("ServiceName", ""), free_service=cs["FreeService"],
                energy_transfer_modes=[EnergyTransferMode(e) for e in cs["SupportedEnergyTransferMode"]["EnergyTransferMode"]]),
            "services": services}


@enc("ServiceDetailReq")
def _(fam, m):
    return {"ServiceID": m.service_id}


@dec("ServiceDetailReq")
def _(fam, d):
    return {"service_id": d["ServiceID"]}


@enc("ServiceDetailRes")
def _(fam, m):  # our Parameter values are strings: stringValue
    b = {**rc(m), "ServiceID": m.service_id}
    if m.parameter_sets:
        b["ServiceParameterList"] = {"ParameterSet": [
            {"ParameterSetID": ps.parameter_set_id,
             "Parameter": [{"Name": p.name, "stringValue": p.value} for p in ps.parameters]}
            for ps in m.parameter_sets]}
    return b


def _param_value(p: dict[str, Any]) -> str:
    for key in ("stringValue", "boolValue", "byteValue", "shortValue", "intValue"):
        if key in p:
            v = p[key]
            return ("true" if v else "false") if key == "boolValue" else str(v)
    return repr(from_pv(p["physicalValue"]))


@dec("ServiceDetailRes")
def _(fam, d):
    sets = [iso2.ParameterSet(parameter_set_id=ps["ParameterSetID"],
                              parameters=[iso2.Parameter(name=p["Name"], value=_param_value(p)) for p in ps["Parameter"]])
            for ps in d.get("ServiceParameterList", {}).get("ParameterSet", [])]
    return {**rc_of(d), "service_id": d["ServiceID"], "parameter_sets": sets}


def _selection_enc(fam, m):
    return {"SelectedPaymentOption": m.selected_payment_option.value,
            "SelectedServiceList": h.selected(m.selected_services)}


def _selection_dec(fam, d):
    return {"selected_payment_option": PaymentOption(d["SelectedPaymentOption"]),
            "selected_services": h.selected_of(d["SelectedServiceList"])}


for _n in ("ServicePaymentSelectionReq", "PaymentServiceSelectionReq"):
    ENC[_n], DEC[_n] = _selection_enc, _selection_dec
for _n in ("ServicePaymentSelectionRes", "PaymentServiceSelectionRes", "SessionStopRes"):
    ENC[_n], DEC[_n] = (lambda fam, m: rc(m)), (lambda fam, d: rc_of(d))


@enc("ContractAuthenticationReq")
def _(fam, m):  # DIN GenChallenge is a string: our bytes as hex
    b: dict[str, Any] = {}
    put(b, "GenChallenge", m.gen_challenge, lambda v: v.hex().upper())
    return b


@dec("ContractAuthenticationReq")
def _(fam, d):
    return {"gen_challenge": opt(d, "GenChallenge", bytes.fromhex)}


def _processing_enc(fam, m):
    return {**rc(m), "EVSEProcessing": m.evse_processing.value}


def _processing_dec(fam, d):
    return {**rc_of(d), "evse_processing": EVSEProcessing(d["EVSEProcessing"])}


for _n in ("ContractAuthenticationRes", "AuthorizationRes"):
    ENC[_n], DEC[_n] = _processing_enc, _processing_dec


@enc("PaymentDetailsReq")
def _(fam, m):
    if not m.contract_signature_cert_chain:
        raise ExiBridgeError("PaymentDetailsReq: ContractSignatureCertChain needs at least the leaf Certificate")
    leaf, *subs = m.contract_signature_cert_chain
    chain: dict[str, Any] = {"Certificate": leaf}
    if subs:
        chain["SubCertificates"] = {"Certificate": list(subs)}
    return {"eMAID": m.emaid, "ContractSignatureCertChain": chain}


@dec("PaymentDetailsReq")
def _(fam, d):
    chain = d["ContractSignatureCertChain"]
    return {"emaid": d["eMAID"],
            "contract_signature_cert_chain": [chain["Certificate"], *chain.get("SubCertificates", {}).get("Certificate", [])]}


@enc("PaymentDetailsRes")
def _(fam, m):
    return {**rc(m), "GenChallenge": m.gen_challenge, "EVSETimeStamp": m.evse_timestamp_s}


@dec("PaymentDetailsRes")
def _(fam, d):
    return {**rc_of(d), "gen_challenge": d["GenChallenge"], "evse_timestamp_s": d["EVSETimeStamp"]}


@enc("AuthorizationReq")
def _(fam, m):
    b: dict[str, Any] = {}
    put(b, "Id", m.id)
    put(b, "GenChallenge", m.gen_challenge)
    return b


@dec("AuthorizationReq")
def _(fam, d):
    return {"id": d.get("Id"), "gen_challenge": d.get("GenChallenge")}


# --- charge parameters, DC preparation -------------------------------------------------------


@enc("ChargeParameterDiscoveryReq")
def _(fam, m):
    if fam == "din":
        return {"EVRequestedEnergyTransferType": m.ev_requested_energy_transfer_type.value,
                "DC_EVChargeParameter": h.ev_cp(fam, m.dc_ev_charge_parameter)}
    b: dict[str, Any] = {}
    put(b, "MaxEntriesSAScheduleTuple", m.max_entries_sa_schedule_tuple)
    b["RequestedEnergyTransferMode"] = m.requested_energy_transfer_mode.value
    if m.ac_ev_charge_parameter is not None:
        a = m.ac_ev_charge_parameter
        ac: dict[str, Any] = {}
        put(ac, "DepartureTime", a.departure_time_s)
        ac.update({"EAmount": pv(a.e_amount_Wh, "Wh"), "EVMaxVoltage": pv(a.ev_max_voltage_V, "V"),
                   "EVMaxCurrent": pv(a.ev_max_current_A, "A"), "EVMinCurrent": pv(a.ev_min_current_A, "A")})
        b["AC_EVChargeParameter"] = ac
    elif m.dc_ev_charge_parameter is not None:
        b["DC_EVChargeParameter"] = h.ev_cp(fam, m.dc_ev_charge_parameter)
    else:
        raise ExiBridgeError("ChargeParameterDiscoveryReq needs an AC or a DC EV charge parameter")
    return b


@dec("ChargeParameterDiscoveryReq")
def _(fam, d):
    if fam == "din":
        return {"ev_requested_energy_transfer_type": EnergyTransferMode(d["EVRequestedEnergyTransferType"]),
                "dc_ev_charge_parameter": h.ev_cp_of(d["DC_EVChargeParameter"])}
    ac = d.get("AC_EVChargeParameter")
    return {"max_entries_sa_schedule_tuple": d.get("MaxEntriesSAScheduleTuple"),
            "requested_energy_transfer_mode": EnergyTransferMode(d["RequestedEnergyTransferMode"]),
            "ac_ev_charge_parameter": None if ac is None else iso2.ACEVChargeParameterMsg(
                departure_time_s=ac.get("DepartureTime"), e_amount_Wh=from_pv(ac["EAmount"]),
                ev_max_voltage_V=from_pv(ac["EVMaxVoltage"]), ev_max_current_A=from_pv(ac["EVMaxCurrent"]),
                ev_min_current_A=from_pv(ac["EVMinCurrent"])),
            "dc_ev_charge_parameter": opt(d, "DC_EVChargeParameter", h.ev_cp_of)}


@enc("ChargeParameterDiscoveryRes")
def _(fam, m):
    b = {**rc(m), "EVSEProcessing": m.evse_processing.value}
    put(b, "SAScheduleList", m.sa_schedule_list, lambda v: h.schedules(fam, v))
    if fam == "din" and m.sa_schedule_list is None:
        # DIN requires SASchedules even while Ongoing / on FAILED: one 0 W entry from 0 s
        b["SAScheduleList"] = h.schedules(fam, SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 0.0)])]))
    if getattr(m, "ac_evse_charge_parameter", None) is not None:
        a: ACEVSEChargeParameter = m.ac_evse_charge_parameter
        b["AC_EVSEChargeParameter"] = {"AC_EVSEStatus": h.ac_status(m.ac_evse_status or iso2.ACEVSEStatus(rcd=a.rcd_error)),
                                       "EVSENominalVoltage": pv(a.nominal_voltage_V, "V"),
                                       "EVSEMaxCurrent": pv(a.max_current_A, "A")}
    elif m.dc_evse_charge_parameter is not None:
        b["DC_EVSEChargeParameter"] = h.evse_dc_cp(m.dc_evse_charge_parameter,
                                                   m.dc_evse_status or h.din_iso2.DCEVSEStatus())
    elif getattr(m, "ac_evse_status", None) is not None:  # a FAILED answer: the schema wants limits
        b["AC_EVSEChargeParameter"] = {"AC_EVSEStatus": h.ac_status(m.ac_evse_status),
                                       "EVSENominalVoltage": pv(0, "V"), "EVSEMaxCurrent": pv(0, "A")}
    else:  # a FAILED answer without parameters: zero DC limits (DIN is DC only)
        b["DC_EVSEChargeParameter"] = h.evse_dc_cp(DCEVSEChargeParameter(max_current_A=0, max_voltage_V=0, max_power_W=0),
                                                   m.dc_evse_status or h.din_iso2.DCEVSEStatus())
    return b


@dec("ChargeParameterDiscoveryRes")
def _(fam, d):
    out = {**rc_of(d), "evse_processing": EVSEProcessing(d["EVSEProcessing"]),
           "sa_schedule_list": opt(d, "SAScheduleList", h.schedules_of)}
    if "DC_EVSEChargeParameter" in d:
        out["dc_evse_charge_parameter"] = h.evse_dc_cp_of(d["DC_EVSEChargeParameter"])
        out["dc_evse_status"] = h.evse_status_of(d["DC_EVSEChargeParameter"]["DC_EVSEStatus"])
    if "AC_EVSEChargeParameter" in d:
        a = d["AC_EVSEChargeParameter"]
        status = h.ac_status_of(a["AC_EVSEStatus"])
        out["ac_evse_charge_parameter"] = ACEVSEChargeParameter(nominal_voltage_V=from_pv(a["EVSENominalVoltage"]),
                                                                max_current_A=from_pv(a["EVSEMaxCurrent"]),
                                                                rcd_error=status.rcd)
        out["ac_evse_status"] = status
    return out


def _st_enc(fam, m):
    return {"DC_EVStatus": h.ev_status(m.dc_ev_status)}


def _st_dec(fam, d):
    return {"dc_ev_status": h.ev_status_of(d["DC_EVStatus"])}


for _n in ("CableCheckReq", "WeldingDetectionReq"):
    ENC[_n], DEC[_n] = _st_enc, _st_dec


@enc("CableCheckRes")
def _(fam, m):
    return {**rc(m), "DC_EVSEStatus": h.evse_status(m.dc_evse_status), "EVSEProcessing": m.evse_processing.value}


@dec("CableCheckRes")
def _(fam, d):
    return {**rc_of(d), "dc_evse_status": h.evse_status_of(d["DC_EVSEStatus"]),
            "evse_processing": EVSEProcessing(d["EVSEProcessing"])}


@enc("PreChargeReq")
def _(fam, m):
    return {**_st_enc(fam, m), "EVTargetVoltage": pv(m.ev_target_voltage_V, "V"),
            "EVTargetCurrent": pv(m.ev_target_current_A, "A")}


@dec("PreChargeReq")
def _(fam, d):
    return {**_st_dec(fam, d), "ev_target_voltage_V": from_pv(d["EVTargetVoltage"]),
            "ev_target_current_A": from_pv(d["EVTargetCurrent"])}


def _voltage_enc(fam, m):
    return {**rc(m), "DC_EVSEStatus": h.evse_status(m.dc_evse_status), "EVSEPresentVoltage": pv(m.evse_present_voltage_V, "V")}


def _voltage_dec(fam, d):
    return {**rc_of(d), "dc_evse_status": h.evse_status_of(d["DC_EVSEStatus"]),
            "evse_present_voltage_V": from_pv(d["EVSEPresentVoltage"])}


for _n in ("PreChargeRes", "WeldingDetectionRes"):
    ENC[_n], DEC[_n] = _voltage_enc, _voltage_dec

from . import exi_din_iso2_loop  # noqa: E402,F401  (registers PowerDelivery, CurrentDemand, ChargingStatus, ...)


def body_of(fam: str, msg: Any) -> tuple[str, dict[str, Any]]:
    name = type(msg).__name__
    cls = getattr(MODULES[fam], name, None)
    if cls is not type(msg) or name not in ENC:
        raise ExiBridgeError(f"{name} is not a {fam} message")
    return name, ENC[name](fam, msg)


def message_of(fam: str, name: str, content: dict[str, Any], session_id: str) -> Any:
    cls = getattr(MODULES[fam], name, None)
    if cls is None or name not in DEC:
        raise ExiBridgeError(f"{fam} {name}: no virtual_plc message class for it")
    return cls(session_id=session_id, **DEC[name](fam, content))

