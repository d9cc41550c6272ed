"""ISO 15118-20 Body tables (helpers in exi_iso20.py): ENC[class](msg, mode) -> content without
the Header; DEC[class](content) -> keyword arguments. The charge loops are in exi_iso20_loop.py."""
from __future__ import annotations

from typing import Any, Callable

from freev2g.model.enums import ChargeProgress, ChargingSession, ControlMode
from freev2g.model.schedule import ChargingProfileEntry, PMaxScheduleEntry, SAScheduleList, SAScheduleTuple

from . import exi_iso20 as h
from .exi_codec import ExiBridgeError, put
from .messages import iso20 as M

DEFAULT_DEPARTURE_S = 86400
ENC: dict[str, Callable[[Any, ControlMode], dict[str, Any]]] = {}
DEC: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


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


def _rc_only(name: str) -> None:
    ENC[name], DEC[name] = (lambda m, mode: h.rc(m)), h.rc_of


def _empty(name: str) -> None:
    ENC[name], DEC[name] = (lambda m, mode: {}), (lambda d: {})


for _n in ("ServiceSelectionRes", "SessionStopRes"):
    _rc_only(_n)
for _n in ("AuthorizationSetupReq", "DCCableCheckReq"):
    _empty(_n)


def _processing(m, mode):
    return {**h.rc(m), "EVSEProcessing": m.evse_processing.value}


def _processing_of(d):
    return {**h.rc_of(d), "evse_processing": M.Processing(d["EVSEProcessing"])}


for _n in ("AuthorizationRes", "DCCableCheckRes"):
    ENC[_n], DEC[_n] = _processing, _processing_of


def _voltage(m, mode):
    return {**h.rc(m), "EVSEPresentVoltage": h.rn(m.evse_present_voltage_V)}


def _voltage_of(d):
    return {**h.rc_of(d), "evse_present_voltage_V": h.from_rn(d["EVSEPresentVoltage"])}


for _n in ("DCPreChargeRes", "DCWeldingDetectionRes"):
    ENC[_n], DEC[_n] = _voltage, _voltage_of


@enc("SessionSetupReq")
def _(m, mode):
    return {"EVCCID": m.evcc_id}


@dec("SessionSetupReq")
def _(d):
    return {"evcc_id": d["EVCCID"]}


@enc("SessionSetupRes")
def _(m, mode):
    return {**h.rc(m), "EVSEID": m.evse_id}


@dec("SessionSetupRes")
def _(d):
    return {**h.rc_of(d), "evse_id": d["EVSEID"]}


@enc("AuthorizationSetupRes")
def _(m, mode):
    b = {**h.rc(m), "AuthorizationServices": [h.AUTH[o] for o in m.authorization_services],
         "CertificateInstallationService": m.certificate_installation_service}
    if m.gen_challenge is not None:
        b["PnC_ASResAuthorizationMode"] = {"GenChallenge": m.gen_challenge}
    else:
        b["EIM_ASResAuthorizationMode"] = {}
    return b


@dec("AuthorizationSetupRes")
def _(d):
    pnc = d.get("PnC_ASResAuthorizationMode")
    return {**h.rc_of(d), "authorization_services": [h.AUTH_OF[o] for o in d["AuthorizationServices"]],
            "certificate_installation_service": d["CertificateInstallationService"],
            "gen_challenge": None if pnc is None else pnc["GenChallenge"]}


@enc("AuthorizationReq")
def _(m, mode):
    b: dict[str, Any] = {"SelectedAuthorizationService": h.AUTH[m.selected_authorization_service]}
    if m.selected_authorization_service is M.PaymentOption.EXTERNAL_PAYMENT:
        b["EIM_AReqAuthorizationMode"] = {}
        return b
    # PnC: the eMAID travels inside the contract certificate, not as an element (our `emaid`
    # is not sent); the Id the signature references is not held by our class: "id1"
    if not m.contract_certificate_chain or m.gen_challenge is None:
        raise ExiBridgeError("-20 PnC AuthorizationReq needs GenChallenge and the contract certificate")
    leaf, *subs = m.contract_certificate_chain
    chain: dict[str, Any] = {"Certificate": leaf}
    if subs:
        chain["SubCertificates"] = {"Certificate": list(subs)}
    b["PnC_AReqAuthorizationMode"] = {"Id": "id1", "GenChallenge": m.gen_challenge, "ContractCertificateChain": chain}
    return b


@dec("AuthorizationReq")
def _(d):
    pnc = d.get("PnC_AReqAuthorizationMode")
    out: dict[str, Any] = {"selected_authorization_service": h.AUTH_OF[d["SelectedAuthorizationService"]]}
    if pnc is not None:
        chain = pnc["ContractCertificateChain"]
        out.update(gen_challenge=pnc["GenChallenge"],
                   contract_certificate_chain=[chain["Certificate"], *chain.get("SubCertificates", {}).get("Certificate", [])])
    return out


@enc("ServiceDiscoveryReq")
def _(m, mode):
    return {} if m.supported_service_ids is None else {"SupportedServiceIDs": {"ServiceID": list(m.supported_service_ids)}}


@dec("ServiceDiscoveryReq")
def _(d):
    ids = d.get("SupportedServiceIDs")
    return {"supported_service_ids": None if ids is None else tuple(ids["ServiceID"])}


@enc("ServiceDiscoveryRes")
def _(m, mode):
    return {**h.rc(m), "ServiceRenegotiationSupported": m.service_renegotiation_supported,
            # at least one service; a FAILED answer built without services names DC (2)
            "EnergyTransferServiceList": {"Service": [{"ServiceID": s.service_id, "FreeService": s.free_service}
                                                      for s in m.energy_transfer_services]
                                          or [{"ServiceID": M.SERVICE_DC, "FreeService": False}]}}


@dec("ServiceDiscoveryRes")
def _(d):
    return {**h.rc_of(d), "service_renegotiation_supported": d["ServiceRenegotiationSupported"],
            "energy_transfer_services": [M.EnergyTransferService(service_id=s["ServiceID"], free_service=s["FreeService"])
                                         for s in d["EnergyTransferServiceList"]["Service"]]}


@enc("ServiceDetailReq")
def _(m, mode):
    return {"ServiceID": m.service_id}


@dec("ServiceDetailReq")
def _(d):
    return {"service_id": d["ServiceID"]}


_CM = {ControlMode.SCHEDULED: 1, ControlMode.DYNAMIC: 2}
_CM_OF = {v: k for k, v in _CM.items()}
_PARAMS = (("Connector", "connector"), ("ControlMode", "control_mode"), ("MobilityNeedsMode", "mobility_needs_mode"),
           ("Pricing", "pricing"), ("BPTChannel", "bpt_channel"), ("GeneratorMode", "generator_mode"))


@enc("ServiceDetailRes")
def _(m, mode):
    sets = []
    for ps in m.parameter_sets:
        params = []
        for name, attr in _PARAMS:
            v = getattr(ps, attr)
            if v is not None:
                params.append({"Name": name, "intValue": _CM[v] if attr == "control_mode" else v})
        sets.append({"ParameterSetID": ps.parameter_set_id, "Parameter": params})
    if not sets:  # at least one set; a FAILED answer built without sets: set 0, Scheduled
        sets = [{"ParameterSetID": 0, "Parameter": [{"Name": "ControlMode", "intValue": 1}]}]
    return {**h.rc(m), "ServiceID": m.service_id, "ServiceParameterList": {"ParameterSet": sets}}


@dec("ServiceDetailRes")
def _(d):
    attr_of = dict(_PARAMS)
    sets = []
    for ps in d["ServiceParameterList"]["ParameterSet"]:
        kw: dict[str, Any] = {}
        for p in ps["Parameter"]:  # parameters we do not hold (e.g. EVSENominalVoltage) are dropped
            attr = attr_of.get(p["Name"])
            if attr is not None and "intValue" in p:
                kw[attr] = _CM_OF[p["intValue"]] if attr == "control_mode" else p["intValue"]
        sets.append(M.ServiceParameterSet(parameter_set_id=ps["ParameterSetID"], **kw))
    return {**h.rc_of(d), "service_id": d["ServiceID"], "parameter_sets": sets}


@enc("ServiceSelectionReq")
def _(m, mode):
    return {"SelectedEnergyTransferService": {"ServiceID": m.selected_service_id,
                                              "ParameterSetID": m.selected_parameter_set_id}}


@dec("ServiceSelectionReq")
def _(d):
    s = d["SelectedEnergyTransferService"]
    return {"selected_service_id": s["ServiceID"], "selected_parameter_set_id": s["ParameterSetID"]}


# --- schedules, power delivery -----------------------------------------------------------------


def _durations(starts: list[int], last: int | None, what: str) -> list[int]:
    if starts and starts[0] != 0:
        raise ExiBridgeError(f"{what}: the first entry must start at 0 s (the TimeAnchor)")
    return [b - a for a, b in zip(starts, starts[1:])] + [last or 0]


def _starts(durations: list[int]) -> list[int]:
    out, t = [], 0
    for d in durations:
        out.append(t)
        t += d
    return out


@enc("ScheduleExchangeReq")
def _(m, mode):
    b: dict[str, Any] = {"MaximumSupportingPoints": m.maximum_supporting_points}
    c: dict[str, Any] = {}
    put(c, "DepartureTime", m.departure_time_s)
    if m.control_mode is ControlMode.DYNAMIC:
        # DepartureTime is required in Dynamic; an EV without one: 86400 s (the schedule horizon)
        c["DepartureTime"] = DEFAULT_DEPARTURE_S if m.departure_time_s is None else m.departure_time_s
        put(c, "MinimumSOC", m.minimum_soc_pct, round)
        put(c, "TargetSOC", m.target_soc_pct, round)
        for key, v in (("EVTargetEnergyRequest", m.ev_target_energy_request_Wh),
                       ("EVMaximumEnergyRequest", m.ev_max_energy_request_Wh),
                       ("EVMinimumEnergyRequest", m.ev_min_energy_request_Wh)):
            c[key] = h.rn(v or 0.0)  # required in Dynamic; absent in our class = 0 Wh
        h.put_rn(c, "EVMaximumV2XEnergyRequest", m.ev_max_v2x_energy_request_Wh)
        h.put_rn(c, "EVMinimumV2XEnergyRequest", m.ev_min_v2x_energy_request_Wh)
        b["Dynamic_SEReqControlMode"] = c
    else:
        h.put_rn(c, "EVTargetEnergyRequest", m.ev_target_energy_request_Wh)
        h.put_rn(c, "EVMaximumEnergyRequest", m.ev_max_energy_request_Wh)
        h.put_rn(c, "EVMinimumEnergyRequest", m.ev_min_energy_request_Wh)
        b["Scheduled_SEReqControlMode"] = c
    return b


@dec("ScheduleExchangeReq")
def _(d):
    dyn = d.get("Dynamic_SEReqControlMode")
    c = dyn if dyn is not None else d["Scheduled_SEReqControlMode"]  # EVEnergyOffer is dropped
    out = {"maximum_supporting_points": d["MaximumSupportingPoints"],
           "control_mode": ControlMode.DYNAMIC if dyn is not None else ControlMode.SCHEDULED,
           "departure_time_s": c.get("DepartureTime"),
           "ev_target_energy_request_Wh": h.get_rn(c, "EVTargetEnergyRequest"),
           "ev_max_energy_request_Wh": h.get_rn(c, "EVMaximumEnergyRequest"),
           "ev_min_energy_request_Wh": h.get_rn(c, "EVMinimumEnergyRequest")}
    if dyn is not None:
        out.update(minimum_soc_pct=None if "MinimumSOC" not in dyn else float(dyn["MinimumSOC"]),
                   target_soc_pct=None if "TargetSOC" not in dyn else float(dyn["TargetSOC"]),
                   ev_max_v2x_energy_request_Wh=h.get_rn(dyn, "EVMaximumV2XEnergyRequest"),
                   ev_min_v2x_energy_request_Wh=h.get_rn(dyn, "EVMinimumV2XEnergyRequest"))
    return out


@enc("ScheduleExchangeRes")
def _(m, mode):
    b = {**h.rc(m), "EVSEProcessing": m.evse_processing.value}
    put(b, "GoToPause", m.go_to_pause)
    if m.schedule_tuples is not None:
        tuples = []
        for t in m.schedule_tuples.tuples:  # TimeAnchor 0: entry times relative to the response
            durations = _durations([e.start_s for e in t.entries], t.entries[-1].duration_s, "ScheduleTuple")
            entries = [{"Duration": dur, "Power": h.rn(e.pmax_W)} for e, dur in zip(t.entries, durations)]
            tuples.append({"ScheduleTupleID": t.tuple_id, "ChargingSchedule": {"PowerSchedule": {
                "TimeAnchor": 0, "PowerScheduleEntries": {"PowerScheduleEntry": entries}}}})
        b["Scheduled_SEResControlMode"] = {"ScheduleTuple": tuples}
    elif mode is ControlMode.DYNAMIC or m.departure_time_s is not None or m.minimum_soc_pct is not None \
            or m.target_soc_pct is not None:
        c: dict[str, Any] = {}
        put(c, "DepartureTime", m.departure_time_s)
        put(c, "MinimumSOC", m.minimum_soc_pct, round)
        put(c, "TargetSOC", m.target_soc_pct, round)
        b["Dynamic_SEResControlMode"] = c
    elif m.evse_processing is not M.Processing.FINISHED or m.response_code.is_failure:
        # Ongoing (or FAILED) Scheduled answer without tuples: the schema still wants the
        # control-mode element; an empty Dynamic one is the only form without tuples
        b["Dynamic_SEResControlMode"] = {}
    else:
        raise ExiBridgeError("ScheduleExchangeRes: a Finished Scheduled answer needs schedule_tuples")
    return b


@dec("ScheduleExchangeRes")
def _(d):
    out = {**h.rc_of(d), "evse_processing": M.Processing(d["EVSEProcessing"]), "go_to_pause": d.get("GoToPause")}
    sched = d.get("Scheduled_SEResControlMode")
    if sched is not None:  # price schedules and DischargingSchedule are dropped
        tuples = []
        for t in sched["ScheduleTuple"]:
            entries = t["ChargingSchedule"]["PowerSchedule"]["PowerScheduleEntries"]["PowerScheduleEntry"]
            starts = _starts([e["Duration"] for e in entries])
            tuples.append(SAScheduleTuple(t["ScheduleTupleID"], [
                PMaxScheduleEntry(s, h.from_rn(e["Power"]), e["Duration"] if i == len(entries) - 1 else None)
                for i, (s, e) in enumerate(zip(starts, entries))]))
        out["schedule_tuples"] = SAScheduleList(tuples)
    dyn = d.get("Dynamic_SEResControlMode")
    if dyn is not None:
        out.update(departure_time_s=dyn.get("DepartureTime"),
                   minimum_soc_pct=None if "MinimumSOC" not in dyn else float(dyn["MinimumSOC"]),
                   target_soc_pct=None if "TargetSOC" not in dyn else float(dyn["TargetSOC"]))
    return out


@enc("PowerDeliveryReq")
def _(m, mode):
    b: dict[str, Any] = {"EVProcessing": m.ev_processing.value,
                         "ChargeProgress": h.PROGRESS.get(m.charge_progress, m.charge_progress.value)}
    if m.power_profile:
        # our entries carry no duration: the last one gets 0 s (open end)
        durations = _durations([e.start_s for e in m.power_profile], None, "EVPowerProfile")
        profile: dict[str, Any] = {"TimeAnchor": 0}
        if m.selected_schedule_tuple_id is not None:
            profile["Scheduled_EVPPTControlMode"] = {"SelectedScheduleTupleID": m.selected_schedule_tuple_id}
        else:
            profile["Dynamic_EVPPTControlMode"] = {}
        profile["EVPowerProfileEntries"] = {"EVPowerProfileEntry": [
            {"Duration": dur, "Power": h.rn(e.max_power_W)} for e, dur in zip(m.power_profile, durations)]}
        b["EVPowerProfile"] = profile
    elif m.selected_schedule_tuple_id is not None:
        # the tuple id lives only inside EVPowerProfile, which needs an entry: an EV without a
        # profile sends one entry of 0 s (constrains nothing; decoded back as "no profile")
        b["EVPowerProfile"] = {"TimeAnchor": 0,
                               "Scheduled_EVPPTControlMode": {"SelectedScheduleTupleID": m.selected_schedule_tuple_id},
                               "EVPowerProfileEntries": {"EVPowerProfileEntry": [{"Duration": 0, "Power": h.rn(0)}]}}
    put(b, "BPT_ChannelSelection", m.bpt_channel_selection)
    return b


@dec("PowerDeliveryReq")
def _(d):
    progress = d["ChargeProgress"]
    out: dict[str, Any] = {"ev_processing": M.Processing(d["EVProcessing"]),
                           "charge_progress": h.PROGRESS_OF.get(progress) or ChargeProgress(progress),
                           "bpt_channel_selection": d.get("BPT_ChannelSelection")}
    profile = d.get("EVPowerProfile")
    if profile is not None:
        sched = profile.get("Scheduled_EVPPTControlMode")
        out["selected_schedule_tuple_id"] = None if sched is None else sched["SelectedScheduleTupleID"]
        entries = profile["EVPowerProfileEntries"]["EVPowerProfileEntry"]
        if len(entries) == 1 and entries[0]["Duration"] == 0:
            entries = []  # a 0-s profile: no profile
        out["power_profile"] = [ChargingProfileEntry(s, h.from_rn(e["Power"]))
                                for s, e in zip(_starts([e["Duration"] for e in entries]), entries)]
    return out


@enc("PowerDeliveryRes")
def _(m, mode):
    b = h.rc(m)
    put(b, "EVSEStatus", h.evse_status(m.evse_status))
    return b


@dec("PowerDeliveryRes")
def _(d):
    return {**h.rc_of(d), "evse_status": h.evse_status_of(d.get("EVSEStatus"))}


@enc("SessionStopReq")
def _(m, mode):
    return {"ChargingSession": m.charging_session.value}


@dec("SessionStopReq")
def _(d):
    return {"charging_session": ChargingSession(d["ChargingSession"])}


from . import exi_iso20_loop  # noqa: E402,F401  (registers the parameter discovery and loop messages)
