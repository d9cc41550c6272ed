"""OCPP 2.0.1 against a real CSMS: boot, status, a full session's TransactionEvents with the
SCALE data (checked on the CSMS side), NotifyEVChargingNeeds."""
from __future__ import annotations

import asyncio

from freev2g_ocpp import OcppUplink

SESSION = "5b0f4f7e-2a0e-4a4f-9d55-7f8e0c1d2e3f"


def test_full_session_scale_fields_reach_csms(make_csms, make_station, uplink_config, session_events):
    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url), station)
        await uplink.start()
        try:
            await csms.wait_for(lambda c: "StatusNotification" in c.actions(), "boot + status")
            for event in session_events(SESSION):
                station.emit(event)
            await csms.wait_for(lambda c: len(c.calls("StatusNotification")) == 3, "status after unplug")
        finally:
            await uplink.stop()
            await csms.stop()
        return csms

    csms = asyncio.run(main())
    assert csms.identities == ["CS-TEST-1"]
    boot = csms.calls("BootNotification")[0]
    assert boot["reason"] == "PowerUp"
    tx = csms.calls("TransactionEvent")
    assert [p["seqNo"] for p in tx] == list(range(len(tx)))
    assert tx[0]["eventType"] == "Started" and tx[-1]["eventType"] == "Ended"
    assert all(p["transactionInfo"]["transactionId"] == SESSION for p in tx)
    # The ISO 15118 SessionID travels in TransactionEventRequest.customData (uplinks.md 1.4 #2),
    # from the first event after SessionSetup (Started came at plug-in, before it was known).
    assert "customData" not in tx[0]
    assert tx[1]["triggerReason"] == "EVDetected"
    assert all(p["customData"] == {"vendorId": "eu.scale-project", "sessionId": "A1B2C3D4E5F60708"}
               for p in tx[1:])
    assert tx[-1]["transactionInfo"]["stoppedReason"] == "StoppedByEV"
    charging = [p for p in tx if p["transactionInfo"].get("chargingState") == "Charging"]
    assert charging and charging[0]["triggerReason"] == "ChargingStateChanged"
    periodic = [p for p in tx if p["triggerReason"] == "MeterValuePeriodic"]
    assert len(periodic) == 3
    measurands = {s["measurand"] for s in periodic[0]["meterValue"][0]["sampledValue"]}
    assert measurands == {"Energy.Active.Import.Register", "Energy.Active.Export.Register",
                          "Power.Active.Import", "SoC"}
    end_values = {s["measurand"]: s["value"] for s in tx[-1]["meterValue"][0]["sampledValue"]}
    assert end_values["Energy.Active.Import.Register"] == 1500.0
    needs = csms.calls("NotifyEVChargingNeeds")[0]
    dc = needs["chargingNeeds"]["dcChargingParameters"]
    assert needs["chargingNeeds"]["requestedEnergyTransfer"] == "DC"
    assert needs["maxScheduleTuples"] == 12
    assert dc["evMaxPower"] == 50000 and dc["energyAmount"] == 30000 and dc["stateOfCharge"] == 30
    assert dc["customData"] == {"vendorId": "eu.scale-project", "evMinEnergyRequest": 10000,
                                "evMaxEnergyRequest": 40000, "minSoC": 20, "targetSoC": 80}
    statuses = [p["connectorStatus"] for p in csms.calls("StatusNotification")]
    assert statuses == ["Available", "Occupied", "Available"]
    # Timestamps are the events' own, not the sending time.
    assert tx[0]["timestamp"].endswith("Z")


def test_ac_needs_carry_min_power_and_max_power(make_csms, make_station, uplink_config):
    from datetime import datetime, timezone

    from freev2g.model.enums import EnergyTransferMode
    from freev2g.model.events import EVNeedsReceived, PluggedIn
    from freev2g.model.params import ACEVChargeParameter, ScaleNeeds

    async def main():
        csms = make_csms("2.0.1")
        await csms.start()
        station = make_station()
        uplink = OcppUplink(uplink_config(csms.url), station)
        await uplink.start()
        try:
            now = datetime.now(timezone.utc)
            scale = ScaleNeeds(ev_max_power_W=11_000, ev_min_current_A=6, ev_min_soc_pct=10, ev_max_soc_pct=90,
                               ev_min_energy_request_Wh=2_000, ev_max_energy_request_Wh=20_000)
            ac = ACEVChargeParameter(e_amount_Wh=15_000, ev_max_voltage_V=400, ev_max_current_A=16,
                                     ev_min_current_A=6, departure_time_s=3600, scale=scale)
            station.emit(PluggedIn(session_id=SESSION, timestamp=now))
            station.emit(EVNeedsReceived(session_id=SESSION, timestamp=now,
                                         mode=EnergyTransferMode.AC_THREE_PHASE_CORE, ac=ac))
            await csms.wait_for(lambda c: c.calls("NotifyEVChargingNeeds"), "NotifyEVChargingNeeds")
        finally:
            await uplink.stop()
            await csms.stop()
        return csms

    csms = asyncio.run(main())
    needs = csms.calls("NotifyEVChargingNeeds")[0]["chargingNeeds"]
    assert needs["requestedEnergyTransfer"] == "AC_three_phase"
    assert "departureTime" in needs
    ac = needs["acChargingParameters"]
    assert (ac["energyAmount"], ac["evMinCurrent"], ac["evMaxCurrent"], ac["evMaxVoltage"]) == (15000, 6, 16, 400)
    assert ac["customData"] == {"vendorId": "eu.scale-project", "evMinPower": 4140, "evMaxPower": 11000,
                                "evMinEnergyRequest": 2000, "evMaxEnergyRequest": 20000, "minSoC": 10,
                                "targetSoC": 90}
