"""Station configuration: TOML -> attrs through cattrs, with errors that name the key path.

The `[evse]` table takes EVerest EvseManager configuration keys by their seed names and
defaults (shared/seeds/003). Which keys change behaviour is listed in SUPPORTED_EVSE_KEYS;
the rest are accepted (so an EVerest config can be pasted) and reported as unsupported by
`freev2g config check`. Board and link options are free-form tables validated by the driver.
"""
from __future__ import annotations

import math
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any

import cattrs
from attrs import define, field, fields
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from .config_errors import KeyValueError, did_you_mean, error_paths  # noqa: F401 - re-exported
from .config_example import EXAMPLE_STATION_TOML  # noqa: F401 - re-exported (freev2g config example)
from .model.enums import ChargeMode


class ConfigError(ValueError):
    """Configuration errors; `problems` lists 'key.path: message' strings."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _positive(instance, attribute, value):
    if value is not None and value < 0:
        raise KeyValueError(attribute.name, f"must be >= 0, got {value!r}")


def _above_zero(instance, attribute, value):
    """Values a station cannot run with at 0 (a 0 V mains, a 0 W or 0 A output)."""
    if not value > 0:
        raise KeyValueError(attribute.name, f"must be > 0, got {value!r}")


def _connector_id(instance, attribute, value):
    if value < 1:
        raise KeyValueError(attribute.name, f"must be >= 1 (OCPP connector 0 is the whole station), got {value!r}")


def _one_of(*choices):
    def check(instance, attribute, value):
        if value not in choices:
            raise KeyValueError(attribute.name, f"must be one of {', '.join(map(str, choices))}; got {value!r}")

    return check


@define(kw_only=True)
class EvseManagerConfig:
    """EVerest EvseManager keys (seed 003), same names and defaults."""

    connector_id: int = field(default=1, validator=_connector_id)
    connector_type: str = "Unknown"
    evse_id: str = "DE*PNX*E1234567*1"
    evse_id_din: str = "49A80737A45678"
    payment_enable_eim: bool = True
    payment_enable_contract: bool = True
    ac_nominal_voltage: float = field(default=230.0, validator=_above_zero)
    ev_receipt_required: bool = False
    session_logging: bool = False
    session_logging_path: str = "/tmp"
    session_logging_xml: bool = True
    has_ventilation: bool = True
    max_current_import_A: float = field(default=32.0, validator=_positive)
    max_current_export_A: float = field(default=32.0, validator=_positive)
    charge_mode: ChargeMode = ChargeMode.AC
    supported_iso_ac_bpt: bool = False
    ac_hlc_enabled: bool = False
    ac_hlc_use_5percent: bool = False
    ac_enforce_hlc: bool = False
    ac_with_soc: bool = False
    dc_isolation_voltage_V: int = field(default=0, validator=_positive)
    internal_over_voltage_duration_ms: int = field(default=400, validator=_positive)
    dbg_hlc_auth_after_tstep: bool = False
    hack_sleep_in_cable_check: int = field(default=0, validator=_positive)
    hack_sleep_in_cable_check_volkswagen: int = field(default=0, validator=_positive)
    cable_check_wait_number_of_imd_measurements: int = field(default=1, validator=_positive)
    cable_check_enable_imd_self_test: bool = True
    cable_check_wait_below_60V_before_finish: bool = True
    hack_skoda_enyaq: bool = False
    hack_present_current_offset: int = 0
    hack_pause_imd_during_precharge: bool = False
    hack_allow_bpt_with_iso2: bool = False
    hack_simplified_mode_limit_10A: bool = False
    autocharge_use_slac_instead_of_hlc: bool = False
    enable_autocharge: bool = False
    logfile_suffix: str = "session_uuid"
    soft_over_current_tolerance_percent: float = field(default=10.0, validator=_positive)
    soft_over_current_measurement_noise_A: float = field(default=0.5, validator=_positive)
    hack_fix_hlc_integer_current_requests: bool = False
    disable_authentication: bool = False
    sae_j2847_2_bpt_enabled: bool = False
    sae_j2847_2_bpt_mode: str = field(default="V2G", validator=_one_of("V2H", "V2G"))
    request_zero_power_in_idle: bool = False
    external_ready_to_start_charging: bool = False
    uk_smartcharging_random_delay_enable: bool = False
    uk_smartcharging_random_delay_max_duration: int = 600
    uk_smartcharging_random_delay_at_any_change: bool = True
    initial_meter_value_timeout_ms: int = field(default=5000, validator=_positive)
    switch_3ph1ph_delay_s: int = field(default=10, validator=_positive)
    switch_3ph1ph_cp_state: str = field(default="X1", validator=_one_of("X1", "F"))
    soft_over_current_timeout_ms: int = field(default=7000, validator=_positive)
    lock_connector_in_state_b: bool = True
    state_F_after_fault_ms: int = field(default=300, validator=_positive)
    fail_on_powermeter_errors: bool = True
    raise_mrec9: bool = False
    sleep_before_enabling_pwm_hlc_mode_ms: int = field(default=500, validator=_positive)
    central_contract_validation_allowed: bool = False
    contract_certificate_installation_enabled: bool = True
    inoperative_error_use_vendor_id: bool = False
    session_id_type: str = field(default="UUID", validator=_one_of("UUID", "UUID_BASE64", "SHORT_BASE64"))
    zero_power_ignore_pause: bool = False
    zero_power_allow_ev_to_ignore_pause: bool = False
    bpt_channel: str = field(default="None", validator=_one_of("None", "Unified", "Separated"))
    bpt_generator_mode: str = field(default="None", validator=_one_of("None", "GridFollowing", "GridForming"))
    bpt_grid_code_island_method: str = field(default="None", validator=_one_of("None", "Active", "Passive"))
    # freev2g keys (not in EVerest), safety watches while energy flows (issue #10):
    # no charge-loop request for this long after PowerDelivery(Start) -> stop, link_timeout
    # (DC 1 s [verify] against IEC 61851-23; AC HLC 3 s [verify], no normative value known), and
    # an isolation reading below the isolation fault threshold for this long while charging ->
    # stop, isolation_fault [verify].
    charge_loop_timeout_ms: int = field(default=1000, validator=_above_zero)
    ac_charge_loop_timeout_ms: int = field(default=3000, validator=_above_zero)
    isolation_fault_duration_ms: int = field(default=1000, validator=_positive)
    # isolation fault threshold (IEC 61851-23:2023 5.3: 100 kOhm), how long cable check and
    # PowerDelivery wait for the lock to confirm, and how long an unplugged but live cable is
    # kept locked while it discharges below 60 V (both [verify]).
    isolation_fault_threshold_Ohm: float = field(default=100_000.0, validator=_above_zero)
    lock_confirm_timeout_ms: int = field(default=5000, validator=_above_zero)
    unlock_discharge_timeout_ms: int = field(default=30000, validator=_above_zero)


# The EvseManager keys whose effect freev2g implements; each has a test in tests/evse/
# (test_config_keys.py and the session tests). `config check` reports the others as accepted
# but without effect.
SUPPORTED_EVSE_KEYS: frozenset[str] = frozenset(
    {
        "connector_id",
        "connector_type",
        "evse_id",
        "evse_id_din",
        "payment_enable_eim",
        "payment_enable_contract",
        "ac_nominal_voltage",
        "max_current_import_A",
        "charge_mode",
        "ac_hlc_enabled",
        "ac_hlc_use_5percent",
        "ac_enforce_hlc",
        "dc_isolation_voltage_V",
        "internal_over_voltage_duration_ms",
        "cable_check_wait_number_of_imd_measurements",
        "cable_check_enable_imd_self_test",
        "cable_check_wait_below_60V_before_finish",
        "disable_authentication",
        "sae_j2847_2_bpt_enabled",
        "sae_j2847_2_bpt_mode",
        "supported_iso_ac_bpt",
        "enable_autocharge",
        "lock_connector_in_state_b",
        "fail_on_powermeter_errors",
        "state_F_after_fault_ms",
        "session_id_type",
        "has_ventilation",
        "switch_3ph1ph_delay_s",
        "switch_3ph1ph_cp_state",
        "charge_loop_timeout_ms",
        "ac_charge_loop_timeout_ms",
        "isolation_fault_duration_ms",
        "isolation_fault_threshold_Ohm",
        "lock_confirm_timeout_ms",
        "unlock_discharge_timeout_ms",
    }
)


@define(kw_only=True)
class DCRatingConfig:
    """Rated DC output (used when the power supply driver does not report capabilities)."""

    max_voltage_V: float = field(default=1000.0, validator=_above_zero)
    min_voltage_V: float = field(default=150.0, validator=_positive)
    max_current_A: float = field(default=200.0, validator=_above_zero)
    max_power_W: float = field(default=150_000.0, validator=_above_zero)
    min_current_A: float = field(default=0.0, validator=_positive)
    max_discharge_power_W: float = field(default=0.0, validator=_positive)
    max_discharge_current_A: float = field(default=0.0, validator=_positive)


@define(kw_only=True)
class BoardConfig:
    """Drivers by name per board function; `options` holds one table per driver name."""

    bsp: str = "sim"
    imd: str | None = "sim"
    power_supply: str | None = "sim"
    connector_lock: str | None = "sim"
    power_meter: str | None = "sim"
    options: dict[str, dict[str, Any]] = field(factory=dict)


@define(kw_only=True)
class LinkConfig:
    name: str = "virtual"
    options: dict[str, Any] = field(factory=dict)


@define(kw_only=True)
class StationInfo:
    id: str = "freev2g-station"
    vendor: str = "freev2g"
    model: str = "freev2g-sim"


@define(kw_only=True)
class StationConfig:
    station: StationInfo = field(factory=StationInfo)
    evse: EvseManagerConfig = field(factory=EvseManagerConfig)
    dc: DCRatingConfig = field(factory=DCRatingConfig)
    board: BoardConfig = field(factory=BoardConfig)
    link: LinkConfig = field(factory=LinkConfig)
    journal: str | None = None  # sqlite path
    # "process": nothing recorded is lost when the process crashes (WAL, synchronous=NORMAL);
    # "power_loss": also not on a power cut (synchronous=FULL, one fsync per record).
    journal_durability: str = field(default="process", validator=_one_of("process", "power_loss"))
    uplinks: dict[str, Any] = field(factory=dict)  # name -> structured plugin config


def _strict(kind: type, accept: tuple[type, ...], reject: tuple[type, ...] = ()):
    def hook(value: Any, type_: type) -> Any:
        if type_ is not kind and isinstance(type_, type) and issubclass(type_, Enum):
            # a str-based Enum reaches the str hook: check its values, name the allowed ones
            allowed = [m.value for m in type_]
            if value not in allowed:
                raise ValueError(f"must be one of {', '.join(map(str, allowed))}; got {value!r}")
            return type_(value)
        if isinstance(value, reject) or not isinstance(value, accept):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        if kind is float and not math.isfinite(value):
            # TOML has nan and inf; no limit, setpoint or time of a station can be either.
            raise ValueError(f"must be a finite number, got {value!r}")
        return kind(value)

    return hook


def make_converter() -> cattrs.Converter:
    """cattrs converter that refuses extra keys and does not coerce types (TOML has real types:
    "32" is not a number, 1 is not a string, "yes" is not a boolean)."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(str, _strict(str, (str,)))
    conv.register_structure_hook(bool, _strict(bool, (bool,)))
    conv.register_structure_hook(int, _strict(int, (int,), (bool,)))
    conv.register_structure_hook(float, _strict(float, (int, float), (bool,)))
    return conv


def structure(data: Any, cls: type, *, source: str = "<config>", root: str = "") -> Any:
    """Structure `data` into `cls`; raise ConfigError naming every bad key path."""
    conv = make_converter()
    try:
        return conv.structure(data, cls)
    except (ClassValidationError, ForbiddenExtraKeysError, ValueError, TypeError) as exc:
        if isinstance(exc, (ClassValidationError, ForbiddenExtraKeysError)):
            problems = error_paths(exc, root, data)
        else:
            problems = [f"{root or cls.__name__}: {exc}"]
        raise ConfigError(source, problems) from exc


def parse_station_config(data: dict[str, Any], *, source: str = "<config>", uplink_types: dict[str, type] | None = None) -> StationConfig:
    """Structure a parsed TOML document. `uplink_types` maps uplink names to the attrs class
    their plugin registered; unknown uplink names are errors."""
    problems: list[str] = []
    raw_uplinks = data.get("uplinks", {}) if isinstance(data, dict) else {}
    base = {k: v for k, v in data.items() if k != "uplinks"} if isinstance(data, dict) else data
    cfg = None
    try:
        cfg = structure(base, StationConfig, source=source)
    except ConfigError as exc:
        problems.extend(exc.problems)
    uplinks: dict[str, Any] = {}
    if not isinstance(raw_uplinks, dict):
        problems.append(f"uplinks: must be a table, got {type(raw_uplinks).__name__}")
        raw_uplinks = {}
    types = uplink_types or {}
    for name, table in raw_uplinks.items():
        if name not in types:
            known = ", ".join(sorted(types)) or "none installed"
            problems.append(f"uplinks.{name}: no uplink plugin named {name!r}{did_you_mean(name, types)} ({known})")
            continue
        ctype = types[name]
        if ctype is None:
            uplinks[name] = table
            continue
        try:
            uplinks[name] = structure(table, ctype, source=source, root=f"uplinks.{name}")
        except ConfigError as exc:
            problems.extend(p if p.startswith("uplinks.") else f"uplinks.{name}.{p}" for p in exc.problems)
    if problems:
        raise ConfigError(source, problems)
    assert cfg is not None
    cfg.uplinks = uplinks
    return cfg


def load_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(p), ["file not found"]) from None
    except IsADirectoryError:
        raise ConfigError(str(p), ["is a directory, not a TOML file"]) from None
    except PermissionError:
        raise ConfigError(str(p), ["cannot be read (permission denied)"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), [not_utf8_problem(p, exc)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), [f"not valid TOML: {exc}"]) from None


def not_utf8_problem(path: Path, exc: UnicodeDecodeError) -> str:
    """TOML (and JSON) files are UTF-8: say where the first bad byte is (line, column)."""
    try:
        data = path.read_bytes()[: exc.start]
    except OSError:
        return f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); TOML files must be UTF-8"
    line = data.count(b"\n") + 1
    column = exc.start - (data.rfind(b"\n") + 1) + 1
    return (f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at line {line}, column {column}; "
            "TOML files must be UTF-8 (save the file as UTF-8)")


def load_station_config(path: str | Path, *, uplink_types: dict[str, type] | None = None) -> StationConfig:
    return parse_station_config(load_toml(path), source=str(path), uplink_types=uplink_types)


def unsupported_evse_keys(data: dict[str, Any]) -> list[str]:
    """Keys present in [evse] that are accepted but have no effect in freev2g."""
    names = {f.name for f in fields(EvseManagerConfig)}
    evse = data.get("evse", {}) if isinstance(data, dict) else {}
    return sorted(k for k in evse if k in names and k not in SUPPORTED_EVSE_KEYS)
