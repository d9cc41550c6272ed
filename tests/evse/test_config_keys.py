"""Each supported EvseManager key changes behaviour (seed 003 names); pure safety arithmetic."""
from __future__ import annotations

import pytest

from freev2g import hookimpl
from freev2g.boards import BspCapabilities
from freev2g.clock import Clock
from freev2g.config import EvseManagerConfig, LinkConfig, StationConfig
from freev2g.evse.station import Station
from freev2g.evse.safety import cable_check_test_voltage_V, emergency_ov_limit_V, isolation_valid
from freev2g.link import (
    J2847_V2H_SERVICE_ID,
    ChargeParameterRequest,
    DCChargeLoopRequest,
    PaymentSelected,
)
from freev2g.model.enums import (
    ChargeMode,
    CPState,
    EnergyTransferMode,
    EVSEProcessing,
    EVSEStatusCode,
    PaymentOption,
    ResponseCode,
)
from freev2g.model.params import BPTEVParameter


@pytest.mark.parametrize(
    "ev_max,evse_max,expected", [(400, 1000, 450), (470, 1000, 500), (800, 1000, 880), (950, 1000, 1000), (400, 420, 420)]
)
def test_cable_check_test_voltage_examples(ev_max, evse_max, expected):
    """charging-domain.md 5.2 examples (IEC 61851-23:2023 CC.4.1.2)."""
    assert cable_check_test_voltage_V(ev_max, evse_max) == pytest.approx(expected)


def test_dc_isolation_voltage_override():
    assert cable_check_test_voltage_V(400, 1000, override_V=500) == 500


@pytest.mark.parametrize("negotiated,limit", [(400, 550), (500, 550), (700, 825), (800, 935), (920, 1100), (1250, 1375)])
def test_emergency_over_voltage_table(negotiated, limit):
    assert emergency_ov_limit_V(negotiated) == limit


def test_isolation_threshold_2023():
    assert isolation_valid(100_000, 5e6, 100_000)
    assert not isolation_valid(99_999, 5e6, 100_000)


def test_identity_keys_reach_offer_and_evse_info(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"evse_id": "DE*ABC*E42*1", "evse_id_din": "49A8", "connector_id": 2,
                                     "connector_type": "cCCS2", "payment_enable_contract": False,
                                     "disable_authentication": False})
        offer = h.link.offer
        assert offer.evse_id == "DE*ABC*E42*1" and offer.evse_id_din == "49A8"
        assert offer.payment_options == (PaymentOption.EXTERNAL_PAYMENT,)
        assert not offer.free_service
        assert EnergyTransferMode.DC_EXTENDED in offer.energy_transfer_modes
        info = h.station.evses()[0]
        assert (info.connector_id, info.connector_type, info.charge_mode) == (2, "cCCS2", ChargeMode.DC)
        await h.station.stop()
        h2 = await make_harness(evse={"payment_enable_eim": False, "charge_mode": "AC"})
        assert h2.link.offer.payment_options == (PaymentOption.EXTERNAL_PAYMENT, PaymentOption.CONTRACT)  # free service
        assert h2.link.offer.free_service
        assert EnergyTransferMode.AC_THREE_PHASE_CORE in h2.link.offer.energy_transfer_modes
        await h2.station.stop()

    virtual_loop(scenario())


def test_contract_disabled_rejects_pnc(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"payment_enable_contract": False, "disable_authentication": False})
        from freev2g.link import AuthorizationRequest

        h.ev.plug_in()
        await h.settle(1.0)
        answer = await h.link.send(AuthorizationRequest(option=PaymentOption.CONTRACT, emaid="DEABCC12345678"))
        assert answer.processing is EVSEProcessing.FINISHED and not answer.accepted
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("kind,length", [("UUID", 36), ("UUID_BASE64", 22), ("SHORT_BASE64", 16)])
def test_session_id_type(virtual_loop, make_harness, kind, length):
    async def scenario():
        h = await make_harness(evse={"session_id_type": kind})
        h.ev.plug_in()
        await h.settle(1.0)
        assert len(h.session_id) == length
        await h.station.stop()

    virtual_loop(scenario())


def test_dc_isolation_voltage_and_imd_keys(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"dc_isolation_voltage_V": 500, "cable_check_wait_number_of_imd_measurements": 3,
                                     "cable_check_wait_below_60V_before_finish": False})
        seen = []
        h.model.subscribe("imd", seen.append)
        await h.dc_until_charge_parameters()
        await h.cable_check()
        assert h.manager.session.extra["cable_check_voltage_V"] == 500  # not 470 from the formula
        assert [e.kind for e in seen].count("reading") == 3
        assert [e.kind for e in seen].count("self_test") == 1
        assert h.model.psu_reading()[0] > 60.0  # no switch-off wait at the end
        await h.station.stop()

        h2 = await make_harness(evse={"cable_check_enable_imd_self_test": False})
        seen2 = []
        h2.model.subscribe("imd", seen2.append)
        await h2.dc_until_charge_parameters()
        await h2.cable_check()
        assert h2.manager.session.extra["cable_check_voltage_V"] == 470  # 420 V EV + 50 V
        assert [e.kind for e in seen2].count("self_test") == 0
        assert h2.model.psu_reading()[0] < 60.0  # waited below 60 V (default)
        await h2.station.stop()

    virtual_loop(scenario())


BIDI = {"power_supply": {"max_import_current_A": 100.0, "max_import_power_W": 30_000.0}}


def test_j2847_v2h_discharge(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"sae_j2847_2_bpt_enabled": True, "sae_j2847_2_bpt_mode": "V2H"},
                               board_options=BIDI)
        assert h.link.offer.sae_j2847_2_bpt_mode == "V2H"
        bpt = BPTEVParameter(ev_max_discharge_power_W=20_000.0, ev_max_discharge_current_A=50.0)
        cpd = await h.dc_until_charge_parameters(services=(1, J2847_V2H_SERVICE_ID), bpt=bpt,
                                                 dc=h.dc_param(bulk_soc_pct=25.0))
        assert cpd.dc.max_discharge_current_A == 100.0
        await h.cable_check()
        await h.precharge()
        from freev2g.link import PowerDeliveryRequest
        from freev2g.model.enums import ChargeProgress

        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
        answers = await h.loop(n=12, current_A=-40.0)
        assert answers[-1].present_current_A < -20.0  # discharging the EV
        assert answers[-1].evse_max_current_A < 0
        assert h.model.energy_export_Wh > 0
        low = await h.link.send(DCChargeLoopRequest(ev_status=h.ev_status().__class__(soc_pct=24.0),
                                                    target_voltage_V=380.0, target_current_A=-40.0))
        assert low.status_code is EVSEStatusCode.SHUTDOWN  # at the minimum SoC (BulkSOC)
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())


def test_discharge_refused_without_j2847(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(board_options=BIDI)
        assert h.link.offer.sae_j2847_2_bpt_mode is None
        h.ev.plug_in()
        await h.settle(1.0)
        from freev2g.link import SessionSetup
        from freev2g.model.enums import Protocol

        await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0011223344556677", evcc_id="01"))
        await h.link.send(PaymentSelected(option=PaymentOption.EXTERNAL_PAYMENT, selected_service_ids=(1, J2847_V2H_SERVICE_ID)))
        cpd = await h.link.send(ChargeParameterRequest(mode=EnergyTransferMode.DC_EXTENDED, dc=h.dc_param(),
                                                       bpt=BPTEVParameter(ev_max_discharge_power_W=10_000.0)))
        assert cpd.response_code is ResponseCode.FAILED_WRONG_CHARGE_PARAMETER
        await h.station.stop()

    virtual_loop(scenario())


class _SwitchingBoard:
    """The sim bsp with a board that allows phase switching under load (capability flag)."""

    @hookimpl
    def freev2g_register_boards(self, registry):
        from freev2g_evse_board.sim.drivers import SimControlPilot, shared_model

        class SwitchingPilot(SimControlPilot):
            def capabilities(self):
                base = super().capabilities()
                return BspCapabilities(base.max_current_A_import, 0.0, 1, base.max_phases, True)

        registry.register("bsp", "sim_switching", lambda cfg, ctx: SwitchingPilot(shared_model(cfg, ctx)))


@pytest.mark.parametrize("cp_mode,duty_during", [("X1", 100.0), ("F", 0.0)])
def test_switch_3ph1ph(virtual_loop, make_harness, pm_with, cp_mode, duty_during):
    async def scenario():
        pm = pm_with(("switching", _SwitchingBoard()))
        cfg = StationConfig(evse=EvseManagerConfig(charge_mode=ChargeMode.AC, disable_authentication=True,
                                                   switch_3ph1ph_delay_s=4, switch_3ph1ph_cp_state=cp_mode),
                            link=LinkConfig(name="scripted"))
        cfg.board.bsp = "sim_switching"
        shared: dict = {}
        station = Station(cfg, pm=pm, clock=Clock(), board_shared=shared, link_shared={})
        await station.start()
        model = shared["sim_model"]
        m = station.manager(1)
        model.plug_in()
        model.set_ev_state(CPState.C)
        await station.clock.sleep(1.0)
        assert model.evse_contactor and model.evse_phases == 3
        task = m.spawn(m.ac.switch_phases(1))
        await station.clock.sleep(2.0)
        assert not model.evse_contactor
        assert station.boards["bsp"].pwm_duty_pct() == duty_during
        await station.clock.sleep(2.5)  # the configured 4 s have passed
        assert await task
        assert model.evse_contactor and model.evse_phases == 1
        await station.stop()

    virtual_loop(scenario())


def test_switch_phases_refused_when_board_cannot(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"charge_mode": "AC"})
        h.ev.plug_in()
        h.ev.set_cp_state(CPState.C)
        await h.settle(1.0)
        assert not await h.manager.ac.switch_phases(1)  # sim board: no switching under load
        assert h.bsp.contactor_closed() and h.model.evse_phases == 3
        await h.station.stop()

    virtual_loop(scenario())


def test_eim_disabled_offers_contract_only_and_rejects_eim(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={"payment_enable_eim": False, "disable_authentication": False})
        assert h.link.offer.payment_options == (PaymentOption.CONTRACT,)
        from freev2g.link import AuthorizationRequest

        h.ev.plug_in()
        await h.settle(1.0)
        answer = await h.link.send(AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT))
        assert answer.processing is EVSEProcessing.FINISHED and not answer.accepted
        await h.station.stop()

    virtual_loop(scenario())


def test_preferences_without_discharge_keep_the_flow_one_way(virtual_loop, make_harness):
    """OCPI ChargingPreferences.discharge_allowed=false: no discharge even where EV and EVSE can;
    allowing it again (a new preference) lets the EV discharge after renegotiation."""
    from freev2g.link import PowerDeliveryRequest
    from freev2g.model.enums import ChargeProgress
    from freev2g.model.limits import ChargingPreferences

    async def scenario():
        h = await make_harness(evse={"sae_j2847_2_bpt_enabled": True, "sae_j2847_2_bpt_mode": "V2G"},
                               board_options=BIDI)
        bpt = BPTEVParameter(ev_max_discharge_power_W=20_000.0, ev_max_discharge_current_A=50.0)
        cpd = await h.dc_until_charge_parameters(services=(1, J2847_V2H_SERVICE_ID + 1), bpt=bpt,
                                                 dc=h.dc_param(bulk_soc_pct=20.0))
        await h.cable_check()
        await h.precharge()
        await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=cpd.schedules.tuples[0].tuple_id))
        h.station.schedules.set_preferences(1, ChargingPreferences(session_id=h.session_id, discharge_allowed=False))
        refused = await h.loop(n=8, current_A=-40.0)
        assert refused[-1].present_current_A >= -0.5  # no energy leaves the EV
        exported = h.model.energy_export_Wh
        h.station.schedules.set_preferences(1, ChargingPreferences(session_id=h.session_id, discharge_allowed=True))
        allowed = await h.loop(n=12, current_A=-40.0)
        assert allowed[-1].present_current_A < -20.0
        assert h.model.energy_export_Wh > exported
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())
