"""Session events -> OCPP 2.0.1 / 2.1 messages (TransactionEvent, StatusNotification,
NotifyEVChargingNeeds). OCPP 2.0.1 Part 2 E (transactions), G01 (status), K15/K17 (charging
needs), uplinks.md 1.3-1.5 for where SCALE data goes.

The freev2g session id (a UUID, 36 characters) is the transactionId. A transaction starts at
the first event of a session (normally PluggedIn: TxStartPoint EVConnected) and ends with
SessionFinished (or Unplugged if no SessionFinished came).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from freev2g.model.enums import ChargeProgress, PaymentOption, StopCause
from freev2g.model.events import (
    Authorized,
    ChargingPaused,
    ChargingResumed,
    EVNeedsReceived,
    FaultRaised,
    MeterSample,
    PluggedIn,
    PowerDelivery,
    SessionEvent,
    SessionFinished,
    SessionStarted,
    Unplugged,
)

from . import scale
from .mapping_base import END_TRIGGER_201, STOPPED_REASON_201, EventMapperBase, iso


def sampled_values(import_Wh: float, export_Wh: float, power_W: float | None, soc_pct: float | None,
                   context: str) -> list[dict[str, Any]]:
    values = [
        {"value": round(import_Wh, 1), "context": context, "measurand": "Energy.Active.Import.Register",
         "unitOfMeasure": {"unit": "Wh"}},
        {"value": round(export_Wh, 1), "context": context, "measurand": "Energy.Active.Export.Register",
         "unitOfMeasure": {"unit": "Wh"}},
    ]
    if power_W is not None:
        values.append({"value": round(max(power_W, 0.0), 1), "context": context,
                       "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}})
        if power_W < 0:
            values.append({"value": round(-power_W, 1), "context": context,
                           "measurand": "Power.Active.Export", "unitOfMeasure": {"unit": "W"}})
    if soc_pct is not None:
        values.append({"value": round(soc_pct, 1), "context": context, "measurand": "SoC",
                       "location": "EV", "unitOfMeasure": {"unit": "Percent"}})
    return values


def meter_value(ts: datetime, sample: MeterSample | None, context: str, *, import_Wh: float | None = None,
                export_Wh: float | None = None, soc_pct: float | None = None) -> dict[str, Any]:
    imp = import_Wh if import_Wh is not None else (sample.energy_import_Wh if sample else 0.0)
    exp = export_Wh if export_Wh is not None else (sample.energy_export_Wh if sample else 0.0)
    power = sample.power_W if sample is not None else None
    soc = soc_pct if soc_pct is not None else (sample.soc_pct if sample else None)
    return {"timestamp": iso(ts), "sampledValue": sampled_values(imp, exp, power, soc, context)}


class EventMapper201(EventMapperBase):
    version = "2.0.1"

    # -- building blocks ----------------------------------------------------------------------

    def status(self, evse_index: int, status: str, ts: datetime) -> None:
        status = self.idle_status(evse_index, status)
        payload = {"timestamp": iso(ts), "connectorStatus": status, "evseId": evse_index,
                   "connectorId": self.connector_id(evse_index)}
        self.enqueue("StatusNotification", payload, ts, durable=False)

    def ensure_started(self, event: SessionEvent, trigger: str, charging_state: str, *,
                       iso_session_id: str | None = None) -> bool:
        """Open the transaction (TransactionEvent Started) if this session has none yet.
        Returns False when the session's transaction has already ended."""
        tx = self.outbox.transaction(event.session_id)
        if tx is not None:
            return not tx.ended
        self.outbox.open_transaction(event.session_id, event.evse_index, iso(event.timestamp))
        remote_id = self.pending_remote_start.pop(event.evse_index, None)
        token = self.pending_id_token.pop(event.evse_index, None)
        self.outbox.update_transaction(event.session_id, remote_start_id=remote_id, id_token=token,
                                       iso_session_id=iso_session_id)
        self.tx_event(event, "Started", trigger, charging_state=charging_state,
                      meter=meter_value(event.timestamp, None, "Transaction.Begin"),
                      id_token=token, first=True)
        return True

    def tx_event(self, event: SessionEvent, event_type: str, trigger: str, *, charging_state: str | None = None,
                 stopped_reason: str | None = None, meter: dict | None = None, id_token: str | None = None,
                 id_token_type: str = "Central", first: bool = False) -> None:
        tx = self.outbox.transaction(event.session_id)
        assert tx is not None
        seq = self.outbox.take_seq(event.session_id)
        info: dict[str, Any] = {"transactionId": event.session_id}
        if charging_state:
            info["chargingState"] = charging_state
        if stopped_reason:
            info["stoppedReason"] = stopped_reason
        if tx.remote_start_id is not None and (first or trigger in ("Authorized", "RemoteStart")):
            info["remoteStartId"] = tx.remote_start_id
        payload: dict[str, Any] = {
            "eventType": event_type,
            "timestamp": iso(event.timestamp),
            "triggerReason": trigger,
            "seqNo": seq,
            "transactionInfo": info,
            "evse": {"id": event.evse_index, "connectorId": self.connector_id(event.evse_index)},
        }
        if not self.online():
            payload["offline"] = True
        if id_token is not None:
            payload["idToken"] = {"idToken": id_token[:36], "type": id_token_type}
        if meter is not None:
            payload["meterValue"] = [meter]
        if self.cfg.scale_data and tx.iso_session_id:
            payload["customData"] = {"vendorId": self.vendor_id, "sessionId": tx.iso_session_id}
        self.enqueue("TransactionEvent", payload, event.timestamp, session_id=event.session_id)

    # -- used by the uplink ---------------------------------------------------------------------

    def boot_notification(self, reason: str) -> dict[str, Any]:
        return {"reason": reason, "chargingStation": {"model": self.station_model[:20],
                                                      "vendorName": self.station_vendor[:50]}}

    def connector_status(self, snapshot, unavailable: bool) -> str:
        if unavailable:
            return "Unavailable"
        return "Occupied" if snapshot is not None else "Available"

    def resolve(self, entry) -> dict[str, Any] | None:
        return entry.payload

    def delivered(self, entry, result: dict[str, Any]) -> None:
        pass

    def triggered_meter(self, what: str, evse_index: int, snapshot, now: datetime) -> None:
        """TriggerMessage MeterValues / TransactionEvent (F06)."""
        tx = self.outbox.transaction(snapshot.session_id) if snapshot is not None else None
        if what == "TransactionEvent":
            if tx is not None and not tx.ended:
                sample = self.last_meter(tx.session_id)
                event = SessionEvent(session_id=tx.session_id, evse_index=evse_index, timestamp=now)
                self.tx_event(event, "Updated", "Trigger", meter=meter_value(now, sample, "Trigger"))
            return
        sample = self.last_meter(tx.session_id) if tx is not None else None
        meter = meter_value(now, sample, "Trigger",
                            import_Wh=snapshot.energy_import_Wh if snapshot else 0.0,
                            export_Wh=snapshot.energy_export_Wh if snapshot else 0.0,
                            soc_pct=snapshot.soc_pct if snapshot else None)
        self.enqueue("MeterValues", {"evseId": evse_index, "meterValue": [meter]}, now, durable=False)

    # -- events ----------------------------------------------------------------------------

    def on_PluggedIn(self, event: PluggedIn) -> None:
        self.status(event.evse_index, "Occupied", event.timestamp)
        self.ensure_started(event, "CablePluggedIn", "EVConnected")

    def on_SessionStarted(self, event: SessionStarted) -> None:
        if self.outbox.transaction(event.session_id) is None:
            # Opened here: the Started event carries the SessionID right away.
            self.ensure_started(event, "EVDetected", "EVConnected", iso_session_id=event.iso_session_id)
            return
        tx = self.outbox.transaction(event.session_id)
        if tx is None or tx.ended or not event.iso_session_id:
            return
        self.outbox.update_transaction(event.session_id, iso_session_id=event.iso_session_id)
        self.tx_event(event, "Updated", "EVDetected", charging_state="EVConnected")

    def on_Authorized(self, event: Authorized) -> None:
        """E03/E05 (2.0.1): Authorized with the idToken and its type; a refused token gives
        Deauthorized with the token the CSMS (or the policy) refused."""
        if not self.ensure_started(event, "Authorized", "EVConnected"):
            return
        if not event.accepted:
            if event.id_token:
                self.tx_event(event, "Updated", "Deauthorized", id_token=event.id_token,
                              id_token_type=self.token_types.get(event.id_token, "Local"))
            else:
                self.tx_event(event, "Updated", "Deauthorized")
            return
        tx = self.outbox.transaction(event.session_id)
        token = event.id_token or (tx.id_token if tx else None)
        if event.method is PaymentOption.CONTRACT:
            token_type = "eMAID"
        elif token:
            token_type = self.token_types.get(token, "Central")
        else:
            token, token_type = "", "NoAuthorization"
        self.outbox.update_transaction(event.session_id, id_token=token)
        self.tx_event(event, "Updated", "Authorized", id_token=token, id_token_type=token_type)

    def on_EVNeedsReceived(self, event: EVNeedsReceived) -> None:
        if not self.ensure_started(event, "ChargingStateChanged", "EVConnected"):
            return
        self.enqueue("NotifyEVChargingNeeds", self.charging_needs(event), event.timestamp,
                     session_id=event.session_id, durable=False)

    def charging_needs(self, event: EVNeedsReceived) -> dict[str, Any]:
        voltage = self.nominal_voltage_V(event.evse_index)
        needs: dict[str, Any] = {"requestedEnergyTransfer": self.transfer_mode(event)}
        departure = (event.ac or event.dc).departure_time_s if (event.ac or event.dc) else None
        if departure is not None:
            needs["departureTime"] = iso(event.timestamp + timedelta(seconds=departure))
        custom = scale.custom_data_201(event, self.vendor_id, voltage) if self.cfg.scale_data else None
        if event.ac is not None:
            ac = event.ac
            params = {"energyAmount": round(ac.e_amount_Wh), "evMinCurrent": round(ac.ev_min_current_A),
                      "evMaxCurrent": round(ac.ev_max_current_A), "evMaxVoltage": round(ac.ev_max_voltage_V)}
            if custom:
                params["customData"] = custom
            needs["acChargingParameters"] = params
        if event.dc is not None:
            dc = event.dc
            params = {"evMaxCurrent": round(dc.ev_max_current_A), "evMaxVoltage": round(dc.ev_max_voltage_V),
                      "stateOfCharge": round(dc.status.soc_pct)}
            for key, value in (("energyAmount", dc.ev_energy_request_Wh), ("evMaxPower", dc.ev_max_power_W),
                               ("evEnergyCapacity", dc.ev_energy_capacity_Wh), ("fullSoC", dc.full_soc_pct),
                               ("bulkSoC", dc.bulk_soc_pct)):
                if value is not None:
                    params[key] = round(value)
            if custom:
                params["customData"] = custom
            needs["dcChargingParameters"] = params
        payload: dict[str, Any] = {"evseId": event.evse_index, "chargingNeeds": needs}
        if event.max_entries is not None:
            payload["maxScheduleTuples"] = event.max_entries
        tx = self.outbox.transaction(event.session_id)
        if self.cfg.scale_data and tx is not None and tx.iso_session_id:
            payload["customData"] = {"vendorId": self.vendor_id, "sessionId": tx.iso_session_id}
        return payload

    def transfer_mode(self, event: EVNeedsReceived) -> str:
        if event.mode.is_dc:
            return "DC"
        return "AC_single_phase" if event.mode.phases == 1 else "AC_three_phase"

    def on_PowerDelivery(self, event: PowerDelivery) -> None:
        if event.progress is ChargeProgress.START:
            if self.ensure_started(event, "ChargingStateChanged", "Charging"):
                self.tx_event(event, "Updated", "ChargingStateChanged", charging_state="Charging")
        elif event.progress is ChargeProgress.STOP:
            tx = self.outbox.transaction(event.session_id)
            if tx is not None and not tx.ended:
                self.tx_event(event, "Updated", "ChargingStateChanged", charging_state="EVConnected")

    def on_ChargingPaused(self, event: ChargingPaused) -> None:
        state = "SuspendedEV" if event.by == "ev" else "SuspendedEVSE"
        if self.ensure_started(event, "ChargingStateChanged", state):
            self.tx_event(event, "Updated", "ChargingStateChanged", charging_state=state)

    def on_ChargingResumed(self, event: ChargingResumed) -> None:
        if self.ensure_started(event, "ChargingStateChanged", "Charging"):
            self.tx_event(event, "Updated", "ChargingStateChanged", charging_state="Charging")

    def on_MeterSample(self, event: MeterSample) -> None:
        tx = self.outbox.transaction(event.session_id)
        if tx is None or tx.ended:
            return
        self.outbox.update_transaction(event.session_id, energy_import_Wh=event.energy_import_Wh,
                                       energy_export_Wh=event.energy_export_Wh)
        if self.periodic_due(event):
            self.tx_event(event, "Updated", "MeterValuePeriodic",
                          meter=meter_value(event.timestamp, event, "Sample.Periodic"))

    def on_FaultRaised(self, event: FaultRaised) -> None:
        tx = self.outbox.transaction(event.session_id)
        if tx is not None and not tx.ended:
            self.tx_event(event, "Updated", "AbnormalCondition")

    def on_SessionFinished(self, event: SessionFinished) -> None:
        self.end(event, event.cause, import_Wh=event.energy_import_Wh, export_Wh=event.energy_export_Wh,
                 soc_pct=event.end_soc_pct)

    def on_Unplugged(self, event: Unplugged) -> None:
        self.end(event, StopCause.EV_UNPLUGGED)
        self.status(event.evse_index, "Available", event.timestamp)

    def end(self, event: SessionEvent, cause: StopCause, *, import_Wh: float | None = None,
            export_Wh: float | None = None, soc_pct: float | None = None) -> None:
        tx = self.outbox.transaction(event.session_id)
        if tx is None or tx.ended:
            return
        last = self.last_meter(event.session_id)
        imp = import_Wh if import_Wh else (last.energy_import_Wh if last else tx.energy_import_Wh)
        exp = export_Wh if export_Wh else (last.energy_export_Wh if last else tx.energy_export_Wh)
        meter = meter_value(event.timestamp, None, "Transaction.End", import_Wh=imp, export_Wh=exp,
                            soc_pct=soc_pct if soc_pct is not None else (last.soc_pct if last else None))
        reason = self.stop_reason.pop(event.evse_index, None)  # a Reset: ImmediateReset
        trigger = "ResetCommand" if reason else END_TRIGGER_201.get(cause, "AbnormalCondition")
        self.tx_event(event, "Ended", trigger,
                      charging_state="EVConnected" if cause is not StopCause.EV_UNPLUGGED else "Idle",
                      stopped_reason=reason or STOPPED_REASON_201.get(cause, "Other"), meter=meter)
        self.outbox.update_transaction(event.session_id, ended=True)
        self.forget(event.session_id)


class EventMapper21(EventMapper201):
    """OCPP 2.1: the same transaction messages; NotifyEVChargingNeeds adds the native V2X
    parameters and the BPT transfer modes (uplinks.md 1.5)."""

    version = "2.1"

    def transfer_mode(self, event: EVNeedsReceived) -> str:
        if event.mode.is_bidirectional:
            return event.mode.value  # "AC_BPT" | "DC_BPT"
        return super().transfer_mode(event)

    def charging_needs(self, event: EVNeedsReceived) -> dict[str, Any]:
        payload = super().charging_needs(event)
        needs = payload["chargingNeeds"]
        # 2.1 has native fields for the SCALE values: keep 2.0.1's customData out of the
        # AC/DC parameters and put them in v2xChargingParameters instead.
        for key in ("acChargingParameters", "dcChargingParameters"):
            if key in needs:
                needs[key].pop("customData", None)
        if self.cfg.scale_data:
            v2x = scale.v2x_parameters_21(event, self.vendor_id, self.nominal_voltage_V(event.evse_index))
            if v2x:
                needs["v2xChargingParameters"] = v2x
        needs["controlMode"] = "ScheduledControl"
        return payload
