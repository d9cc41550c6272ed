"""The one check of a station file, run by `freev2g config check` and by every command that
starts a station from a file (`simulate --config`, `evse --config`): what passes it can run.

Beyond the structure (config.py: types, finite numbers, per-key ranges) it checks what needs
more than one key or the installed plugins: min above max, a zero AC output, driver, link and
uplink names, each board driver's options (the driver's `check_options`, no hardware touched),
the configured DC range against the range the power supply driver declares, and that the
journal file can be written. Every problem is one 'key.path: message' line naming the value.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attrs import field, frozen

from .boards import PowerSupplyCapabilities
from .config import (
    ConfigError,
    StationConfig,
    load_toml,
    parse_station_config,
    unsupported_evse_keys,
)
from .model.enums import ChargeMode

EVSE_BOARD_KINDS = ("bsp", "imd", "power_supply", "connector_lock", "power_meter")


@frozen
class CheckedStation:
    config: StationConfig
    notes: list[str]  # accepted keys without effect, one line each
    data: dict = field(factory=dict)  # the parsed file: which keys it sets (command line > file > defaults)


def check_station_file(pm: Any, path: str | Path) -> CheckedStation:
    """Load and check `path`; raise ConfigError with every problem (source = the path)."""
    source = str(path)
    data = load_toml(path)
    types = {r.name: r.config_type for r in pm.registries().uplinks.all()}
    cfg = parse_station_config(data, source=source, uplink_types=types)
    problems = check_station_config(pm, cfg)
    if problems:
        raise ConfigError(source, problems)
    notes = [f"evse.{key} is accepted but not supported by freev2g (no effect)" for key in unsupported_evse_keys(data)]
    return CheckedStation(cfg, notes, data)


# Top-level keys only one kind of file has (`dc` and `board` are in both station and car files).
STATION_ONLY = frozenset({"station", "evse", "link", "journal", "journal_durability", "uplinks"})
CAR_ONLY = frozenset({"ev", "battery", "ac", "bpt", "quirks", "departure_time_s", "scale", "mac"})


def file_kind(path: str | Path, data: Any) -> str:
    """"scenario", "car" or "station", from what the parsed file holds (ev.json: "car")."""
    if Path(path).suffix.lower() == ".json":
        return "car"
    if not isinstance(data, dict):
        return "station"
    if "steps" in data:
        return "scenario"
    keys = set(data)
    if keys & CAR_ONLY and not keys & STATION_ONLY:
        return "car"
    return "station"


def check_any_file(pm: Any, path: str | Path) -> tuple[str, list[str]]:
    """Check a station, car or scenario file (detected); (kind, notes) or raise ConfigError."""
    from .ev.config import load_ev_config, parse_car_config
    from .ev.scenario import parse_scenario

    if Path(path).suffix.lower() == ".json":
        load_ev_config(path)
        return "car", []
    data = load_toml(path)
    kind = file_kind(path, data)
    if kind == "scenario":
        parse_scenario(data, source=str(path))
        return kind, []
    if kind == "car":
        parse_car_config(data, source=str(path))
        return kind, []
    return kind, check_station_file(pm, path).notes


def check_station_config(pm: Any, cfg: StationConfig) -> list[str]:
    """Problems of a structured config that the per-key validators cannot see."""
    problems = _ranges(cfg)
    declared, board_problems = _boards(pm, cfg)
    problems += board_problems
    caps = declared.get("power_supply")
    if isinstance(caps, PowerSupplyCapabilities) and ChargeMode(cfg.evse.charge_mode) is ChargeMode.DC:
        problems += _within_hardware(cfg, caps)
    try:
        pm.registries().links.get(cfg.link.name, "evse")
    except LookupError as exc:
        problems.append(f"link.name: {exc}")
    if cfg.journal is not None:
        problem = journal_path_problem(cfg.journal)
        if problem:
            problems.append(f"journal: {cfg.journal!r}: {problem}")
    return problems


def _ranges(cfg: StationConfig) -> list[str]:
    dc, evse = cfg.dc, cfg.evse
    out = []
    for low, high in (("min_voltage_V", "max_voltage_V"), ("min_current_A", "max_current_A")):
        lo, hi = getattr(dc, low), getattr(dc, high)
        if lo > hi:
            out.append(f"dc.{low}: {lo!r} is above dc.{high} = {hi!r}")
    if ChargeMode(evse.charge_mode) is ChargeMode.AC and not evse.max_current_import_A > 0:
        out.append(f"evse.max_current_import_A: must be > 0 for AC charging, got {evse.max_current_import_A!r}")
    return out


def _boards(pm: Any, cfg: StationConfig) -> tuple[dict[str, Any], list[str]]:
    """Driver names and their options; returns what the drivers declare, by kind."""
    regs = pm.registries()
    problems: list[str] = []
    declared: dict[str, Any] = {}
    used: set[str] = set()
    reported: set[str] = set()  # one driver (e.g. "sim") serves several kinds with one table
    for kind in EVSE_BOARD_KINDS:
        name = getattr(cfg.board, kind)
        if name is None:
            continue
        used.add(name)
        try:
            reg = regs.boards.get(kind, name)
        except LookupError as exc:
            problems.append(f"board.{kind}: {exc}")
            continue
        if reg.check_options is None:
            continue
        where = f"board.options.{name}"
        try:
            declared[kind] = reg.check_options(dict(cfg.board.options.get(name, {})), where)
        except ConfigError as exc:
            lines = exc.problems
        except (ValueError, TypeError) as exc:
            lines = [str(exc) if str(exc).startswith(where) else f"{where}: {exc}"]
        else:
            continue
        problems += [line for line in lines if line not in reported]
        reported.update(lines)
    for name in cfg.board.options:
        if name not in used:
            drivers = ", ".join(sorted(used)) or "none"
            problems.append(f"board.options.{name}: no configured driver is named {name!r} (configured: {drivers})")
    return declared, problems


def _within_hardware(cfg: StationConfig, caps: PowerSupplyCapabilities) -> list[str]:
    """The configured DC range must lie inside the range the power supply declares."""
    out = []
    name = cfg.board.power_supply
    hw_max, hw_min = caps.max_export_voltage_V, caps.min_export_voltage_V
    if cfg.dc.max_voltage_V > hw_max:
        out.append(f"dc.max_voltage_V: {cfg.dc.max_voltage_V!r} is above the {hw_max!r} V the power_supply "
                   f"driver {name!r} declares")
    if cfg.dc.min_voltage_V < hw_min:
        out.append(f"dc.min_voltage_V: {cfg.dc.min_voltage_V!r} is below the {hw_min!r} V the power_supply "
                   f"driver {name!r} declares")
    return out


def journal_path_problem(path: str) -> str | None:
    """Why the journal file cannot be created or written, or None."""
    if path == ":memory:":
        return None
    p = Path(path)
    if p.is_dir():
        return "is a directory"
    if p.exists():
        return None if os.access(p, os.R_OK | os.W_OK) else "the file is not writable"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        return f"the directory {str(parent)!r} does not exist"
    if not parent.is_dir():
        return f"{str(parent)!r} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"the directory {str(parent)!r} is not writable"
    return None
