"""CSMS -> station requests for OCPP 1.6 (sections 5.x: RemoteStart/StopTransaction,
SetChargingProfile, ClearChargingProfile, GetCompositeSchedule, Reset, TriggerMessage,
GetConfiguration, ChangeConfiguration, ChangeAvailability, UnlockConnector, DataTransfer).
The connectorId is the EVSE index; connectorId 0 addresses the whole station.
"""
from __future__ import annotations

import logging
from datetime import timezone
from typing import Any

from freev2g.model.enums import RateUnit, StopCause

from .context import UplinkContext
from .profiles import PURPOSES, SOURCE, ProfileRejected, composite_to_ocpp, to_limit_profile
from .variables import VariableError

log = logging.getLogger(__name__)

TRIGGERABLE_16 = ("BootNotification", "Heartbeat", "MeterValues", "StatusNotification")


class Handlers16:
    def __init__(self, uplink: UplinkContext):
        self.u = uplink

    def routes(self) -> dict[str, Any]:
        return {
            "RemoteStartTransaction": self.remote_start,
            "RemoteStopTransaction": self.remote_stop,
            "SetChargingProfile": self.set_charging_profile,
            "ClearChargingProfile": self.clear_charging_profile,
            "GetCompositeSchedule": self.get_composite_schedule,
            "Reset": self.reset,
            "TriggerMessage": self.trigger_message,
            "GetConfiguration": self.get_configuration,
            "ChangeConfiguration": self.change_configuration,
            "ChangeAvailability": self.change_availability,
            "UnlockConnector": self.unlock_connector,
            "DataTransfer": self.data_transfer,
        }

    def _transaction_for(self, ocpp_tx: Any) -> str | None:
        tx = self.u.outbox.find_by_ocpp_id(str(ocpp_tx))
        return tx.session_id if tx is not None and not tx.ended else None

    async def remote_start(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p.get("connectorId", 1)
        if evse not in self.u.evse_indices():
            return {"status": "Rejected"}
        self.u.mapper.pending_id_token[evse] = p["idTag"]
        ok = await self.u.station.remote_start(evse, p["idTag"])
        if not ok:
            self.u.mapper.pending_id_token.pop(evse, None)
        return {"status": "Accepted" if ok else "Rejected"}

    async def remote_stop(self, p: dict[str, Any]) -> dict[str, Any]:
        tx = self.u.outbox.find_by_ocpp_id(str(p["transactionId"]))
        if tx is None or tx.ended:
            return {"status": "Rejected"}
        ok = await self.u.station.remote_stop(tx.evse_index, StopCause.REMOTE_STOP)
        return {"status": "Accepted" if ok else "Rejected"}

    async def set_charging_profile(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p["connectorId"]
        if evse != 0 and evse not in self.u.evse_indices():
            return {"status": "Rejected"}
        try:
            profile = to_limit_profile(p["csChargingProfiles"], evse, version="1.6", now=self.u.now(),
                                       transaction_for=self._transaction_for)
            self.u.station.schedules.set_profile(profile)
        except (ProfileRejected, ValueError):
            return {"status": "Rejected"}
        return {"status": "Accepted"}

    async def clear_charging_profile(self, p: dict[str, Any]) -> dict[str, Any]:
        purpose = p.get("chargingProfilePurpose")
        count = self.u.station.schedules.clear_profiles(
            source=SOURCE, profile_id=p.get("id"), purpose=PURPOSES.get(purpose) if purpose else None,
            evse_index=p.get("connectorId"), stack_level=p.get("stackLevel"))
        return {"status": "Accepted" if count else "Unknown"}

    async def get_composite_schedule(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p["connectorId"]
        if evse != 0 and evse not in self.u.evse_indices():
            return {"status": "Rejected"}
        info = self.u.evse_info(evse)
        try:
            composite = self.u.station.schedules.composite(
                evse, self.u.now().astimezone(timezone.utc), int(p["duration"]), RateUnit(p.get("chargingRateUnit", "W")),
                nominal_voltage_V=info.nominal_voltage_V if info else 230.0, phases=info.phases if info else 3,
                evse_max_W=self.u.max_power_W(evse))
        except ValueError as exc:
            log.warning("GetCompositeSchedule: %s", exc)
            return {"status": "Rejected"}
        schedule = composite_to_ocpp(composite, version="1.6")
        return {"status": "Accepted", "connectorId": evse, "scheduleStart": schedule["startSchedule"],
                "chargingSchedule": schedule}

    async def reset(self, p: dict[str, Any]) -> Any:
        reason = "HardReset" if p.get("type") == "Hard" else "SoftReset"  # StopTransaction.reason
        return {"status": "Accepted"}, (lambda: self.u.soft_reset("RemoteReset", stopped_reason=reason))

    async def trigger_message(self, p: dict[str, Any]) -> Any:
        what = p["requestedMessage"]
        if what not in TRIGGERABLE_16:
            return {"status": "NotImplemented"}
        evse = p.get("connectorId")
        if evse is not None and evse not in self.u.evse_indices():
            return {"status": "Rejected"}
        return {"status": "Accepted"}, (lambda: self.u.trigger(what, evse))

    async def get_configuration(self, p: dict[str, Any]) -> dict[str, Any]:
        keys = p.get("key")
        known, unknown = [], []
        for var, value in self.u.variables.all():
            if var.key_16 and (keys is None or var.key_16 in keys):
                known.append({"key": var.key_16, "readonly": var.readonly, "value": value})
        if keys:
            have = {k["key"] for k in known}
            unknown = [k for k in keys if k not in have]
        result: dict[str, Any] = {"configurationKey": known}
        if unknown:
            result["unknownKey"] = unknown
        return result

    async def change_configuration(self, p: dict[str, Any]) -> dict[str, Any]:
        try:
            self.u.variables.set(self.u.variables.find_16(p["key"]), p["value"])
        except VariableError as exc:
            return {"status": "NotSupported" if exc.status == "NotSupported" else "Rejected"}
        return {"status": "Accepted"}

    async def change_availability(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p["connectorId"]
        targets = self.u.evse_indices() if evse == 0 else [evse]
        if any(t not in self.u.evse_indices() for t in targets):
            return {"status": "Rejected"}
        return {"status": await self.u.change_availability(targets, p["type"] == "Operative")}

    async def unlock_connector(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p["connectorId"]
        if evse not in self.u.evse_indices():
            return {"status": "NotSupported"}
        ok = await self.u.station.unlock_connector(evse)
        return {"status": "Unlocked" if ok else "UnlockFailed"}

    async def data_transfer(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["vendorId"] != self.u.cfg.vendor_id:
            return {"status": "UnknownVendorId"}
        return {"status": "UnknownMessageId"}
