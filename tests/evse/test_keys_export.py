"""max_current_export_A limits discharge (issue #16) as max_current_import_A limits charging.

The key counts on the grid side of the DC supply, per phase (EVerest's board capabilities are
AC-side): discharge power <= max_current_export_A x ac_nominal_voltage x phases. Real sim board
with a bidirectional supply, J2847/2 V2H on ISO 15118-2 (scripted link).
"""
from __future__ import annotations

import pytest

from freev2g.link import J2847_V2H_SERVICE_ID, PowerDeliveryRequest
from freev2g.model.enums import ChargeProgress
from freev2g.model.params import BPTEVParameter

BIDI = {"power_supply": {"max_import_current_A": 100.0, "max_import_power_W": 30_000.0}}
V2H = {"sae_j2847_2_bpt_enabled": True, "sae_j2847_2_bpt_mode": "V2H"}


async def _discharge(h):
    bpt = BPTEVParameter(ev_max_discharge_power_W=30_000.0, ev_max_discharge_current_A=100.0)
    cpd = await h.dc_until_charge_parameters(services=(1, J2847_V2H_SERVICE_ID), bpt=bpt,
                                             dc=h.dc_param(bulk_soc_pct=10.0))
    await h.cable_check()
    await h.precharge()
    await h.link.send(PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=1))
    answers = await h.loop(n=16, current_A=-60.0)
    return cpd, answers


@pytest.mark.parametrize("export_A,cap_W", [(10.0, 10 * 230 * 3), (32.0, 32 * 230 * 3)])
def test_export_current_caps_the_discharge(virtual_loop, make_harness, export_A, cap_W):
    async def scenario():
        h = await make_harness(evse={**V2H, "max_current_export_A": export_A}, board_options=BIDI)
        cpd, answers = await _discharge(h)
        assert cpd.dc.max_discharge_power_W == pytest.approx(cap_W)
        last = answers[-1]
        assert last.evse_max_power_W == pytest.approx(-cap_W)
        # the supply really takes no more than the cap from the battery
        assert -h.ev.battery_current_A() * h.ev.battery_voltage_V() <= cap_W * 1.02
        assert -h.ev.battery_current_A() * h.ev.battery_voltage_V() >= cap_W * 0.9
        assert h.model.energy_export_Wh > 0
        await h.stop_dc()
        sid = [e for e in h.events if e.kind == "SessionFinished"][-1].session_id
        assert h.journal.session(sid).energy_export_Wh > 0
        await h.station.stop()

    virtual_loop(scenario())


def test_export_zero_means_no_discharge(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse={**V2H, "max_current_export_A": 0.0}, board_options=BIDI)
        cpd, answers = await _discharge(h)
        assert not cpd.dc.max_discharge_power_W and not cpd.dc.max_discharge_current_A
        assert answers[-1].present_current_A == pytest.approx(0.0, abs=0.5)
        assert h.model.energy_export_Wh == pytest.approx(0.0, abs=0.01)
        await h.stop_dc()
        await h.station.stop()

    virtual_loop(scenario())
