"""Session events -> OCPP 1.6 messages (StatusNotification, StartTransaction, MeterValues,
StopTransaction, DataTransfer for SCALE data). OCPP 1.6 sections 4.8, 4.7, 4.10, 4.3, 4.9.

1.6 has no seqNo and the transactionId is assigned by the CSMS in the StartTransaction
result: queued MeterValues / StopTransaction of that session get it filled in at send time
(`resolve`), so they can be queued while offline. The connectorId is the EVSE index.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from freev2g.model.enums import ChargeProgress, StopCause
from freev2g.model.events import (
    Authorized,
    ChargingPaused,
    ChargingResumed,
    EVNeedsReceived,
    MeterSample,
    PluggedIn,
    PowerDelivery,
    SessionEvent,
    SessionFinished,
    SessionStarted,
    Unplugged,
)

from . import scale
from .mapping_base import STOP_REASON_16, EventMapperBase, iso


def meter_value_16(ts: datetime, import_Wh: float, export_Wh: float, power_W: float | None,
                   soc_pct: float | None, context: str) -> dict[str, Any]:
    values = [
        {"value": f"{import_Wh:.1f}", "context": context, "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": f"{export_Wh:.1f}", "context": context, "measurand": "Energy.Active.Export.Register", "unit": "Wh"},
    ]
    if power_W is not None:
        values.append({"value": f"{max(power_W, 0.0):.1f}", "context": context,
                       "measurand": "Power.Active.Import", "unit": "W"})
    if soc_pct is not None:
        values.append({"value": f"{soc_pct:.1f}", "context": context, "measurand": "SoC", "location": "EV",
                       "unit": "Percent"})
    return {"timestamp": iso(ts), "sampledValue": values}


class EventMapper16(EventMapperBase):
    version = "1.6"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._iso_session: dict[str, str] = {}
        self._id_token: dict[str, str] = {}

    # -- used by the uplink -------------------------------------------------------------------

    def boot_notification(self, reason: str) -> dict[str, Any]:
        return {"chargePointVendor": self.station_vendor[:20], "chargePointModel": self.station_model[:20]}

    def connector_status(self, snapshot, unavailable: bool) -> str:
        if unavailable:
            return "Unavailable"
        if snapshot is None:
            return "Available"
        return "Charging" if (snapshot.power_W or 0.0) > 0 else "Preparing"  # None: meter failed

    def status(self, evse_index: int, status: str, ts: datetime) -> None:
        status = self.idle_status(evse_index, status)
        payload = {"connectorId": evse_index, "errorCode": "NoError", "status": status, "timestamp": iso(ts)}
        self.enqueue("StatusNotification", payload, ts, durable=False)

    def resolve(self, entry) -> dict[str, Any] | None:
        if entry.action not in ("MeterValues", "StopTransaction") or not entry.session_id:
            return entry.payload
        if "transactionId" in entry.payload:
            return entry.payload
        tx = self.outbox.transaction(entry.session_id)
        if tx is None or tx.ocpp_tx_id is None:
            return entry.payload if entry.action == "MeterValues" else None
        return {**entry.payload, "transactionId": int(tx.ocpp_tx_id)}

    def delivered(self, entry, result: dict[str, Any]) -> None:
        if entry.action == "StartTransaction" and entry.session_id:
            self.outbox.update_transaction(entry.session_id, ocpp_tx_id=str(result["transactionId"]))

    def triggered_meter(self, what: str, evse_index: int, snapshot, now: datetime) -> None:
        if what != "MeterValues":
            return
        payload: dict[str, Any] = {"connectorId": evse_index, "meterValue": [meter_value_16(
            now, snapshot.energy_import_Wh if snapshot else 0.0, snapshot.energy_export_Wh if snapshot else 0.0,
            snapshot.power_W if snapshot else None, snapshot.soc_pct if snapshot else None, "Trigger")]}
        self.enqueue("MeterValues", payload, now, session_id=snapshot.session_id if snapshot else None,
                     durable=False)

    # -- building blocks ---------------------------------------------------------------------

    def start(self, event: SessionEvent, id_token: str | None) -> None:
        if self.outbox.transaction(event.session_id) is not None:
            return
        token = id_token or self.pending_id_token.pop(event.evse_index, None) or self.cfg.free_id_token
        self.outbox.open_transaction(event.session_id, event.evse_index, iso(event.timestamp))
        self.outbox.update_transaction(event.session_id, id_token=token,
                                       iso_session_id=self._iso_session.get(event.session_id))
        last = self.last_meter(event.session_id)
        payload = {"connectorId": event.evse_index, "idTag": token[:20],
                   "meterStart": int(round(last.energy_import_Wh if last else 0.0)), "timestamp": iso(event.timestamp)}
        self.enqueue("StartTransaction", payload, event.timestamp, session_id=event.session_id)

    def data_transfer(self, event: SessionEvent, message_id: str, data: dict[str, Any]) -> None:
        payload = {"vendorId": self.vendor_id, "messageId": message_id, "data": json.dumps(data, separators=(",", ":"))}
        self.enqueue("DataTransfer", payload, event.timestamp, session_id=event.session_id)

    # -- events -------------------------------------------------------------------------------

    def on_PluggedIn(self, event: PluggedIn) -> None:
        self.status(event.evse_index, "Preparing", event.timestamp)

    def on_SessionStarted(self, event: SessionStarted) -> None:
        if not event.iso_session_id:
            return
        self._iso_session[event.session_id] = event.iso_session_id
        if self.cfg.scale_data:
            self.data_transfer(event, scale.MESSAGE_ID_SESSION,
                               {"transactionSessionId": event.session_id, "sessionId": event.iso_session_id})

    def on_Authorized(self, event: Authorized) -> None:
        if event.accepted:
            self._id_token[event.session_id] = event.id_token or self.cfg.free_id_token
            self.start(event, event.id_token)

    def on_EVNeedsReceived(self, event: EVNeedsReceived) -> None:
        if self.cfg.scale_data:
            data = scale.data_transfer_16(event, event.session_id, self._iso_session.get(event.session_id),
                                          self.nominal_voltage_V(event.evse_index))
            self.data_transfer(event, scale.MESSAGE_ID_NEEDS, data)

    def on_PowerDelivery(self, event: PowerDelivery) -> None:
        if event.progress is ChargeProgress.START:
            self.start(event, self._id_token.get(event.session_id))
            self.status(event.evse_index, "Charging", event.timestamp)
        elif event.progress is ChargeProgress.STOP:
            self.status(event.evse_index, "SuspendedEV", event.timestamp)

    def on_ChargingPaused(self, event: ChargingPaused) -> None:
        self.status(event.evse_index, "SuspendedEV" if event.by == "ev" else "SuspendedEVSE", event.timestamp)

    def on_ChargingResumed(self, event: ChargingResumed) -> None:
        self.status(event.evse_index, "Charging", event.timestamp)

    def on_MeterSample(self, event: MeterSample) -> None:
        tx = self.outbox.transaction(event.session_id)
        if tx is None or tx.ended:
            self._last_meter[event.session_id] = event
            return
        self.outbox.update_transaction(event.session_id, energy_import_Wh=event.energy_import_Wh,
                                       energy_export_Wh=event.energy_export_Wh)
        if self.periodic_due(event):
            mv = meter_value_16(event.timestamp, event.energy_import_Wh, event.energy_export_Wh, event.power_W,
                                event.soc_pct, "Sample.Periodic")
            self.enqueue("MeterValues", {"connectorId": event.evse_index, "meterValue": [mv]}, event.timestamp,
                         session_id=event.session_id)

    def on_SessionFinished(self, event: SessionFinished) -> None:
        self.end(event, event.cause, event.energy_import_Wh, event.energy_export_Wh, event.end_soc_pct)
        self.status(event.evse_index, "Finishing", event.timestamp)

    def on_Unplugged(self, event: Unplugged) -> None:
        self.end(event, StopCause.EV_UNPLUGGED, None, None, None)
        self.status(event.evse_index, "Available", event.timestamp)

    def end(self, event: SessionEvent, cause: StopCause, import_Wh: float | None, export_Wh: float | None,
            soc_pct: float | None) -> None:
        tx = self.outbox.transaction(event.session_id)
        if tx is None or tx.ended:
            return
        imp = import_Wh if import_Wh else tx.energy_import_Wh
        exp = export_Wh if export_Wh else tx.energy_export_Wh
        payload = {"meterStop": int(round(imp)), "timestamp": iso(event.timestamp),
                   "reason": self.stop_reason.pop(event.evse_index, None) or STOP_REASON_16.get(cause, "Other"),
                   "transactionData": [meter_value_16(event.timestamp, imp, exp, None, soc_pct, "Transaction.End")]}
        if tx.id_token:
            payload["idTag"] = tx.id_token[:20]
        self.enqueue("StopTransaction", payload, event.timestamp, session_id=event.session_id)
        self.outbox.update_transaction(event.session_id, ended=True)
        self.forget(event.session_id)
        self._iso_session.pop(event.session_id, None)
        self._id_token.pop(event.session_id, None)
