"""The EXI bridge (exi_codec*): our message classes through the real C EXI codec (freev2g.exi).

1. Every message class of every protocol: class -> dict -> EXI bytes -> dict -> class, equal.
2. Every message of Josev's sessions (tests/interop/fixtures/josev_*.json, EXI hex + Josev's
   decoded JSON): decoded by freev2g.exi and mapped into our classes, the values agree with
   Josev's JSON field by field; what our classes cannot hold is listed (DROPPED), and our
   encoding gives the fixture's bytes wherever the content is fully representable.
No fakes: the real codec and Josev's recorded bytes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import attrs
import pytest

from freev2g import exi
from freev2g.model.enums import (
    ChargeProgress,
    ChargingSession,
    ControlMode,
    EnergyTransferMode,
    EVErrorCode,
    EVSENotification,
    EVSEProcessing,
    EVSEStatusCode,
    IsolationLevel,
    PaymentOption,
    ResponseCode,
)
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter, DCEVStatus
from freev2g.model.schedule import ChargingProfileEntry, PMaxScheduleEntry, SAScheduleList, SAScheduleTuple
from freev2g_virtual_plc import exi_codec as X
from freev2g_virtual_plc.messages import common, din, din_iso2, iso2, iso20

SID = "0A1B2C3D4E5F6071"
ST = DCEVStatus(ev_ready=True, error_code=EVErrorCode.NO_ERROR, soc_pct=43.0)
EVSE_ST = din_iso2.DCEVSEStatus(notification=EVSENotification.STOP_CHARGING, notification_max_delay_s=10,
                                isolation_status=IsolationLevel.VALID, status_code=EVSEStatusCode.READY)
DC_CP = din_iso2.DCEVChargeParameterMsg(dc_ev_status=ST, ev_maximum_current_limit_A=125.5, ev_maximum_power_limit_W=50000,
                                        ev_maximum_voltage_limit_V=450, ev_energy_capacity_Wh=60000,
                                        ev_energy_request_Wh=35000, full_soc_pct=100, bulk_soc_pct=80)
EVSE_CP = DCEVSEChargeParameter(max_current_A=200, max_voltage_V=920, max_power_W=150000, min_current_A=1.5,
                                min_voltage_V=150, peak_current_ripple_A=2, current_regulation_tolerance_A=5,
                                energy_to_be_delivered_Wh=40000, status_code=EVSEStatusCode.READY,
                                isolation=IsolationLevel.VALID)
SCHED = SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 11000.0), PMaxScheduleEntry(1800, 7400.0, 86400 - 1800)]),
                        SAScheduleTuple(2, [PMaxScheduleEntry(0, 3700.0, 86400)])])
PROFILE = (ChargingProfileEntry(0, 11000.0), ChargingProfileEntry(3600, 3700.0))
AC_ST = iso2.ACEVSEStatus(notification=EVSENotification.RENEGOTIATION, notification_max_delay_s=3, rcd=False)
METER2 = iso2.MeterInfo(meter_id="METER-1", meter_reading_Wh=123456, sig_meter_reading=b"\x01\x02\x03", meter_status=1,
                        t_meter_s=1_700_000_000)


def sap_samples():
    return [common.SupportedAppProtocolReq(app_protocols=[
                common.AppProtocol(protocol_namespace="urn:din:70121:2012:MsgDef", version_major=2, version_minor=0,
                                   schema_id=1, priority=2),
                common.AppProtocol(protocol_namespace="urn:iso:15118:2:2013:MsgDef", version_major=2, version_minor=0,
                                   schema_id=2, priority=1)]),
            common.SupportedAppProtocolRes(response_code=common.SapResponseCode.OK, schema_id=2),
            common.SupportedAppProtocolRes(response_code=common.SapResponseCode.FAILED)]


def shared_samples(M):
    return [
        M.CableCheckReq(session_id=SID, dc_ev_status=ST),
        M.CableCheckRes(session_id=SID, dc_evse_status=EVSE_ST, evse_processing=EVSEProcessing.ONGOING),
        M.PreChargeReq(session_id=SID, dc_ev_status=ST, ev_target_voltage_V=380.5, ev_target_current_A=2),
        M.PreChargeRes(session_id=SID, dc_evse_status=EVSE_ST, evse_present_voltage_V=379.9),
        M.WeldingDetectionReq(session_id=SID, dc_ev_status=ST),
        M.WeldingDetectionRes(session_id=SID, dc_evse_status=EVSE_ST, evse_present_voltage_V=12),
        M.SessionStopRes(session_id=SID, response_code=ResponseCode.FAILED_SEQUENCE_ERROR),
        M.SessionSetupReq(session_id="00", evcc_id="6AF596B85F01"),
        M.ServiceDiscoveryReq(session_id=SID),
        M.ServiceDiscoveryReq(session_id=SID, service_scope="charging", service_category="EVCharging"),
        M.CurrentDemandReq(session_id=SID, dc_ev_status=ST, ev_target_current_A=-32.5, ev_maximum_voltage_limit_V=450,
                           ev_maximum_current_limit_A=125, ev_maximum_power_limit_W=-50000, bulk_charging_complete=False,
                           charging_complete=True, remaining_time_to_full_soc_s=1200, remaining_time_to_bulk_soc_s=600,
                           ev_target_voltage_V=400.3),
        M.CurrentDemandReq(session_id=SID, dc_ev_status=ST, ev_target_current_A=0.001, ev_target_voltage_V=0),
    ]


def din_samples():
    return shared_samples(din) + [
        din.SessionSetupRes(session_id=SID, response_code=ResponseCode.OK_NEW_SESSION, evse_id="49A80737A45678",
                            datetime_now_s=1_700_000_000),
        din.ServiceDiscoveryRes(session_id=SID, payment_options=[PaymentOption.EXTERNAL_PAYMENT, PaymentOption.CONTRACT],
                                charge_service=din.ChargeService(service_id=1, free_service=True,
                                                                 energy_transfer_type=EnergyTransferMode.DC_CORE)),
        din.ServicePaymentSelectionReq(session_id=SID, selected_payment_option=PaymentOption.EXTERNAL_PAYMENT,
                                       selected_services=[din_iso2.SelectedService(service_id=1),
                                                          din_iso2.SelectedService(service_id=3, parameter_set_id=7)]),
        din.ServicePaymentSelectionRes(session_id=SID),
        din.ContractAuthenticationReq(session_id=SID),
        din.ContractAuthenticationReq(session_id=SID, gen_challenge=bytes(range(16))),
        din.ContractAuthenticationRes(session_id=SID, evse_processing=EVSEProcessing.ONGOING),
        din.ChargeParameterDiscoveryReq(session_id=SID, ev_requested_energy_transfer_type=EnergyTransferMode.DC_EXTENDED,
                                        dc_ev_charge_parameter=attrs.evolve(DC_CP, departure_time_s=None)),
        din.ChargeParameterDiscoveryRes(session_id=SID, sa_schedule_list=SCHED, dc_evse_charge_parameter=EVSE_CP,
                                        dc_evse_status=EVSE_ST),
        din.PowerDeliveryReq(session_id=SID, ready_to_charge_state=True, sa_schedule_tuple_id=1, charging_profile=PROFILE,
                             dc_ev_status=ST, bulk_charging_complete=True, charging_complete=False),
        din.PowerDeliveryReq(session_id=SID, ready_to_charge_state=False, dc_ev_status=ST),
        din.PowerDeliveryRes(session_id=SID, dc_evse_status=EVSE_ST),
        din.CurrentDemandRes(session_id=SID, dc_evse_status=EVSE_ST, evse_present_voltage_V=399.5, evse_present_current_A=31.9,
                             evse_current_limit_achieved=True, evse_maximum_voltage_limit_V=500,
                             evse_maximum_current_limit_A=125, evse_maximum_power_limit_W=50000),
        din.SessionStopReq(session_id=SID),
    ]


def iso2_samples():
    return shared_samples(iso2) + [
        iso2.SessionSetupRes(session_id=SID, response_code=ResponseCode.OK_OLD_SESSION_JOINED, evse_id="DE*ABC*E123",
                             evse_timestamp_s=1_700_000_000),
        iso2.ServiceDiscoveryRes(session_id=SID, payment_options=[PaymentOption.CONTRACT, PaymentOption.EXTERNAL_PAYMENT],
                                 charge_service=iso2.ChargeService(energy_transfer_modes=[EnergyTransferMode.DC_EXTENDED,
                                                                                          EnergyTransferMode.AC_THREE_PHASE_CORE]),
                                 services=[iso2.Service(service_id=2, service_name="Certificate",
                                                        service_category="ContractCertificate"),
                                           iso2.Service(service_id=62000)]),
        iso2.ServiceDetailReq(session_id=SID, service_id=2),
        iso2.ServiceDetailRes(session_id=SID, service_id=2, parameter_sets=[
            iso2.ParameterSet(parameter_set_id=1, parameters=[iso2.Parameter(name="Service", value="Installation")])]),
        iso2.PaymentServiceSelectionReq(session_id=SID, selected_payment_option=PaymentOption.CONTRACT,
                                        selected_services=[din_iso2.SelectedService(service_id=1)]),
        iso2.PaymentServiceSelectionRes(session_id=SID),
        iso2.PaymentDetailsReq(session_id=SID, emaid="DEABCC123456789",
                               contract_signature_cert_chain=[b"\x30\x82leaf", b"\x30\x82sub1", b"\x30\x82sub2"]),
        iso2.PaymentDetailsRes(session_id=SID, gen_challenge=bytes(range(16)), evse_timestamp_s=1_700_000_001),
        iso2.AuthorizationReq(session_id=SID),
        iso2.AuthorizationReq(session_id=SID, id="id1", gen_challenge=bytes(range(16))),
        iso2.AuthorizationRes(session_id=SID, evse_processing=EVSEProcessing.ONGOING_WAITING_FOR_CUSTOMER),
        iso2.ChargeParameterDiscoveryReq(session_id=SID, max_entries_sa_schedule_tuple=12,
                                         requested_energy_transfer_mode=EnergyTransferMode.AC_THREE_PHASE_CORE,
                                         ac_ev_charge_parameter=iso2.ACEVChargeParameterMsg(
                                             departure_time_s=7200, e_amount_Wh=20000, ev_max_voltage_V=400,
                                             ev_max_current_A=32, ev_min_current_A=6)),
        iso2.ChargeParameterDiscoveryReq(session_id=SID, requested_energy_transfer_mode=EnergyTransferMode.DC_EXTENDED,
                                         dc_ev_charge_parameter=attrs.evolve(DC_CP, departure_time_s=3600)),
        iso2.ChargeParameterDiscoveryRes(session_id=SID, sa_schedule_list=SCHED, ac_evse_status=AC_ST,
                                         ac_evse_charge_parameter=ACEVSEChargeParameter(nominal_voltage_V=230,
                                                                                        max_current_A=32)),
        iso2.ChargeParameterDiscoveryRes(session_id=SID, evse_processing=EVSEProcessing.ONGOING,
                                         dc_evse_charge_parameter=EVSE_CP, dc_evse_status=EVSE_ST),
        iso2.PowerDeliveryReq(session_id=SID, charge_progress=ChargeProgress.START, sa_schedule_tuple_id=1,
                              charging_profile=[ChargingProfileEntry(0, 11000.0, 3), ChargingProfileEntry(60, 0.0)]),
        iso2.PowerDeliveryReq(session_id=SID, charge_progress=ChargeProgress.STOP, sa_schedule_tuple_id=2,
                              dc_ev_status=ST, bulk_charging_complete=None, charging_complete=True),
        iso2.PowerDeliveryRes(session_id=SID, ac_evse_status=AC_ST),
        iso2.PowerDeliveryRes(session_id=SID, dc_evse_status=EVSE_ST),
        iso2.CurrentDemandRes(session_id=SID, dc_evse_status=EVSE_ST, evse_present_voltage_V=400, evse_present_current_A=-10,
                              evse_power_limit_achieved=True, evse_id="DE*ABC*E123", sa_schedule_tuple_id=2,
                              meter_info=METER2, receipt_required=True),
        iso2.ChargingStatusReq(session_id=SID),
        iso2.ChargingStatusRes(session_id=SID, evse_id="DE*ABC*E123", sa_schedule_tuple_id=1, evse_max_current_A=16,
                               meter_info=iso2.MeterInfo(meter_id="M"), receipt_required=True, ac_evse_status=AC_ST),
        iso2.MeteringReceiptReq(session_id=SID, id="mr1", sa_schedule_tuple_id=1, meter_info=METER2),
        iso2.MeteringReceiptRes(session_id=SID, ac_evse_status=AC_ST),
        iso2.MeteringReceiptRes(session_id=SID, response_code=ResponseCode.FAILED_METERING_SIGNATURE_NOT_VALID,
                                dc_evse_status=EVSE_ST),
        iso2.SessionStopReq(session_id=SID, charging_session=ChargingSession.PAUSE),
    ]


E20 = iso20
STATUS20 = iso20.EVSEStatus(notification_max_delay_s=60, notification=iso20.Notification.TERMINATE)
DISPLAY = iso20.DisplayParameters(present_soc_pct=43, minimum_soc_pct=20, target_soc_pct=80, maximum_soc_pct=100,
                                  remaining_time_to_target_soc_s=3600, charging_complete=False,
                                  battery_energy_capacity_Wh=77000)
METER20 = iso20.MeterInfo(meter_id="M20", charged_energy_reading_Wh=12345, bpt_discharged_energy_reading_Wh=100)
BPT_EV = iso20.EVBPTDischargeLimits(ev_max_discharge_power_W=11000, ev_min_discharge_power_W=0,
                                    ev_max_discharge_current_A=25, ev_min_discharge_current_A=0)


def iso20_samples():
    S, D = ControlMode.SCHEDULED, ControlMode.DYNAMIC
    return [
        E20.SessionSetupReq(evcc_id="WMIV1234567890ABCDEX"),
        E20.SessionSetupRes(session_id=SID, response_code=ResponseCode.OK_NEW_SESSION, evse_id="UK123E1234"),
        E20.AuthorizationSetupReq(session_id=SID),
        E20.AuthorizationSetupRes(session_id=SID, certificate_installation_service=True),
        E20.AuthorizationSetupRes(session_id=SID, authorization_services=[PaymentOption.EXTERNAL_PAYMENT, PaymentOption.CONTRACT],
                                  gen_challenge=bytes(range(16))),
        E20.AuthorizationReq(session_id=SID, selected_authorization_service=PaymentOption.EXTERNAL_PAYMENT),
        E20.AuthorizationReq(session_id=SID, selected_authorization_service=PaymentOption.CONTRACT,
                             contract_certificate_chain=[b"leaf", b"sub"], gen_challenge=bytes(range(16))),
        E20.AuthorizationRes(session_id=SID, evse_processing=iso20.Processing.ONGOING),
        E20.ServiceDiscoveryReq(session_id=SID),
        E20.ServiceDiscoveryReq(session_id=SID, supported_service_ids=(2, 6)),
        E20.ServiceDiscoveryRes(session_id=SID, service_renegotiation_supported=True, energy_transfer_services=[
            iso20.EnergyTransferService(service_id=2), iso20.EnergyTransferService(service_id=6, free_service=True)]),
        E20.ServiceDetailReq(session_id=SID, service_id=6),
        E20.ServiceDetailRes(session_id=SID, service_id=6, parameter_sets=[
            iso20.ServiceParameterSet(parameter_set_id=1, control_mode=S),
            iso20.ServiceParameterSet(parameter_set_id=2, control_mode=D, connector=1, mobility_needs_mode=2, pricing=1,
                                      bpt_channel=1, generator_mode=2)]),
        E20.ServiceSelectionReq(session_id=SID, selected_service_id=6, selected_parameter_set_id=2),
        E20.ServiceSelectionRes(session_id=SID),
        E20.DCChargeParameterDiscoveryReq(session_id=SID, ev_max_charge_power_W=150000, ev_min_charge_power_W=100,
                                          ev_max_charge_current_A=300, ev_min_charge_current_A=1, ev_max_voltage_V=920,
                                          ev_min_voltage_V=200, target_soc_pct=80),
        E20.DCChargeParameterDiscoveryReq(session_id=SID, ev_max_charge_power_W=11000, ev_max_charge_current_A=25,
                                          ev_max_voltage_V=450, bpt=BPT_EV),
        E20.DCChargeParameterDiscoveryRes(session_id=SID, evse_max_charge_power_W=150000, evse_min_charge_power_W=0,
                                          evse_max_charge_current_A=200, evse_min_charge_current_A=0.5,
                                          evse_max_voltage_V=920, evse_min_voltage_V=150),
        E20.DCChargeParameterDiscoveryRes(session_id=SID, evse_max_charge_power_W=11000, evse_max_charge_current_A=25,
                                          evse_max_voltage_V=450, bpt=iso20.EVSEBPTDischargeLimits(
                                              evse_max_discharge_power_W=10000, evse_max_discharge_current_A=20,
                                              evse_min_discharge_current_A=0)),
        E20.ACChargeParameterDiscoveryReq(session_id=SID, ev_max_charge_power_W=11000, ev_min_charge_power_W=1380),
        E20.ACChargeParameterDiscoveryReq(session_id=SID, ev_max_charge_power_W=11000, bpt=iso20.EVBPTDischargeLimits(
            ev_max_discharge_power_W=7400)),
        E20.ACChargeParameterDiscoveryRes(session_id=SID, evse_max_charge_power_W=22000, evse_min_charge_power_W=1380,
                                          evse_nominal_frequency_Hz=50, evse_present_active_power_W=0),
        E20.ACChargeParameterDiscoveryRes(session_id=SID, evse_max_charge_power_W=11000, bpt=iso20.EVSEBPTDischargeLimits(
            evse_max_discharge_power_W=11000)),
        E20.ScheduleExchangeReq(session_id=SID, maximum_supporting_points=1024, departure_time_s=7200,
                                ev_target_energy_request_Wh=10000, ev_max_energy_request_Wh=20000,
                                ev_min_energy_request_Wh=0.05),
        E20.ScheduleExchangeReq(session_id=SID, maximum_supporting_points=12, control_mode=D, departure_time_s=3600,
                                ev_target_energy_request_Wh=30000, ev_max_energy_request_Wh=40000,
                                ev_min_energy_request_Wh=-10000, minimum_soc_pct=20, target_soc_pct=80,
                                ev_max_v2x_energy_request_Wh=5000, ev_min_v2x_energy_request_Wh=-5000),
        E20.ScheduleExchangeRes(session_id=SID, schedule_tuples=SCHED, go_to_pause=False),
        E20.ScheduleExchangeRes(session_id=SID, departure_time_s=3600, minimum_soc_pct=20, target_soc_pct=80),
        E20.DCCableCheckReq(session_id=SID),
        E20.DCCableCheckRes(session_id=SID, evse_processing=iso20.Processing.ONGOING),
        E20.DCPreChargeReq(session_id=SID, ev_present_voltage_V=380.5, ev_target_voltage_V=380),
        E20.DCPreChargeRes(session_id=SID, evse_present_voltage_V=379),
        E20.PowerDeliveryReq(session_id=SID, charge_progress=ChargeProgress.START, selected_schedule_tuple_id=1,
                             power_profile=PROFILE, bpt_channel_selection="Discharge"),
        E20.PowerDeliveryReq(session_id=SID, charge_progress=ChargeProgress.RENEGOTIATE, power_profile=PROFILE),
        E20.PowerDeliveryReq(session_id=SID, ev_processing=iso20.Processing.ONGOING, charge_progress=ChargeProgress.STANDBY),
        E20.PowerDeliveryRes(session_id=SID, evse_status=iso20.EVSEStatus()),
        E20.PowerDeliveryRes(session_id=SID, evse_status=STATUS20),
        E20.DCChargeLoopReq(session_id=SID, display=DISPLAY, meter_info_requested=True, ev_present_voltage_V=400,
                            ev_target_current_A=-20, ev_target_voltage_V=400, ev_max_charge_power_W=50000,
                            ev_max_charge_current_A=125, ev_max_voltage_V=450, ev_max_discharge_power_W=10000,
                            ev_max_discharge_current_A=25, ev_target_energy_request_Wh=1000),
        E20.DCChargeLoopReq(session_id=SID, control_mode=D, ev_present_voltage_V=400, ev_max_charge_power_W=50000,
                            ev_max_charge_current_A=125, ev_max_voltage_V=450, ev_target_energy_request_Wh=30000,
                            ev_max_energy_request_Wh=40000, ev_min_energy_request_Wh=1000),
        E20.DCChargeLoopRes(session_id=SID, evse_status=STATUS20, meter_info=METER20, evse_present_current_A=31.5,
                            evse_present_voltage_V=401, evse_power_limit_achieved=True, evse_max_charge_power_W=150000,
                            evse_max_charge_current_A=200, evse_max_voltage_V=920, evse_max_discharge_power_W=10000),
        E20.ACChargeLoopReq(session_id=SID, display=DISPLAY, ev_present_active_power_W=7400, ev_max_charge_power_W=11000,
                            ev_min_charge_power_W=1380, ev_target_energy_request_Wh=5000),
        E20.ACChargeLoopReq(session_id=SID, control_mode=D, ev_present_active_power_W=7400, ev_max_charge_power_W=11000,
                            ev_min_charge_power_W=1380, ev_target_energy_request_Wh=5000),
        E20.ACChargeLoopRes(session_id=SID, evse_status=iso20.EVSEStatus(), meter_info=METER20, evse_target_active_power_W=7400,
                            evse_present_active_power_W=7350),
        E20.DCWeldingDetectionReq(session_id=SID, ev_processing=iso20.Processing.FINISHED),
        E20.DCWeldingDetectionRes(session_id=SID, evse_present_voltage_V=3.5),
        E20.SessionStopReq(session_id=SID, charging_session=ChargingSession.PAUSE),
        E20.SessionStopRes(session_id=SID),
    ]


SAMPLES = ([("sap", m) for m in sap_samples()] + [("din", m) for m in din_samples()]
           + [("iso2", m) for m in iso2_samples()] + [("iso20", m) for m in iso20_samples()])


def test_samples_cover_every_message_class():
    for proto, mod in (("din", din), ("iso2", iso2), ("iso20", iso20)):
        covered = {type(m) for p, m in SAMPLES if p == proto}
        assert set(mod.MESSAGES) <= covered, f"{proto}: no sample of {set(mod.MESSAGES) - covered}"
    assert {common.SupportedAppProtocolReq, common.SupportedAppProtocolRes} <= {type(m) for _, m in SAMPLES}


@pytest.mark.parametrize("proto,msg", SAMPLES, ids=lambda v: v if isinstance(v, str) else type(v).__name__)
def test_round_trip_class_dict_exi_dict_class(proto, msg):
    mode = ControlMode.DYNAMIC if proto == "iso20" and getattr(msg, "departure_time_s", None) == 3600 else None
    grammar, doc = X.to_document(proto, msg, timestamp=1_700_000_000, control_mode=mode)
    data = exi.encode(grammar, doc)
    back_doc = exi.decode(grammar, data)
    assert back_doc == doc
    assert X.from_document(grammar, back_doc) == msg
    assert X.decode_message(grammar, X.encode_message(proto, msg, timestamp=1_700_000_000, control_mode=mode)) == msg


def test_dc_loop_res_takes_the_control_mode_of_its_request():
    res = E20.DCChargeLoopRes(session_id=SID, evse_max_charge_power_W=150000, evse_max_charge_current_A=200,
                              evse_max_voltage_V=920)
    _, sched = X.to_document("iso20", res, timestamp=0)
    _, dyn = X.to_document("iso20", res, timestamp=0, control_mode=ControlMode.DYNAMIC)
    assert "Scheduled_DC_CLResControlMode" in sched["DC_ChargeLoopRes"]
    assert dyn["DC_ChargeLoopRes"]["Dynamic_DC_CLResControlMode"]["EVSEMinimumChargePower"] == {"Exponent": 0, "Value": 0}
    s = X.ExiSession()
    s.protocol = "iso20"
    s.seen(E20.DCChargeLoopReq(session_id=SID, control_mode=ControlMode.DYNAMIC, ev_present_voltage_V=1))
    grammar, data = s.encode(res)
    assert grammar == "iso20-dc" and "Dynamic_DC_CLResControlMode" in exi.decode(grammar, data)["DC_ChargeLoopRes"]


@pytest.mark.parametrize("proto,mod", [("din", din), ("iso2", iso2), ("iso20", iso20)])
def test_failed_answers_built_from_the_response_code_alone_encode(proto, mod):
    # (a -20 evse_status None comes back as EVSEStatus() without notification: the same meaning)
    for cls in mod.MESSAGES:
        if issubclass(cls, common.V2GResponse):
            msg = cls(session_id=SID, response_code=ResponseCode.FAILED)
            back = X.decode_message(X.grammar_of(proto, msg), X.encode_message(proto, msg, timestamp=1))
            assert type(back) is cls and back.response_code is ResponseCode.FAILED and back.session_id == SID


def test_session_follows_the_negotiated_protocol():
    ev, secc = X.ExiSession(), X.ExiSession()
    req, res = sap_samples()[:2]
    for m in (req, res):
        grammar, data = (ev if m is req else secc).encode(m)
        assert (secc if m is req else ev).decode(grammar, data) == m
    assert ev.protocol == secc.protocol == "iso2"
    msg = iso2.CableCheckReq(session_id=SID, dc_ev_status=ST)
    grammar, data = ev.encode(msg)
    assert grammar == "iso2" and secc.decode(grammar, data) == msg
    with pytest.raises(X.ExiBridgeError, match="got din EXI while the connection speaks iso2"):
        secc.decode("din", X.encode_message("din", msg))


def test_values_beyond_a_short_are_rounded_to_the_nearest_representable():
    # 380.25 V needs 38025e-2 (above 32767): the finest exponent that fits is -1
    assert X.scaled(380.25) == (3802, -1) and X.scaled(32.0) == (32, 0) and X.scaled(150000) == (15000, 1)
    msg = E20.DCPreChargeReq(session_id=SID, ev_present_voltage_V=380.25, ev_target_voltage_V=380)
    assert X.decode_message("iso20-dc", X.encode_message("iso20", msg)).ev_present_voltage_V == 380.2


def test_din_power_delivery_without_profile_drops_the_tuple_id():
    msg = din.PowerDeliveryReq(session_id=SID, ready_to_charge_state=True, sa_schedule_tuple_id=1, dc_ev_status=ST)
    assert X.decode_message("din", X.encode_message("din", msg)) == attrs.evolve(msg, sa_schedule_tuple_id=None)


def test_clear_errors():
    with pytest.raises(X.ExiBridgeError, match="SessionID 'xyz' is not hex"):
        X.encode_message("iso2", iso2.SessionStopReq(session_id="xyz"))
    with pytest.raises(X.ExiBridgeError, match="ServiceDetailReq is not a din message"):
        X.encode_message("din", iso2.ServiceDetailReq(session_id=SID, service_id=1))
    with pytest.raises(X.ExiBridgeError, match="SessionSetupReq as din: .*EVCCID|EVCCID 'not-hex' is not hex"):
        X.encode_message("din", din.SessionSetupReq(evcc_id="not-hex"))
    with pytest.raises(X.ExiBridgeError, match="does not fit"):
        X.encode_message("din", din.PreChargeReq(dc_ev_status=ST, ev_target_voltage_V=1e9, ev_target_current_A=0))
    with pytest.raises(X.ExiBridgeError, match="decode needs the -20 grammar"):
        X.decode_message("iso20", b"\x80")
    with pytest.raises(exi.ExiDecodeError):
        X.decode_message("din", b"\x80\x9a\x02")


# --- Josev fixtures -----------------------------------------------------------------------------

FIXTURES = sorted((Path(__file__).parents[3] / "tests" / "interop" / "fixtures").glob("josev_*.json"))
FIXTURE_MESSAGES = [(f.stem, m) for f in FIXTURES for m in json.loads(f.read_text())["messages"]]

# Josev content our classes do not hold (the gap for "generated types replace hand-written
# classes"): path patterns over Josev's JSON leaves.
DROPPED = (
    r"/SAScheduleTuple\[\]/SalesTariff/",                # -2 sales tariffs
    r"^/V2G_Message/Header/Signature/",                  # -2 header signature (TLS fixture)
    r"_L[23]$", r"/EVSETargetReactivePower", r"/EVSEPowerRampLimitation$", r"/MaximumPowerAsymmetry$",
    r"/PowerToleranceAcceptance$", r"/EVEnergyOffer/", r"/AbsolutePriceSchedule/", r"/DischargingSchedule/",
    r"/PowerSchedule/(AvailableEnergy|PowerTolerance)$",
    r"/Scheduled_DC_CLResControlMode/EVSEMinimumChargePower$",
    r"/ServiceParameterList/ParameterSet\[\]/Parameter/EVSENominalVoltage/intValue$",
)
# fields our encoding fills with a default that differs from what Josev sent
OUR_DEFAULTS = (r"/EVPowerProfileEntry\[\]/Duration$",)  # our profile entries carry no duration


def _norm(o):
    if isinstance(o, dict):
        if {"Multiplier", "Value"} <= set(o):
            return ("value", round(o["Value"] * 10.0 ** o["Multiplier"], 9), o.get("Unit"))
        if set(o) == {"Exponent", "Value"}:
            return ("value", round(o["Value"] * 10.0 ** o["Exponent"], 9), None)
        return {k: _norm(v) for k, v in o.items()}
    if isinstance(o, list):
        if o and isinstance(o[0], dict) and "Name" in o[0]:  # -20/-2 Parameter lists: by name
            return {p["Name"]: _norm({k: v for k, v in p.items() if k != "Name"}) for p in o}
        return [_norm(v) for v in o]
    return o


def _leaves(o, path=""):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _leaves(v, f"{path}/{k}")
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, o


def _ours(m):
    proto, data = m["protocol"], bytes.fromhex(m["exi"])
    msg = X.decode_message(proto, data)
    ts = exi.decode(proto, data)[m["name"]]["Header"]["TimeStamp"] if proto.startswith("iso20") else None
    grammar, doc = X.to_document("iso20" if proto.startswith("iso20") else proto, msg, timestamp=ts)
    assert grammar == proto
    return msg, doc


@pytest.mark.parametrize("scenario,m", FIXTURE_MESSAGES, ids=lambda v: v if isinstance(v, str) else v["name"])
def test_josev_message_maps_field_by_field(scenario, m):
    msg, doc = _ours(m)
    assert type(msg).__name__.replace("_", "") == m["name"].replace("_", "").replace("supportedAppProtocol", "SupportedAppProtocol")
    ours = dict(_leaves(_norm(exi.to_json(m["protocol"], doc))))
    theirs = dict(_leaves(_norm(m["json"])))
    for path, value in ours.items():
        if any(re.search(p, re.sub(r"\[\d+\]", "[]", path)) for p in OUR_DEFAULTS):
            continue
        assert path in theirs, f"{m['name']}: we write {path}={value!r}, Josev has no such field"
        assert theirs[path] == value, f"{m['name']}: {path}: ours {value!r}, Josev {theirs[path]!r}"
    for path in theirs.keys() - ours.keys():
        generic = re.sub(r"\[\d+\]", "[]", path)
        assert any(re.search(p, generic) for p in DROPPED), f"{m['name']}: Josev's {path} is lost in our class"


def test_josev_values_in_our_objects():
    by = {(s, m["name"]): m for s, m in FIXTURE_MESSAGES}
    cd = X.decode_message("din", bytes.fromhex(by["josev_din_dc_eim_tcp", "CurrentDemandReq"]["exi"]))
    assert (cd.session_id, cd.dc_ev_status.soc_pct, cd.ev_maximum_current_limit_A, cd.ev_maximum_voltage_limit_V,
            cd.ev_maximum_power_limit_W, cd.remaining_time_to_bulk_soc_s) == ("CF918F745AD4EFB8", 76, 32.0, 500.0, 80000.0, 80.0)
    loop = X.decode_message("iso20-dc", bytes.fromhex(by["josev_iso20_dc_eim_tcp", "DC_ChargeLoopReq"]["exi"]))
    assert (loop.control_mode, loop.ev_present_voltage_V, loop.ev_target_current_A, loop.display.present_soc_pct) == (
        ControlMode.SCHEDULED, 20000.0, 200.0, 10.0)
    sd = X.decode_message("iso20-common", bytes.fromhex(by["josev_iso20_dc_eim_tcp", "ServiceDetailRes"]["exi"]))
    assert [(p.parameter_set_id, p.control_mode) for p in sd.parameter_sets] == [
        (1, ControlMode.SCHEDULED), (2, ControlMode.DYNAMIC), (3, ControlMode.DYNAMIC)]


# messages whose bytes we cannot reproduce, and why (the test checks the list is exact)
PV_SCALING = "Josev's Multiplier/Exponent choice differs from ours (same value)"
NOT_IDENTICAL = {
    ("josev_din_dc_eim_tcp", "ChargeParameterDiscoveryReq"): PV_SCALING,
    ("josev_din_dc_eim_tcp", "PreChargeReq"): PV_SCALING,
    ("josev_din_dc_eim_tcp", "CurrentDemandReq"): PV_SCALING,
    ("josev_din_dc_eim_tcp", "ChargeParameterDiscoveryRes"): PV_SCALING,
    ("josev_din_dc_eim_tcp", "CurrentDemandRes"): PV_SCALING,
    ("josev_iso2_ac_eim_tcp", "ChargeParameterDiscoveryReq"): PV_SCALING,
    ("josev_iso2_ac_eim_tcp", "ChargeParameterDiscoveryRes"): "SalesTariff not held",
    **{(s, n): PV_SCALING for s in ("josev_iso2_dc_eim_tcp", "josev_iso2_dc_eim_tls")
       for n in ("ChargeParameterDiscoveryReq", "PreChargeReq", "CurrentDemandReq", "CurrentDemandRes")},
    **{(s, "ChargeParameterDiscoveryRes"): "SalesTariff not held (+ scaling, TLS: header Signature)"
       for s in ("josev_iso2_dc_eim_tcp", "josev_iso2_dc_eim_tls")},
    **{("josev_iso20_ac_eim_tcp", n): r for n, r in (
        ("AC_ChargeParameterDiscoveryReq", PV_SCALING), ("ScheduleExchangeReq", "EVEnergyOffer not held"),
        ("AC_ChargeLoopReq", PV_SCALING), ("ServiceDetailRes", "EVSENominalVoltage not held, parameter order"),
        ("AC_ChargeParameterDiscoveryRes", "_L2/_L3, asymmetry, ramp not held"),
        ("ScheduleExchangeRes", "price schedules not held"), ("AC_ChargeLoopRes", "reactive, _L2/_L3 not held"))},
    **{("josev_iso20_dc_eim_tcp", n): r for n, r in (
        ("DC_ChargeParameterDiscoveryReq", PV_SCALING), ("ScheduleExchangeReq", "EVEnergyOffer not held"),
        ("DC_PreChargeReq", PV_SCALING), ("PowerDeliveryReq", "entry Duration / PowerToleranceAcceptance not held"),
        ("DC_ChargeLoopReq", PV_SCALING), ("ServiceDetailRes", "EVSENominalVoltage not held, parameter order"),
        ("DC_ChargeParameterDiscoveryRes", "EVSEPowerRampLimitation not held"),
        ("ScheduleExchangeRes", "price schedules not held"), ("DC_ChargeLoopRes", "EVSEMinimumChargePower not held"))},
}


def test_our_encoding_reproduces_josev_bytes_where_representable():
    differ = set()
    for scenario, m in FIXTURE_MESSAGES:
        msg, doc = _ours(m)
        if exi.encode(m["protocol"], doc) != bytes.fromhex(m["exi"]):
            differ.add((scenario, m["name"]))
    assert differ == set(NOT_IDENTICAL)
    assert len(FIXTURE_MESSAGES) - len(differ) >= 100  # the rest is byte-identical


def test_din_pmax_unit_is_configurable_and_saturates_in_watts():
    res = din.ChargeParameterDiscoveryRes(session_id=SID, dc_evse_charge_parameter=EVSE_CP, dc_evse_status=EVSE_ST,
                                          sa_schedule_list=SAScheduleList([SAScheduleTuple(1, [PMaxScheduleEntry(0, 150000.0, 86400)])]))

    def pmax(unit):
        X.set_din_power_unit(unit)
        try:
            data = X.encode_message("din", res)
            return (exi.decode("din", data)["V2G_Message"]["Body"]["ChargeParameterDiscoveryRes"]["SAScheduleList"]
                    ["SAScheduleTuple"][0]["PMaxSchedule"]["PMaxScheduleEntry"][0]["PMax"],
                    X.decode_message("din", data).sa_schedule_list.tuples[0].entries[0].pmax_W)
        finally:
            X.set_din_power_unit("W")

    assert pmax("W") == (32767, 32767.0)  # the most a short holds
    assert pmax("kW") == (150, 150000.0)
    with pytest.raises(X.ExiBridgeError, match="DIN power unit 'MW'"):
        X.set_din_power_unit("MW")


# --- the in-process medium carries EXI -----------------------------------------------------------

from freev2g import link as L  # noqa: E402
from freev2g.model.enums import Protocol, StopCause  # noqa: E402
from freev2g.model.params import BPTEVParameter  # noqa: E402
from freev2g_virtual_plc import medium as MED  # noqa: E402
from freev2g_virtual_plc.scripted import ac_request, dc_request  # noqa: E402

SESSIONS = {
    "din-dc": lambda: dc_request((Protocol.DIN70121,)), "iso2-dc": lambda: dc_request((Protocol.ISO15118_2,)),
    "iso2-ac": lambda: ac_request((Protocol.ISO15118_2,)), "iso20-dc": lambda: dc_request((Protocol.ISO15118_20,)),
    "iso20-dc-dynamic": lambda: dc_request((Protocol.ISO15118_20,), control_mode=ControlMode.DYNAMIC),
    "iso20-dcbpt": lambda: dc_request((Protocol.ISO15118_20,), mode=EnergyTransferMode.DC_BPT,
                                      bpt=BPTEVParameter(ev_max_discharge_power_W=11_000.0, ev_max_discharge_current_A=25.0)),
    "iso20-ac-dynamic": lambda: ac_request((Protocol.ISO15118_20,), control_mode=ControlMode.DYNAMIC),
}


@pytest.mark.parametrize("name", sorted(SESSIONS))
def test_in_process_sessions_travel_as_exi_bytes(virtual_loop, make_rig, monkeypatch, name):
    carried = []
    real_put = MED.asyncio.Queue.put_nowait

    def spy(queue, item):
        if type(item) is MED._Exi:
            carried.append(item)
        return real_put(queue, item)

    monkeypatch.setattr(MED.asyncio.Queue, "put_nowait", spy)
    rig = make_rig()

    async def scenario():
        ok = await rig.run(SESSIONS[name]())
        await rig.close()
        return ok

    assert virtual_loop(scenario()) is True, rig.ev.of(L.EvSessionFinished)
    assert rig.evse.of(L.SessionEnded)[0].cause is StopCause.EV_STOP
    grammars = {c.grammar for c in carried}
    assert "sap" in grammars and len(carried) > 15
    for c in carried:
        exi.decode(c.grammar, c.data)  # real EXI, every message
    lost = {}
    for c in carried:
        if c.original is not None:
            lost.setdefault(type(c.original).__name__, set()).update(
                X.lost_fields(c.original, X.from_document(c.grammar, exi.decode(c.grammar, c.data))))
    assert lost == LOST_IN_SESSION[name]


# what each simulated session's messages lose in EXI (the peer gets those objects whole): fields
# our model fills that the standard schema has no place for, and required -20 values our EVCC
# leaves empty (sent as the README's defaults). The gap list for the generated-types step.
_DC_EVSE_DISCHARGE = {"dc_evse_charge_parameter.max_discharge_power_W", "dc_evse_charge_parameter.max_discharge_current_A"}
_ENERGY = {"ev_max_energy_request_Wh", "ev_min_energy_request_Wh"}
LOST_IN_SESSION = {
    "din-dc": {"ChargeParameterDiscoveryRes": {"sa_schedule_list.tuples"} | _DC_EVSE_DISCHARGE,  # PMax 150 kW > short
               "PowerDeliveryReq": {"sa_schedule_tuple_id"}},
    "iso2-dc": {"ServiceDiscoveryRes": {"charge_service.energy_transfer_modes"},  # DC_BPT has no -2 form
                "ChargeParameterDiscoveryRes": _DC_EVSE_DISCHARGE},
    "iso2-ac": {"ServiceDiscoveryRes": {"charge_service.energy_transfer_modes"},
                "ChargeParameterDiscoveryRes": {"ac_evse_charge_parameter.max_power_W",
                                                "ac_evse_charge_parameter.present_active_power_W"}},
    "iso20-dc": {},
    "iso20-dc-dynamic": {"ScheduleExchangeReq": {"departure_time_s"} | _ENERGY,
                         "DCChargeLoopReq": {"ev_max_charge_power_W", "ev_target_energy_request_Wh"} | _ENERGY},
    "iso20-dcbpt": {"DCChargeParameterDiscoveryRes": {"bpt.evse_min_discharge_current_A"}},
    "iso20-ac-dynamic": {"ScheduleExchangeReq": {"departure_time_s"} | _ENERGY,
                         "ACChargeLoopReq": {"ev_max_charge_power_W", "ev_min_charge_power_W", "ev_target_energy_request_Wh"}},
}


def test_in_process_exi_can_be_switched_off():
    cable = MED.InProcessCable(exi=False)
    assert MED.InProcessCable().exi is True

    async def go():
        ev = await cable.connect(cable.port())
        secc = await cable.accept()
        msg = sap_samples()[0]
        await ev.send(msg)
        return await secc.recv() is msg

    import asyncio
    assert asyncio.run(go())


def test_a_message_that_loses_fields_in_exi_reaches_the_peer_whole_with_a_warning(caplog):
    import logging

    from freev2g.model.params import ScaleNeeds

    caplog.set_level(logging.INFO, logger="freev2g_virtual_plc.medium")

    async def go():
        cable = MED.InProcessCable()
        ev = await cable.connect(cable.port())
        secc = await cable.accept()
        for m in sap_samples()[:2]:
            await (ev if isinstance(m, common.SupportedAppProtocolReq) else secc).send(m)
            await (secc if isinstance(m, common.SupportedAppProtocolReq) else ev).recv()
        msg = iso2.ChargeParameterDiscoveryReq(session_id=SID, requested_energy_transfer_mode=EnergyTransferMode.DC_EXTENDED,
                                               dc_ev_charge_parameter=attrs.evolve(DC_CP, scale=ScaleNeeds(ev_max_soc_pct=90)))
        await ev.send(msg)
        return msg, await secc.recv()

    import asyncio
    sent, got = asyncio.run(go())
    assert got == sent and got.dc_ev_charge_parameter.scale.ev_max_soc_pct == 90
    assert "ChargeParameterDiscoveryReq loses dc_ev_charge_parameter.scale in EXI" in caplog.text


def test_socket_codec_lines_carry_exi_after_negotiation():
    from freev2g_virtual_plc.codec import CodecError, MessageCodec

    ev, evse = MessageCodec(), MessageCodec()
    early = ev.encode(iso2.CableCheckReq(session_id=SID, dc_ev_status=ST))
    assert "body" in early and "exi" not in early  # nothing negotiated yet
    for m in sap_samples()[:2]:
        line = json.loads(json.dumps((ev if isinstance(m, common.SupportedAppProtocolReq) else evse).encode(m)))
        assert line["grammar"] == "sap" and "body" not in line
        assert (evse if isinstance(m, common.SupportedAppProtocolReq) else ev).decode(line) == m
    msg = iso2.CurrentDemandReq(session_id=SID, dc_ev_status=ST, ev_target_current_A=10, ev_target_voltage_V=400)
    line = json.loads(json.dumps(ev.encode(msg)))
    assert line["grammar"] == "iso2" and exi.decode("iso2", bytes.fromhex(line["exi"])) and "body" not in line
    assert evse.decode(line) == msg
    lossy = iso2.MeteringReceiptReq(session_id=SID, meter_info=METER2, signature=b"\xff" * 4)
    line = json.loads(json.dumps(ev.encode(lossy)))
    assert line["lost"] == ["signature"] and evse.decode(line) == lossy
    with pytest.raises(CodecError, match="iso2.CurrentDemandReq: .*"):
        evse.decode({**ev.encode(msg), "exi": "80"})
    assert "body" in MessageCodec(exi=False).encode(sap_samples()[0])


def test_link_option_exi_switches_the_in_process_medium():
    from freev2g.clock import Clock
    from freev2g.registry import LinkContext
    from freev2g_virtual_plc.options import LinkOptions, LinkOptionsError
    from freev2g_virtual_plc.secc.link import make_cable

    def cable(cfg):
        return make_cable(LinkOptions.from_config(cfg), LinkContext(Clock(), {}, {}), "evse")

    assert cable({}).exi is True and cable({"exi": False}).exi is False
    with pytest.raises(LinkOptionsError, match="link.options.exi: expected true or false"):
        LinkOptions.from_config({"exi": "yes"})
