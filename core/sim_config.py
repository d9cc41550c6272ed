"""The station a simulation runs (`freev2g simulate`, `freev2g evse`): one precedence for every
setting, command line > station file > the simulation's defaults for the mode.

A station file only overrides the keys it sets: an `[uplinks.ocpp]`-only or an empty file keeps
the simulation's DC (or AC with ISO 15118) free-service station, not EvseManager's bare defaults
(charge_mode "AC" basic, authorization required). Where a flag and the file disagree the flag
wins and `notes` says so in one line; `authorization_line` says how sessions get authorized.
"""
from __future__ import annotations

from typing import Any

import attrs
from attrs import fields

from .config import StationConfig


def mode_of_file(data: dict[str, Any]) -> str | None:
    """The --mode a station file implies ("ac" / "dc"), or None when it sets no charge_mode."""
    evse = data.get("evse", {}) if isinstance(data, dict) else {}
    mode = evse.get("charge_mode") if isinstance(evse, dict) else None
    return {"AC": "ac", "DC": "dc"}.get(mode) if isinstance(mode, str) else None


def merge_station(defaults: StationConfig, file_cfg: StationConfig, data: dict[str, Any]) -> StationConfig:
    """`file_cfg` where the file (parsed `data`) sets a key, `defaults` elsewhere ([evse], [dc]
    key by key; the sim board's options when the file has none for it)."""

    def table(name: str) -> dict[str, Any]:
        value = data.get(name, {}) if isinstance(data, dict) else {}
        return value if isinstance(value, dict) else {}

    def pick(default_obj: Any, file_obj: Any, given: dict[str, Any]) -> Any:
        return attrs.evolve(default_obj, **{f.name: getattr(file_obj, f.name) for f in fields(type(default_obj))
                                            if f.name in given})

    evse = pick(defaults.evse, file_cfg.evse, table("evse"))
    dc = pick(defaults.dc, file_cfg.dc, table("dc"))
    board = file_cfg.board
    if "sim" in defaults.board.options and "sim" not in board.options and board.power_supply == "sim":
        board = attrs.evolve(board, options={**board.options, "sim": defaults.board.options["sim"]})
    return attrs.evolve(file_cfg, evse=evse, dc=dc, board=board)


def cli_overrides(mode: str, mode_given: bool, data: dict[str, Any], source: str) -> tuple[str, list[str]]:
    """The mode to run (flag > file > "dc") and a one-line note when --mode and the file disagree."""
    from_file = mode_of_file(data)
    if from_file is None:
        return mode, []
    if not mode_given:
        return from_file, []
    flag_ac = mode == "ac"
    if flag_ac == (from_file == "ac"):
        return mode, []
    file_value = "AC" if from_file == "ac" else "DC"
    return mode, [f"note: --mode {mode} overrides evse.charge_mode = {file_value!r} in {source}"]


def apply_mode(cfg: StationConfig, defaults: StationConfig, data: dict[str, Any]) -> StationConfig:
    """After a --mode that overrides the file: the mode's charge_mode, and its HLC keys unless
    the file sets them."""
    given = data.get("evse", {}) if isinstance(data.get("evse"), dict) else {}
    keep = {k: getattr(cfg.evse, k) for k in ("ac_hlc_enabled", "ac_hlc_use_5percent", "ac_enforce_hlc") if k in given}
    evse = attrs.evolve(cfg.evse, charge_mode=defaults.evse.charge_mode, ac_hlc_enabled=defaults.evse.ac_hlc_enabled,
                        ac_hlc_use_5percent=defaults.evse.ac_hlc_use_5percent,
                        ac_enforce_hlc=defaults.evse.ac_enforce_hlc)
    return attrs.evolve(cfg, evse=attrs.evolve(evse, **keep))


def authorization_line(cfg: StationConfig, *, data: dict[str, Any] | None, source: str | None,
                       id_token: str | None, policy_plugins: int) -> str:
    """One line: how this station's sessions get authorized, and why."""
    given = (data or {}).get("evse", {})
    where = (f"evse.disable_authentication = {str(cfg.evse.disable_authentication).lower()} in {source}"
             if isinstance(given, dict) and "disable_authentication" in given and source
             else "the simulation's default" if cfg.evse.disable_authentication
             else "evse.disable_authentication = false")
    if id_token:
        answer = ", ".join(filter(None, [
            ", ".join(f"uplink {n}" for n in sorted(cfg.uplinks)),
            f"{policy_plugins} policy plugin(s)" if policy_plugins else ""]))
        if not answer:
            return (f"authorization: id token {id_token!r} (--id-token) at plug-in, but no uplink or policy plugin "
                    "will answer it: sessions stop with authorization_timeout")
        return f"authorization: id token {id_token!r} (--id-token) at plug-in, answered by {answer}"
    if cfg.evse.disable_authentication:
        asked = (f"; uplink {', '.join(sorted(cfg.uplinks))} is not asked (set evse.disable_authentication = false)"
                 if cfg.uplinks else "")
        return f"authorization: free service, every session is authorized ({where}){asked}"
    if cfg.uplinks or policy_plugins:
        by = ", ".join([f"uplink {n}" for n in sorted(cfg.uplinks)] + ([f"{policy_plugins} policy plugin(s)"]
                                                                       if policy_plugins else []))
        return f"authorization: required ({where}); answered by {by}"
    return (f"authorization: required ({where}), but no --id-token, uplink or policy plugin will answer: "
            "sessions stop with authorization_timeout")
