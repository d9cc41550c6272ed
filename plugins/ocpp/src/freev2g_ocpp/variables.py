"""The configuration variables this station exposes: OCPP 2.0.1 device model
(GetVariables/SetVariables, Part 2 B06/B05) and the 1.6 configuration keys
(GetConfiguration/ChangeConfiguration). Values set by the CSMS persist in the queue database.
"""
from __future__ import annotations

from typing import Callable

from attrs import frozen

from .config import OcppConfig
from .outbox import Outbox


@frozen
class Variable:
    component: str
    name: str
    key_16: str | None  # the 1.6 configuration key, if there is one
    readonly: bool
    kind: str  # "int" | "bool" | "str"


VARIABLES = (
    Variable("OCPPCommCtrlr", "HeartbeatInterval", "HeartbeatInterval", False, "int"),
    Variable("SampledDataCtrlr", "TxUpdatedInterval", "MeterValueSampleInterval", False, "int"),
    Variable("SampledDataCtrlr", "TxUpdatedMeasurands", "MeterValuesSampledData", True, "str"),
    Variable("SecurityCtrlr", "SecurityProfile", "SecurityProfile", True, "int"),
    Variable("SecurityCtrlr", "Identity", None, True, "str"),
    Variable("SmartChargingCtrlr", "Enabled", None, True, "bool"),
    Variable("SmartChargingCtrlr", "RateUnit", "ChargingScheduleAllowedChargingRateUnit", True, "str"),
    Variable("ChargingStation", "Model", None, True, "str"),
    Variable("ChargingStation", "VendorName", None, True, "str"),
)

MEASURANDS = "Energy.Active.Import.Register,Energy.Active.Export.Register,Power.Active.Import,SoC"


class VariableError(LookupError):
    def __init__(self, status: str):
        self.status = status  # OCPP attribute status: UnknownComponent | UnknownVariable | Rejected ...
        super().__init__(status)


class Variables:
    def __init__(self, cfg: OcppConfig, outbox: Outbox, station_id: str, vendor: str, model: str,
                 on_change: Callable[[str, str], None] | None = None):
        self.cfg, self.outbox, self.on_change = cfg, outbox, on_change
        self._defaults = {
            ("OCPPCommCtrlr", "HeartbeatInterval"): str(cfg.heartbeat_s),
            ("SampledDataCtrlr", "TxUpdatedInterval"): str(cfg.meter_interval_s),
            ("SampledDataCtrlr", "TxUpdatedMeasurands"): MEASURANDS,
            ("SecurityCtrlr", "SecurityProfile"): str(cfg.security_profile),
            ("SecurityCtrlr", "Identity"): station_id,
            ("SmartChargingCtrlr", "Enabled"): "true",
            ("SmartChargingCtrlr", "RateUnit"): "W,A",
            ("ChargingStation", "Model"): model,
            ("ChargingStation", "VendorName"): vendor,
        }

    def find(self, component: str, name: str) -> Variable:
        if not any(v.component == component for v in VARIABLES):
            raise VariableError("UnknownComponent")
        for v in VARIABLES:
            if v.component == component and v.name == name:
                return v
        raise VariableError("UnknownVariable")

    def find_16(self, key: str) -> Variable:
        for v in VARIABLES:
            if v.key_16 == key:
                return v
        raise VariableError("NotSupported")

    def get(self, var: Variable) -> str:
        stored = self.outbox.kv_get(f"var:{var.component}.{var.name}")
        return stored if stored is not None else self._defaults[(var.component, var.name)]

    def get_int(self, component: str, name: str) -> int:
        return int(self.get(self.find(component, name)))

    def set(self, var: Variable, value: str) -> None:
        if var.readonly:
            raise VariableError("Rejected")
        if var.kind == "int":
            try:
                if int(value) <= 0:
                    raise ValueError
            except ValueError:
                raise VariableError("Rejected") from None
        self.outbox.kv_set(f"var:{var.component}.{var.name}", value)
        if self.on_change is not None:
            self.on_change(f"{var.component}.{var.name}", value)

    def all(self) -> list[tuple[Variable, str]]:
        return [(v, self.get(v)) for v in VARIABLES]
