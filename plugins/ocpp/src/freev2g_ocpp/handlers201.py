"""CSMS -> station requests for OCPP 2.0.1 and 2.1 (Part 2: K01 SetChargingProfile, K10
ClearChargingProfile, K08 GetCompositeSchedule, F01/F03 RequestStart/StopTransaction, B11/B12
Reset, F06 TriggerMessage, B06/B05 Get/SetVariables, G03/G04 ChangeAvailability, F05
UnlockConnector, P01 DataTransfer). Handlers take and return camelCase payloads.
"""
from __future__ import annotations

import logging
from datetime import timezone
from typing import Any

from freev2g.model.enums import RateUnit, StopCause
from freev2g.model.limits import ProfilePurpose

from .context import UplinkContext
from .profiles import PURPOSES, SOURCE, ProfileRejected, composite_to_ocpp, to_limit_profile
from .variables import VariableError

log = logging.getLogger(__name__)

TRIGGERABLE = ("BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "TransactionEvent")


def rejected(reason: str, detail: str = "", status: str = "Rejected") -> dict[str, Any]:
    info: dict[str, Any] = {"reasonCode": reason}
    if detail:
        info["additionalInfo"] = detail[:512]
    return {"status": status, "statusInfo": info}


class Handlers201:
    def __init__(self, uplink: UplinkContext):
        self.u = uplink

    def routes(self) -> dict[str, Any]:
        return {
            "SetChargingProfile": self.set_charging_profile,
            "ClearChargingProfile": self.clear_charging_profile,
            "GetCompositeSchedule": self.get_composite_schedule,
            "RequestStartTransaction": self.request_start_transaction,
            "RequestStopTransaction": self.request_stop_transaction,
            "Reset": self.reset,
            "TriggerMessage": self.trigger_message,
            "GetVariables": self.get_variables,
            "SetVariables": self.set_variables,
            "ChangeAvailability": self.change_availability,
            "UnlockConnector": self.unlock_connector,
            "DataTransfer": self.data_transfer,
        }

    # -- smart charging ------------------------------------------------------------------------

    def _transaction_for(self, ocpp_tx: Any) -> str | None:
        tx = self.u.outbox.transaction(str(ocpp_tx))
        return tx.session_id if tx is not None and not tx.ended else None

    async def set_charging_profile(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p["evseId"]
        if evse != 0 and evse not in self.u.evse_indices():
            return rejected("UnknownEvse", f"evseId {evse}")
        try:
            profile = to_limit_profile(p["chargingProfile"], evse, version=self.u.version, now=self.u.now(),
                                       transaction_for=self._transaction_for)
            self.u.station.schedules.set_profile(profile)
        except ProfileRejected as exc:
            return rejected(exc.reason, exc.detail)
        except ValueError as exc:
            return rejected("InvalidSchedule", str(exc))
        log.info("charging profile %s (%s) set on evse %s", profile.profile_id, profile.purpose.value, evse)
        return {"status": "Accepted"}

    async def clear_charging_profile(self, p: dict[str, Any]) -> dict[str, Any]:
        criteria = p.get("chargingProfileCriteria") or {}
        purpose = criteria.get("chargingProfilePurpose")
        count = self.u.station.schedules.clear_profiles(
            source=SOURCE,
            profile_id=p.get("chargingProfileId"),
            purpose=PURPOSES[purpose] if purpose in PURPOSES else None,
            evse_index=criteria.get("evseId"),
            stack_level=criteria.get("stackLevel"),
        )
        return {"status": "Accepted" if count else "Unknown"}

    async def get_composite_schedule(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p["evseId"]
        if evse != 0 and evse not in self.u.evse_indices():
            return rejected("UnknownEvse", f"evseId {evse}")
        unit = RateUnit(p.get("chargingRateUnit", "W"))
        info = self.u.evse_info(evse)
        try:
            composite = self.u.station.schedules.composite(
                evse, self.u.now().astimezone(timezone.utc), int(p["duration"]), unit,
                nominal_voltage_V=info.nominal_voltage_V if info else 230.0, phases=info.phases if info else 3,
                evse_max_W=self.u.max_power_W(evse))
        except ValueError as exc:
            log.warning("GetCompositeSchedule: %s", exc)
            return rejected("InvalidValue", str(exc))
        return {"status": "Accepted", "schedule": composite_to_ocpp(composite, version=self.u.version)}

    # -- transactions --------------------------------------------------------------------------

    async def request_start_transaction(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p.get("evseId", 1)
        if evse not in self.u.evse_indices():
            return rejected("UnknownEvse", f"evseId {evse}")
        token = p["idToken"]["idToken"]
        remote_id = p["remoteStartId"]
        self.u.mapper.token_types[token] = p["idToken"].get("type", "Central")
        snap = self.u.station.session(evse)
        tx = self.u.outbox.transaction(snap.session_id) if snap is not None else None
        if tx is not None and not tx.ended:
            # F02: the EV is already plugged in and its transaction open: the id goes into this
            # transaction's events (the Authorized one that follows), never into the next one.
            before = (tx.remote_start_id, tx.id_token)
            self.u.outbox.update_transaction(tx.session_id, remote_start_id=remote_id, id_token=token)
        else:
            tx = None
            self.u.mapper.pending_remote_start[evse] = remote_id
            self.u.mapper.pending_id_token[evse] = token
        ok = await self.u.station.remote_start(evse, token)
        if not ok:
            if tx is not None:
                self.u.outbox.update_transaction(tx.session_id, remote_start_id=before[0], id_token=before[1])
            else:
                self.u.mapper.pending_remote_start.pop(evse, None)
                self.u.mapper.pending_id_token.pop(evse, None)
            return rejected("Unavailable", f"evse {evse} cannot start a session now")
        result: dict[str, Any] = {"status": "Accepted"}
        snap = self.u.station.session(evse)
        if snap is not None:
            result["transactionId"] = snap.session_id
        if "chargingProfile" in p and snap is not None:
            profile = dict(p["chargingProfile"], transactionId=snap.session_id)
            try:
                self.u.station.schedules.set_profile(to_limit_profile(
                    profile, evse, version=self.u.version, now=self.u.now(), transaction_for=self._transaction_for))
            except (ProfileRejected, ValueError) as exc:
                log.warning("RequestStartTransaction: charging profile not applied: %s", exc)
        return result

    async def request_stop_transaction(self, p: dict[str, Any]) -> dict[str, Any]:
        tx = self.u.outbox.transaction(p["transactionId"])
        if tx is None or tx.ended:
            return rejected("TxNotFound", f"transactionId {p['transactionId']}")
        ok = await self.u.station.remote_stop(tx.evse_index, StopCause.REMOTE_STOP)
        return {"status": "Accepted"} if ok else rejected("TxNotFound", "the station refused to stop")

    # -- station control --------------------------------------------------------------------------

    async def reset(self, p: dict[str, Any]) -> Any:
        if p.get("evseId") not in (None, 0):
            return rejected("UnsupportedRequest", "EVSE-level reset is not supported")
        if p["type"] not in ("Immediate", "OnIdle"):  # 2.1 ImmediateAndResume: cannot resume transactions
            return rejected("UnsupportedRequest", f"Reset type {p['type']} is not supported")
        busy = any(self.u.station.session(i) is not None for i in self.u.evse_indices())
        if p["type"] == "OnIdle" and busy:
            self.u.reset_on_idle = "OnIdle"
            return {"status": "Scheduled"}
        return {"status": "Accepted"}, (lambda: self.u.soft_reset("RemoteReset", stopped_reason="ImmediateReset"))

    async def trigger_message(self, p: dict[str, Any]) -> Any:
        what = p["requestedMessage"]
        if what not in TRIGGERABLE:
            return rejected("UnsupportedRequest", what, status="NotImplemented")
        evse = (p.get("evse") or {}).get("id")
        if evse is not None and evse not in self.u.evse_indices():
            return rejected("UnknownEvse", f"evse {evse}")
        return {"status": "Accepted"}, (lambda: self.u.trigger(what, evse))

    async def get_variables(self, p: dict[str, Any]) -> dict[str, Any]:
        results = []
        for item in p["getVariableData"]:
            comp, var = item["component"], item["variable"]
            out = {"component": comp, "variable": var, "attributeType": item.get("attributeType", "Actual")}
            if out["attributeType"] != "Actual":
                out["attributeStatus"] = "NotSupportedAttributeType"
            else:
                try:
                    out["attributeValue"] = self.u.variables.get(self.u.variables.find(comp["name"], var["name"]))
                    out["attributeStatus"] = "Accepted"
                except VariableError as exc:
                    out["attributeStatus"] = exc.status
            results.append(out)
        return {"getVariableResult": results}

    async def set_variables(self, p: dict[str, Any]) -> dict[str, Any]:
        results = []
        for item in p["setVariableData"]:
            comp, var = item["component"], item["variable"]
            out = {"component": comp, "variable": var, "attributeType": item.get("attributeType", "Actual")}
            try:
                if out["attributeType"] != "Actual":
                    raise VariableError("NotSupportedAttributeType")
                self.u.variables.set(self.u.variables.find(comp["name"], var["name"]), item["attributeValue"])
                out["attributeStatus"] = "Accepted"
            except VariableError as exc:
                out["attributeStatus"] = exc.status
            results.append(out)
        return {"setVariableResult": results}

    async def change_availability(self, p: dict[str, Any]) -> dict[str, Any]:
        available = p["operationalStatus"] == "Operative"
        evse = (p.get("evse") or {}).get("id")
        targets = self.u.evse_indices() if evse in (None, 0) else [evse]
        if any(t not in self.u.evse_indices() for t in targets):
            return rejected("UnknownEvse", f"evse {evse}")
        return {"status": await self.u.change_availability(targets, available)}

    async def unlock_connector(self, p: dict[str, Any]) -> dict[str, Any]:
        evse = p["evseId"]
        if evse not in self.u.evse_indices():
            return {"status": "UnknownConnector"}
        snap = self.u.station.session(evse)
        if snap is not None and snap.id_token:
            return {"status": "OngoingAuthorizedTransaction"}
        ok = await self.u.station.unlock_connector(evse)
        return {"status": "Unlocked" if ok else "UnlockFailed"}

    async def data_transfer(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["vendorId"] != self.u.cfg.vendor_id:
            return {"status": "UnknownVendorId"}
        return {"status": "UnknownMessageId"}


__all__ = ["Handlers201", "ProfilePurpose", "TRIGGERABLE"]
