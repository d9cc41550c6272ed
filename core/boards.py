"""Board contracts: one small Protocol per function, with declared error kinds.

Modelled on EVerest's evse_board_support, isolation_monitor, power_supply_DC, connector_lock
and powermeter interfaces (STYLE.md). A driver plugin may implement several. Simulators
implement exactly the same Protocols as hardware drivers.

Every method may raise one of the declared errors. Observers registered with `subscribe`
receive `BoardEvent`s (CP changes, faults, readings); callbacks must not block.
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from attrs import frozen

from .model.enums import CPState


class BoardError(Exception):
    """Base of board errors. `device` names the driver instance."""

    def __init__(self, message: str, *, device: str = ""):
        super().__init__(f"{device}: {message}" if device else message)
        self.device = device


class DeviceFault(BoardError):
    """The device reports a fault (IMD fault, PSU fault, lock jammed, CP short ...)."""


class CommunicationFault(BoardError):
    """The device stopped answering (heartbeat missed, bad frames, port gone)."""


class VendorError(BoardError):
    """Vendor-specific error that stops charging."""


class VendorWarning(BoardError):
    """Vendor-specific warning; charging may continue."""


@frozen(kw_only=True)
class BoardEvent:
    """A change seen by a driver. `kind` examples: "cp_state", "fault", "fault_cleared",
    "reading", "lock", "relay". `value` carries the typed payload (CPState, float, str ...)."""

    source: str
    kind: str
    value: object = None
    detail: str = ""


BoardListener = Callable[[BoardEvent], None]


@frozen
class BspCapabilities:
    max_current_A_import: float = 32.0
    max_current_A_export: float = 0.0
    min_phases: int = 1
    max_phases: int = 3
    supports_changing_phases_during_charging: bool = False


@runtime_checkable
class ControlPilot(Protocol):
    """EVSE board support: CP generator and measurement, AC/DC contactor, PP, RCD."""

    def subscribe(self, listener: BoardListener) -> None: ...

    def capabilities(self) -> BspCapabilities: ...

    async def set_pwm_duty(self, duty_pct: float) -> None:
        """1 kHz PWM with this duty (0 < duty < 100). 100 = X1 (constant +12 V)."""

    async def set_pwm_off(self) -> None:
        """X1: constant +12 V."""

    async def set_state_f(self) -> None:
        """-12 V constant (EVSE not available)."""

    def cp_state(self) -> CPState: ...

    def pwm_duty_pct(self) -> float:
        """Duty now output: 100 = X1 (no PWM), 0 = state F/off."""

    async def allow_power_on(self, allow: bool, *, phases: int = 3) -> None:
        """Close (True) or open (False) the output contactor(s). Opening must never fail
        silently: a contactor that does not open raises DeviceFault."""

    def contactor_closed(self) -> bool: ...

    def cable_rating_A(self) -> float | None:
        """Proximity pilot: cable current rating, None when not applicable (fixed cable, DC)."""


@frozen
class IsolationReading:
    resistance_F_Ohm: float  # DC+ to PE
    resistance_N_Ohm: float  # DC- to PE
    voltage_V: float | None = None


@runtime_checkable
class IsolationMonitor(Protocol):
    """IMD (charging-domain.md 5.1-5.3).

    Optional: ``cable_voltage_V() -> float``, the DC voltage measured on the CABLE side of the
    EVSE contactor (IMDs usually measure it; a bsp driver may offer it too). The EvseManager uses
    it for WeldingDetection, for the "below 60 V" checks before and after cable check, and to keep
    the connector locked while the cable is live (remote unlock and after CP A). A board without
    it gets the power supply's reading instead, which is the supply side of the contactor: it
    cannot see a welded or early-closed EV contactor (5.5), so such a board cannot detect a live
    cable before cable check or at unplug. A reading that raises counts as live.
    """

    def subscribe(self, listener: BoardListener) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def self_test(self, test_voltage_V: float) -> bool:
        """IEC 61851-23:2023 self-test at the test voltage. True = passed."""

    async def read(self) -> IsolationReading:
        """One fresh measurement (raises DeviceFault if the IMD is faulted)."""


@frozen
class PowerSupplyCapabilities:
    max_export_voltage_V: float
    min_export_voltage_V: float
    max_export_current_A: float
    max_export_power_W: float
    min_export_current_A: float = 0.0
    max_import_current_A: float = 0.0  # > 0: bidirectional
    max_import_power_W: float = 0.0
    ramp_V_per_s: float = 500.0
    ramp_A_per_s: float = 200.0


@frozen
class PowerSupplyReading:
    voltage_V: float
    current_A: float  # positive export (charging the EV), negative import (discharging)


@runtime_checkable
class PowerSupply(Protocol):
    """DC power supply. Mode 'export' charges the EV, 'import' discharges it (BPT).

    Optional: ``async set_over_voltage_limit(limit_V: float | None)`` arms a hardware
    over-voltage monitor at the IEC 61851-23 Table 103 limit (charging-domain.md 5.6); the
    EvseManager calls it when the driver has it (None disarms).
    """

    def subscribe(self, listener: BoardListener) -> None: ...

    def capabilities(self) -> PowerSupplyCapabilities: ...

    async def set_mode(self, mode: str) -> None:
        """'off' | 'export' | 'import' | 'precharge' | 'cable_check'."""

    async def set_voltage_current(self, voltage_V: float, current_A: float) -> None:
        """Setpoints; the supply ramps and clamps to its limits."""

    def read(self) -> PowerSupplyReading: ...


@runtime_checkable
class ConnectorLock(Protocol):
    def subscribe(self, listener: BoardListener) -> None: ...

    async def lock(self) -> None:
        """Returns when locked; raises DeviceFault when the lock fails. The EvseManager waits at
        most `lock_confirm_timeout_s` (EvseTunables) and then requires `is_locked()` before cable
        check puts any voltage on the output; otherwise the session ends with
        `connector_lock_fault`."""

    async def unlock(self) -> None:
        """Called only with the cable side below the safe voltage (60 V)."""

    def is_locked(self) -> bool:
        """The lock's confirmed position (feedback), not the last command."""


@frozen
class PowerMeterReading:
    energy_import_Wh: float
    energy_export_Wh: float
    power_W: float
    voltage_V: float | None = None
    current_A: float | None = None


@runtime_checkable
class PowerMeter(Protocol):
    """Energy meter. `read()` returns a cached reading, or an awaitable of one for a meter that
    has to be asked (e.g. over Modbus); the EvseManager awaits that for at most 2 s, then counts
    the meter as not answering (core/evse/metering.py, `fail_on_powermeter_errors`). A read that
    raises, a non-finite value or a register running backwards is a meter fault too."""

    def subscribe(self, listener: BoardListener) -> None: ...

    def read(self) -> PowerMeterReading: ...


@runtime_checkable
class EvBoard(Protocol):
    """The EV side of the cable: CP resistor (B/C/D), EV contactor, battery, inlet voltage."""

    def subscribe(self, listener: BoardListener) -> None: ...

    def set_cp_state(self, state: CPState) -> None:
        """B, C or D (the EV controls the letter), or A to unplug."""

    def pwm_duty_pct(self) -> float:
        """Duty the EV sees: 100 = X1 / no PWM, 0 = state E/F."""

    def set_contactor(self, closed: bool) -> None: ...

    def contactor_closed(self) -> bool: ...

    def inlet_voltage_V(self) -> float: ...

    def battery_soc_pct(self) -> float: ...

    def battery_voltage_V(self) -> float: ...

    def set_ac_current_draw(self, current_A: float, phases: int) -> None:
        """AC: the onboard charger draws this current (limited by the board's physics)."""


BOARD_KINDS = ("bsp", "imd", "power_supply", "connector_lock", "power_meter", "ev_board")
