"""ISO 15118 fidelity: -20 ScheduleExchange needs reach the EVSE application, the EVSE's AC
nominal voltage, a stop asked for before the first loop request, -2 MeteringReceipt (PnC)."""
from __future__ import annotations

import attrs
import pytest

from freev2g import link as L
from freev2g.model.enums import ControlMode, EnergyTransferMode as ETM, PaymentOption, Protocol, ResponseCode, StopCause
from freev2g.model.params import ACEVChargeParameter, BPTEVParameter, DCEVChargeParameter, DCEVStatus, EVSEOffer, ScaleNeeds
from freev2g_virtual_plc.evcc.client import EvccSession
from freev2g_virtual_plc.messages import iso2
from freev2g_virtual_plc.options import LinkOptions, LinkOptionsError
from freev2g_virtual_plc.scripted import ScriptedEv, ScriptedEvse, ac_request, dc_request

DIN, ISO2, ISO20 = Protocol.DIN70121, Protocol.ISO15118_2, Protocol.ISO15118_20
ALL = (ETM.DC_EXTENDED, ETM.DC_BPT, ETM.AC_THREE_PHASE_CORE, ETM.AC_BPT)


def run(virtual_loop, rig, request, **kw):
    async def scenario():
        ok = await rig.run(request, **kw)
        await rig.close()
        return ok

    return virtual_loop(scenario())


@pytest.fixture
def wire(monkeypatch):
    """Every (request, response) pair the EVCC exchanged, in order (a spy on the real client)."""
    seen: list[tuple[object, object]] = []
    real = EvccSession.call

    async def call(self, req, timeout_s):
        res = await real(self, req, timeout_s)
        seen.append((req, res))
        return res

    monkeypatch.setattr(EvccSession, "call", call)
    return seen


# --- 1. -20 ScheduleExchange: the complete needs reach the EVSE application --------------------


def test_iso20_scheduled_needs_reach_the_evse(virtual_loop, make_rig):
    scale = ScaleNeeds(ev_max_energy_request_Wh=40_000.0, ev_min_energy_request_Wh=8_000.0, ev_min_soc_pct=25.0)
    dc = DCEVChargeParameter(status=DCEVStatus(soc_pct=35.0), ev_max_current_A=150.0, ev_max_voltage_V=450.0,
                             ev_max_power_W=60_000.0, ev_energy_request_Wh=22_500.0, departure_time_s=5_400,
                             full_soc_pct=90.0, scale=scale)
    rig = make_rig()
    assert run(virtual_loop, rig, dc_request((ISO20,), dc=dc)) is True
    cpd, se = rig.evse.of(L.ChargeParameterRequest)
    assert cpd.dc.departure_time_s is None  # parameter discovery does not carry them (7.4)
    assert se.control_mode is ControlMode.SCHEDULED and se.max_entries == 24
    assert se.dc.departure_time_s == 5_400 and se.dc.ev_energy_request_Wh == 22_500.0
    assert se.dc.scale.ev_max_energy_request_Wh == 40_000.0 and se.dc.scale.ev_min_energy_request_Wh == 8_000.0
    assert se.dc.scale.ev_min_soc_pct is None and se.dc.scale.ev_target_soc_pct is None  # Dynamic only
    assert se.dc.ev_max_current_A == 150.0 and se.dc.ev_max_voltage_V == 450.0


def test_iso20_dynamic_bpt_needs_reach_the_evse(virtual_loop, make_rig):
    scale = ScaleNeeds(ev_max_energy_request_Wh=40_000.0, ev_min_energy_request_Wh=5_000.0, ev_min_soc_pct=30.0,
                       ev_target_soc_pct=85.0, remaining_v2g_energy_Wh=9_000.0)
    dc = DCEVChargeParameter(status=DCEVStatus(soc_pct=60.0), ev_max_current_A=100.0, ev_max_voltage_V=450.0,
                             ev_max_power_W=50_000.0, ev_energy_request_Wh=15_000.0, departure_time_s=3_600,
                             scale=scale)
    bpt = BPTEVParameter(ev_max_discharge_power_W=11_000.0, ev_max_discharge_current_A=25.0,
                         ev_min_v2x_energy_request_Wh=-12_000.0, ev_max_v2x_energy_request_Wh=20_000.0)
    rig = make_rig()
    assert run(virtual_loop, rig, dc_request((ISO20,), mode=ETM.DC_BPT, dc=dc, bpt=bpt,
                                             control_mode=ControlMode.DYNAMIC)) is True
    se = rig.evse.of(L.ChargeParameterRequest)[-1]
    assert se.control_mode is ControlMode.DYNAMIC
    assert se.dc.departure_time_s == 3_600 and se.dc.ev_energy_request_Wh == 15_000.0
    assert se.dc.scale.ev_min_soc_pct == 30.0 and se.dc.scale.ev_target_soc_pct == 85.0
    assert se.dc.scale.remaining_v2g_energy_Wh == 9_000.0  # from BPT parameter discovery, kept
    assert se.bpt.ev_min_v2x_energy_request_Wh == -12_000.0 and se.bpt.ev_max_v2x_energy_request_Wh == 20_000.0
    assert se.bpt.ev_max_discharge_power_W == 11_000.0


def test_iso20_dynamic_target_soc_defaults_to_full_soc(virtual_loop, make_rig):
    dc = DCEVChargeParameter(status=DCEVStatus(soc_pct=60.0), ev_max_current_A=100.0, ev_max_voltage_V=450.0,
                             full_soc_pct=95.0)
    rig = make_rig()
    assert run(virtual_loop, rig, dc_request((ISO20,), dc=dc, control_mode=ControlMode.DYNAMIC)) is True
    assert rig.evse.of(L.ChargeParameterRequest)[-1].dc.scale.ev_target_soc_pct == 95.0


@pytest.mark.parametrize("nominal_V", [230.0, 120.0])
def test_iso20_ac_needs_use_the_evse_nominal_voltage(virtual_loop, make_rig, nominal_V):
    scale = ScaleNeeds(ev_max_power_W=11_040.0, ev_max_energy_request_Wh=30_000.0)
    ac = ACEVChargeParameter(e_amount_Wh=18_000.0, ev_max_voltage_V=400.0, ev_max_current_A=16.0,
                             ev_min_current_A=6.0, departure_time_s=7_200, scale=scale)
    rig = make_rig(evse_app=ScriptedEvse(nominal_voltage_V=nominal_V))
    assert run(virtual_loop, rig, ac_request((ISO20,), ac=ac)) is True
    cpd, se = rig.evse.of(L.ChargeParameterRequest)
    assert se.ac.e_amount_Wh == 18_000.0 and se.ac.departure_time_s == 7_200
    assert se.ac.scale.ev_max_energy_request_Wh == 30_000.0 and se.ac.scale.ev_max_power_W == 11_040.0
    assert se.ac.ev_max_current_A == pytest.approx(11_040.0 / (nominal_V * 3))
    assert se.ac.ev_min_current_A == pytest.approx(6.0 * 230.0 * 3 / (nominal_V * 3))  # EV converted with 230 V
    assert se.ac.ev_max_voltage_V == nominal_V
    assert cpd.ac.ev_max_current_A == pytest.approx(11_040.0 / (230.0 * 3))  # option value before the answer


def test_iso20_schedule_exchange_asks_again_after_renegotiation(virtual_loop, make_rig):
    rig = make_rig(ev_app=ScriptedEv(loops=4, renegotiate_at=2))
    assert run(virtual_loop, rig, dc_request((ISO20,))) is True
    reqs = rig.evse.of(L.ChargeParameterRequest)
    assert [r.renegotiation for r in reqs] == [False, False, True]
    assert reqs[-1].dc.ev_energy_request_Wh == 30_000.0


# --- 3. a stop before the first loop request ----------------------------------------------------


CASES = [(DIN, dc_request), (ISO2, dc_request), (ISO2, ac_request), (ISO20, dc_request), (ISO20, ac_request)]


@pytest.mark.parametrize("protocol, factory", CASES, ids=["din-dc", "iso2-dc", "iso2-ac", "iso20-dc", "iso20-ac"])
def test_stop_right_after_power_delivery_start(virtual_loop, make_rig, protocol, factory):
    rig = make_rig(ev_app=ScriptedEv(loops=0))
    assert run(virtual_loop, rig, factory((protocol,))) is True
    fin, ended = rig.ev.of(L.EvSessionFinished), rig.evse.of(L.SessionEnded)
    assert len(fin) == 1 and fin[0].cause is StopCause.EV_STOP, fin
    assert len(ended) == 1 and ended[0].cause is StopCause.EV_STOP, ended
    assert [e.progress for e in rig.evse.of(L.PowerDeliveryRequest)] == [L.ChargeProgress.START, L.ChargeProgress.STOP]
    loops = rig.evse.of(L.DCChargeLoopRequest) + rig.evse.of(L.ACChargeLoopRequest)
    assert len(loops) == 1
    if factory is dc_request and protocol is not ISO20:
        assert loops[0].target_current_A == 0.0


@pytest.mark.parametrize("pause", [False, True])
def test_stop_charging_called_as_power_delivery_starts(virtual_loop, make_rig, pause):
    holder: dict = {}

    class StopsAtOnce(ScriptedEv):
        async def handle(self, event):
            out = await super().handle(event)
            if isinstance(event, L.PowerDeliveryStarted):
                await holder["link"].stop_charging(pause=pause)
            return out

    rig = make_rig(ev_app=StopsAtOnce(loops=100))
    holder["link"] = rig.ev_link
    assert run(virtual_loop, rig, dc_request()) is True
    assert len(rig.evse.of(L.DCChargeLoopRequest)) == 1
    fin = rig.ev.of(L.EvSessionFinished)
    assert len(fin) == 1 and fin[0].cause is StopCause.EV_STOP and fin[0].paused is pause


# --- 2. ISO 15118-2 MeteringReceipt (PnC) ---------------------------------------------------------

PNC_OFFER = EVSEOffer(evse_id="DE*PNX*E1234567*1", energy_transfer_modes=ALL,
                      payment_options=[PaymentOption.CONTRACT, PaymentOption.EXTERNAL_PAYMENT])


@pytest.mark.parametrize("factory", [dc_request, ac_request], ids=["dc", "ac"])
def test_metering_receipt_after_each_receipt_required(virtual_loop, make_rig, wire, factory):
    rig = make_rig(evse_opts={"receipt_required": True})
    assert run(virtual_loop, rig, factory(payment=PaymentOption.CONTRACT), offer=PNC_OFFER) is True
    assert rig.ev.of(L.EvSessionFinished)[0].cause is StopCause.EV_STOP
    loop_res = [res for _, res in wire if isinstance(res, (iso2.CurrentDemandRes, iso2.ChargingStatusRes))]
    receipts = [(req, res) for req, res in wire if isinstance(req, iso2.MeteringReceiptReq)]
    assert len(loop_res) == 3 and all(r.receipt_required for r in loop_res)
    assert len(receipts) == 3
    for (req, res), loop in zip(receipts, loop_res):
        assert req.meter_info == loop.meter_info and req.signature and res.response_code is ResponseCode.OK
        assert (res.dc_evse_status is not None) is (factory is dc_request)


@pytest.mark.parametrize("opts, payment", [({}, PaymentOption.CONTRACT),
                                           ({"receipt_required": True}, PaymentOption.EXTERNAL_PAYMENT)],
                         ids=["option-off", "eim"])
def test_no_receipt_without_option_or_pnc(virtual_loop, make_rig, wire, opts, payment):
    rig = make_rig(evse_opts=opts)
    assert run(virtual_loop, rig, dc_request(payment=payment), offer=PNC_OFFER) is True
    assert not any(isinstance(req, iso2.MeteringReceiptReq) for req, _ in wire)
    assert not any(getattr(res, "receipt_required", False) for _, res in wire)


def test_receipt_for_another_reading_fails_the_session(virtual_loop, make_rig, wire, monkeypatch):
    real = EvccSession.metering_receipt

    async def tampered(self, res):
        if getattr(res, "receipt_required", False):
            res = attrs.evolve(res, meter_info=attrs.evolve(res.meter_info, meter_reading_Wh=999_999))
        await real(self, res)

    monkeypatch.setattr(EvccSession, "metering_receipt", tampered)
    rig = make_rig(evse_opts={"receipt_required": True})
    assert run(virtual_loop, rig, dc_request(payment=PaymentOption.CONTRACT), offer=PNC_OFFER) is True
    fin = rig.ev.of(L.EvSessionFinished)
    assert len(fin) == 1 and fin[0].cause is StopCause.EVSE_STOP and "MeteringSignatureNotValid" in fin[0].detail
    ended = rig.evse.of(L.SessionEnded)
    assert len(ended) == 1 and "MeteringReceipt" in ended[0].detail


def test_link_option_values_are_checked():
    assert LinkOptions.from_config({"receipt_required": True, "ac_nominal_voltage_V": 120}).ac_nominal_voltage_V == 120
    with pytest.raises(LinkOptionsError, match="link.options.receipt_required"):
        LinkOptions.from_config({"receipt_required": "yes"})
    with pytest.raises(LinkOptionsError, match="link.options.ac_nominal_voltage_V"):
        LinkOptions.from_config({"ac_nominal_voltage_V": 0})
    with pytest.raises(LinkOptionsError, match="link.options.loop_interval_s"):
        LinkOptions.from_config({"loop_interval_s": -1})


# --- 4. one definition for what DIN and -2 share -------------------------------------------------


def test_din_and_iso2_share_identical_messages_only():
    from freev2g_virtual_plc.messages import din, din_iso2, iso20

    for name in ("CableCheckReq", "CableCheckRes", "PreChargeReq", "PreChargeRes", "WeldingDetectionReq",
                 "WeldingDetectionRes", "SessionStopRes", "DCEVSEStatus", "DCEVChargeParameterMsg", "SelectedService"):
        assert getattr(din, name) is getattr(iso2, name) is getattr(din_iso2, name), name
    for name in ("SessionSetupReq", "ServiceDiscoveryReq", "CurrentDemandReq", "CurrentDemandRes",
                 "SessionSetupRes", "PowerDeliveryReq", "SessionStopReq"):
        assert getattr(din, name) is not getattr(iso2, name), name
    for name in ("SessionSetupReq", "ServiceDiscoveryReq", "CurrentDemandReq"):  # same fields, other response
        assert getattr(din, name).RES is not getattr(iso2, name).RES
        assert attrs.fields(getattr(din, name)) == attrs.fields(getattr(iso2, name))
    assert {f.name for f in attrs.fields(din.CurrentDemandReq)} == {f.name for f in attrs.fields(iso2.CurrentDemandReq)}
    assert {"meter_info", "receipt_required"} <= {f.name for f in attrs.fields(iso2.CurrentDemandRes)}
    assert "meter_info" not in {f.name for f in attrs.fields(din.CurrentDemandRes)}
    assert not set(iso20.MESSAGES) & (set(iso2.MESSAGES) | set(din.MESSAGES))


def test_codec_round_trips_shared_and_receipt_messages():
    from freev2g_virtual_plc.codec import MessageCodec
    from freev2g_virtual_plc.messages import din

    codec = MessageCodec()
    msgs = [din.CableCheckReq(session_id="00112233445566AA", dc_ev_status=DCEVStatus(soc_pct=41.0)),
            din.CurrentDemandRes(evse_present_voltage_V=400.0),
            iso2.MeteringReceiptReq(session_id="00112233445566AA", id="mr1", sa_schedule_tuple_id=1,
                                    meter_info=iso2.MeterInfo(meter_id="M1", meter_reading_Wh=12, t_meter_s=99,
                                                              sig_meter_reading=b"\x01\x02"), signature=b"\xff" * 32)]
    for m in msgs:
        assert codec.decode(codec.encode(m)) == m


def test_iso20_inconsistent_energy_requests_fail_with_a_clear_cause(virtual_loop, make_rig, monkeypatch):
    from freev2g_virtual_plc.evcc.iso20 import Iso20Client
    from freev2g_virtual_plc.messages import iso20

    real = Iso20Client.schedule_exchange_req

    def swapped(self, r):  # EVMinimumEnergyRequest above EVMaximumEnergyRequest
        return attrs.evolve(real(self, r), ev_min_energy_request_Wh=50_000.0, ev_max_energy_request_Wh=10_000.0)

    monkeypatch.setattr(Iso20Client, "schedule_exchange_req", swapped)
    rig = make_rig()
    run(virtual_loop, rig, dc_request((ISO20,)))
    ended = rig.evse.of(L.SessionEnded)
    assert len(ended) == 1 and "ScheduleExchangeReq" in ended[0].detail and "exceeds" in ended[0].detail
    fin = rig.ev.of(L.EvSessionFinished)
    assert len(fin) == 1 and ResponseCode.FAILED_WRONG_CHARGE_PARAMETER.value in fin[0].detail
    assert not rig.evse.of(L.PowerDeliveryRequest) and iso20.ScheduleExchangeReq.__name__ in fin[0].detail
