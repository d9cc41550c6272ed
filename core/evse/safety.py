"""Safety arithmetic and the over-voltage watch (charging-domain.md 5.2, 5.3, 5.6, 5.7).

Everything here is pure: the EvseManager feeds it readings and times and acts on the verdicts.
Real over-voltage protection belongs in hardware (5.6); this is the software monitor EVerest
also runs (`internal_over_voltage_duration_ms`).
"""
from __future__ import annotations

from attrs import define

from ..boards import BoardError, CommunicationFault, DeviceFault, VendorError, VendorWarning
from ..model.enums import StopCause

CABLE_CHECK_LOW_RANGE_V = 500.0

# IEC 61851-23:2023 Table 103 (5.6): negotiated max voltage -> emergency over-voltage limit.
EMERGENCY_OV_TABLE: tuple[tuple[float, float], ...] = (
    (500.0, 550.0),
    (750.0, 825.0),
    (850.0, 935.0),
    (1000.0, 1100.0),
)
EMERGENCY_OV_ABOVE_1000_V = 1375.0  # IEC 61851-23-3 draft (MCS) [verify]

BOARD_KIND_CAUSE: dict[str, StopCause] = {
    "bsp": StopCause.CP_FAULT,
    "imd": StopCause.IMD_FAULT,
    "power_supply": StopCause.POWER_SUPPLY_FAULT,
    "connector_lock": StopCause.CONNECTOR_LOCK_FAULT,
    "power_meter": StopCause.POWER_METER_FAULT,
}


# fault names reported by drivers (BoardEvent.value of kind "fault") -> stop cause
FAULT_NAME_CAUSE: dict[str, StopCause] = {
    "imd_fault": StopCause.IMD_FAULT,
    "over_voltage": StopCause.OVER_VOLTAGE,
    "psu_fault": StopCause.POWER_SUPPLY_FAULT,
    "lock_failure": StopCause.CONNECTOR_LOCK_FAULT,
    "cp_short": StopCause.CP_FAULT,
    "missing_diode": StopCause.CP_FAULT,
    "contactor_welded": StopCause.WELDING_DETECTED,
    "rcd_trip": StopCause.OTHER,
}


def cable_check_test_voltage_V(ev_max_voltage_V: float, evse_max_voltage_V: float, override_V: int = 0) -> float:
    """IEC 61851-23:2023 CC.4.1.2 formula CC.1 (5.2); `override_V` = dc_isolation_voltage_V."""
    if override_V > 0:
        return min(float(override_V), evse_max_voltage_V)
    if ev_max_voltage_V <= CABLE_CHECK_LOW_RANGE_V:
        return min(ev_max_voltage_V + 50.0, CABLE_CHECK_LOW_RANGE_V, evse_max_voltage_V)
    return min(1.1 * ev_max_voltage_V, evse_max_voltage_V)


def emergency_ov_limit_V(negotiated_max_V: float) -> float:
    """Table 103 limit for the negotiated max voltage = min(EV max, EVSE max) (5.6)."""
    for upto, limit in EMERGENCY_OV_TABLE:
        if negotiated_max_V <= upto:
            return limit
    return EMERGENCY_OV_ABOVE_1000_V


def isolation_valid(resistance_F_Ohm: float, resistance_N_Ohm: float, fault_threshold_Ohm: float) -> bool:
    """IEC 61851-23:2023 (5.3): both DC lines to PE must measure >= 100 kOhm."""
    return min(resistance_F_Ohm, resistance_N_Ohm) >= fault_threshold_Ohm


def stops_charging(error: BaseException) -> bool:
    """Board errors that stop power (DeviceFault, CommunicationFault, VendorError);
    VendorWarning is logged only."""
    if isinstance(error, VendorWarning):
        return False
    return isinstance(error, (DeviceFault, CommunicationFault, VendorError, BoardError))


@define
class OverVoltageWatch:
    """Error shutdown when the voltage stays above the negotiated max for longer than
    `duration_s` (Table 104, EvseManager internal_over_voltage_duration_ms); emergency
    shutdown at once above the Table 103 limit."""

    duration_s: float
    negotiated_max_V: float | None = None
    _above_since_s: float | None = None

    def arm(self, negotiated_max_V: float) -> None:
        self.negotiated_max_V = negotiated_max_V
        self._above_since_s = None

    def disarm(self) -> None:
        self.negotiated_max_V = None
        self._above_since_s = None

    def check(self, voltage_V: float, now_s: float) -> str | None:
        """None while fine; "emergency" or "error" when a shutdown is due."""
        limit = self.negotiated_max_V
        if limit is None:
            return None
        if voltage_V > emergency_ov_limit_V(limit):
            return "emergency"
        if voltage_V <= limit:
            self._above_since_s = None
            return None
        if self._above_since_s is None:
            self._above_since_s = now_s
        if now_s - self._above_since_s >= self.duration_s:
            return "error"
        return None
