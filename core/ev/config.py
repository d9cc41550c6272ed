"""EV configuration: what a simulated car is (identity, protocols, battery, limits, quirks).

Read from our `car.toml` (this module) or from FreeV2G's `ev.json` (core/ev/evjson.py). Both end
up as one frozen `EvConfig`. Defaults give a 50 kWh / 400 V car that charges from 30 % to 80 %.

Facts used: charging-domain.md 3.3 (charge parameters), 5.4 (PreCharge 20 V tolerance,
2 A precharge current, both [verify] and therefore configurable), 5.5 (welding < 60 V),
4.2 (EV timeouts), 10 (EV quirks worth switching); seed 002 SCALE needs.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from attrs import define, field

from ..config import load_toml, structure
from ..model.enums import EnergyTransferMode, PaymentOption, Protocol


def _pct(instance, attribute, value):
    if value is not None and not 0 <= value <= 100:
        raise ValueError(f"{attribute.name} must be within 0..100 %, got {value!r}")


def _positive(instance, attribute, value):
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@define(kw_only=True)
class EvIdentity:
    evcc_id: str = "00:01:01:63:77:31"  # MAC, ISO 15118-2 EVCCID
    protocols: list[Protocol] = field(factory=lambda: [Protocol.ISO15118_20, Protocol.ISO15118_2, Protocol.DIN70121])
    payment: PaymentOption = PaymentOption.EXTERNAL_PAYMENT
    energy_transfer_modes: list[EnergyTransferMode] = field(
        factory=lambda: [EnergyTransferMode.DC_EXTENDED, EnergyTransferMode.AC_THREE_PHASE_CORE]
    )


@define(kw_only=True)
class BatteryConfig:
    capacity_Wh: float = field(default=50_000.0, validator=_positive)
    start_soc_pct: float = field(default=66.0, validator=_pct)  # ~5 min DC top-up: `make demo` at 10x ~ 35 s
    target_soc_pct: float = field(default=80.0, validator=_pct)  # EV stops charging here
    min_soc_pct: float = field(default=20.0, validator=_pct)  # BPT / SCALE lower bound
    full_soc_pct: float = field(default=100.0, validator=_pct)
    bulk_soc_pct: float = field(default=80.0, validator=_pct)


@define(kw_only=True)
class DcLimits:
    max_voltage_V: float = field(default=450.0, validator=_positive)
    max_current_A: float = field(default=250.0, validator=_positive)
    max_power_W: float = field(default=100_000.0, validator=_positive)
    target_voltage_V: float | None = field(default=None, validator=_positive)  # None: max_voltage_V
    target_current_A: float | None = field(default=None, validator=_positive)  # None: max_current_A
    min_current_A: float = field(default=0.0, validator=_positive)


@define(kw_only=True)
class AcLimits:
    max_voltage_V: float = field(default=230.0, validator=_positive)  # RMS phase-neutral
    max_current_A: float = field(default=32.0, validator=_positive)  # per phase
    min_current_A: float = field(default=6.0, validator=_positive)
    phases: int = field(default=3)

    @phases.validator
    def _phases(self, attribute, value):
        if value not in (1, 3):
            raise ValueError(f"{attribute.name} must be 1 or 3, got {value!r}")


@define(kw_only=True)
class BptLimits:
    """ISO 15118-20 DC_BPT discharge limits (magnitudes), charging-domain.md 7.5."""

    max_discharge_power_W: float = field(default=11_000.0, validator=_positive)
    min_discharge_power_W: float = field(default=0.0, validator=_positive)
    max_discharge_current_A: float = field(default=30.0, validator=_positive)
    discharge: bool = False  # True: the EV asks to discharge down to battery.min_soc_pct
    round_trip_efficiency_pct: float = field(default=90.0, validator=_pct)  # SCALE proposal


@define(kw_only=True)
class EvQuirks:
    """Behaviour switches for EV quirks seen in the field (charging-domain.md 5.4, 10)."""

    ignore_renegotiation: bool = False  # never answers EVSENotification=ReNegotiation
    ignore_stop_notification: bool = False  # keeps charging after EVSENotification=StopCharging
    trust_evse_present_voltage: bool = False  # closes contactors on the reported voltage
    use_cp_state_d: bool = False  # signals D (ventilation) instead of C
    send_charging_profile: bool = False  # most DC EVs never send one
    target_current_offset_A: float = 0.0  # e.g. -0.2: slightly negative requests (DIN quirk)
    precharge_tolerance_V: float = field(default=20.0, validator=_positive)  # 5.4 [verify]
    precharge_current_A: float = field(default=2.0, validator=_positive)  # 5.4 [verify]
    welding_safe_voltage_V: float = field(default=60.0, validator=_positive)  # 5.5


@define(kw_only=True)
class EvConfig:
    ev: EvIdentity = field(factory=EvIdentity)
    battery: BatteryConfig = field(factory=BatteryConfig)
    dc: DcLimits = field(factory=DcLimits)
    ac: AcLimits = field(factory=AcLimits)
    bpt: BptLimits = field(factory=BptLimits)
    quirks: EvQuirks = field(factory=EvQuirks)
    departure_time_s: int | None = field(default=None, validator=_positive)
    scale: bool = False  # send the SCALE needs (seed 002 9.1, 13.1)
    board: dict[str, Any] = field(factory=dict)  # options for the ev_board driver
    mac: str | None = None  # modem MAC (ev.json "mac"); None: evcc_id

    def __attrs_post_init__(self):
        b = self.battery
        if b.min_soc_pct > b.target_soc_pct:
            raise ValueError(f"battery.min_soc_pct {b.min_soc_pct} exceeds target_soc_pct {b.target_soc_pct}")
        if b.target_soc_pct > b.full_soc_pct:
            raise ValueError(f"battery.target_soc_pct {b.target_soc_pct} exceeds full_soc_pct {b.full_soc_pct}")
        if not self.ev.protocols:
            raise ValueError("ev.protocols: must list at least one protocol")


EXAMPLE_CAR_TOML = '''\
# freev2g EV configuration (car.toml). Every key is optional.
scale = false                       # send SCALE needs (min/max energy, min/max SoC ...)
# departure_time_s = 14400

[ev]
evcc_id = "00:01:01:63:77:31"
protocols = ["iso20", "iso2", "din"] # priority order
payment = "ExternalPayment"          # or "Contract"
energy_transfer_modes = ["DC_extended", "AC_three_phase_core"]

[battery]
capacity_Wh = 50000
start_soc_pct = 66
target_soc_pct = 80
min_soc_pct = 20

[dc]
max_voltage_V = 450
max_current_A = 250
max_power_W = 100000

[ac]
max_current_A = 32
min_current_A = 6
phases = 3

[bpt]
max_discharge_power_W = 11000
discharge = false

[quirks]
ignore_renegotiation = false
precharge_tolerance_V = 20
'''


def parse_car_config(data: dict[str, Any], *, source: str = "<car.toml>") -> EvConfig:
    """Structure a parsed car.toml; errors name the key path."""
    return structure(data, EvConfig, source=source)


def load_ev_config(path: str | Path) -> EvConfig:
    """car.toml (ours) or ev.json (FreeV2G), chosen by the file suffix."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        from .evjson import load_ev_json

        return load_ev_json(p)
    return parse_car_config(load_toml(p), source=str(p))
