"""EVerest's ISO15118_ev names (seed 000 / 001) for scenario steps and the control API.

A step may be written with the interface's own command and argument names, e.g.::

    [[steps]]
    action = "set_dc_params"
    EvParameters = { max_current_limit = 200, max_voltage_limit = 500 }
    [[steps]]
    action = "update_soc"
    SoC = 42

`to_step_fields(raw)` turns such a table into freev2g's step fields (units in the names:
`max_current_limit_A`, `soc_pct`, ...); freev2g's own names keep working as they are. Giving a
value under both names is an error naming both, so a step never silently drops one.
"""
from __future__ import annotations

from typing import Any

# ISO15118_ev command -> the scenario action it runs (same name unless listed)
ACTION_ALIASES: dict[str, str] = {
    "stop_charging": "stop",
    "pause_charging": "pause",
}

# per action: interface argument -> step field
ARGUMENT_ALIASES: dict[str, dict[str, str]] = {
    "start_charging": {
        "EnergyTransferMode": "mode",
        "SelectedPaymentOption": "payment",
        "DepartureTime": "departure_time_s",
        "EAmount": "e_amount_kWh",
    },
    "update_soc": {"SoC": "soc_pct"},
}

# per action: the interface's object argument and its fields -> step fields
OBJECT_ARGUMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "set_dc_params": ("EvParameters", {  # iso15118 DcEvParameters
        "max_current_limit": "max_current_limit_A",
        "max_power_limit": "max_power_limit_W",
        "max_voltage_limit": "max_voltage_limit_V",
        "energy_capacity": "energy_capacity_Wh",
        "target_current": "target_current_A",
        "target_voltage": "target_voltage_V",
    }),
    "set_bpt_dc_params": ("EvBPTParameters", {  # iso15118 DcEvBPTParameters
        "discharge_max_current_limit": "discharge_max_current_limit_A",
        "discharge_max_power_limit": "discharge_max_power_limit_W",
        "discharge_target_current": "discharge_target_current_A",
        "discharge_minimal_soc": "discharge_minimal_soc_pct",
    }),
}

# EnergyTransferMode values of the interface that name one of freev2g's modes
MODE_ALIASES: dict[str, str] = {"DC": "DC_extended"}


class EverestNameError(ValueError):
    """A step whose EVerest-named arguments cannot be read; the message names the field."""


def canonical_action(action: str) -> str:
    return ACTION_ALIASES.get(action, action)


def to_step_fields(action: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` (a step without its action) with the interface's names replaced by freev2g's."""
    out = dict(body)
    for theirs, ours in ARGUMENT_ALIASES.get(action, {}).items():
        if theirs in out:
            if ours in out:
                raise EverestNameError(f"{theirs}: give either {theirs} or {ours}, not both")
            out[ours] = out.pop(theirs)
    if action == "start_charging" and isinstance(out.get("mode"), str):
        out["mode"] = MODE_ALIASES.get(out["mode"], out["mode"])
    if action in OBJECT_ARGUMENTS:
        name, fields = OBJECT_ARGUMENTS[action]
        if name in out:
            table = out.pop(name)
            if not isinstance(table, dict):
                raise EverestNameError(f"{name}: must be an object with {', '.join(fields)}, got {type(table).__name__}")
            unknown = sorted(set(table) - set(fields))
            if unknown:
                raise EverestNameError(f"{name}: unknown key(s) {', '.join(unknown)} (known: {', '.join(fields)})")
            for theirs, value in table.items():
                ours = fields[theirs]
                if ours in out:
                    raise EverestNameError(f"{name}.{theirs}: give either {name}.{theirs} or {ours}, not both")
                out[ours] = value
    return out
