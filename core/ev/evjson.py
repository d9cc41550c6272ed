"""FreeV2G's `ev.json` accepted as an EV configuration (seed 004; whitebeet-hci.md 4.2, 5.7).

Mapping (FreeV2G key -> EvConfig field):

| ev.json | EvConfig | note |
|---|---|---|
| mac | mac | modem MAC |
| ev.evid | ev.evcc_id | 0xA0 field 1 |
| ev.protocols [0 DIN, 1 ISO] | ev.protocols | list order = priority; ISO = ISO 15118-2 |
| ev.payment_method [0 EIM, 1 Contract] | ev.payment | first entry |
| ev.energy_transfer_mode [0..5] | ev.energy_transfer_modes | 0 DC core, 1 DC extended, 2 DC combo core, 3 DC unique, 4 AC single phase, 5 AC three phase |
| ev.*_count | (checked) | must equal the list length |
| battery.capacity (Wh) | battery.capacity_Wh | |
| battery.level (Wh) | battery.start_soc_pct | level / capacity |
| battery.full_soc, bulk_soc | battery.full_soc_pct, bulk_soc_pct | |
| battery.max_current, max_voltage, max_power | dc.max_current_A, max_voltage_V, max_power_W | |
| battery.target_current, target_voltage | dc.target_current_A, target_voltage_V | |
| battery.target_voltage_delta | quirks.precharge_tolerance_V | FreeV2G starts charging once the EVSE voltage is within target +- delta |
| battery.max_current_AC, max_voltage_AC, min_current_AC | ac.max_current_A, max_voltage_V, min_current_A | 0 = not set, our default kept |
| battery.timestep (ms) | (ignored) | FreeV2G's battery integration step; our battery is the sim board's |

FreeV2G charges to full_soc; we stop at target_soc_pct = full_soc_pct.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..config import ConfigError, not_utf8_problem
from ..model.enums import EnergyTransferMode, PaymentOption, Protocol
from .config import AcLimits, BatteryConfig, DcLimits, EvConfig, EvIdentity, EvQuirks

HCI_PROTOCOLS = {0: Protocol.DIN70121, 1: Protocol.ISO15118_2}
HCI_PAYMENT = {0: PaymentOption.EXTERNAL_PAYMENT, 1: PaymentOption.CONTRACT}
HCI_ENERGY_MODES = {
    0: EnergyTransferMode.DC_CORE,
    1: EnergyTransferMode.DC_EXTENDED,
    2: EnergyTransferMode.DC_COMBO_CORE,
    3: EnergyTransferMode.DC_UNIQUE,
    4: EnergyTransferMode.AC_SINGLE_PHASE_CORE,
    5: EnergyTransferMode.AC_THREE_PHASE_CORE,
}
_IGNORED = {"timestep"}


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def number(self, table: dict, section: str, key: str, *, required: bool = False, lo: float = 0.0) -> float | None:
        if key not in table:
            if required:
                self.problems.append(f"{section}.{key}: missing")
            return None
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problems.append(f"{section}.{key}: must be a number, got {value!r}")
            return None
        if value < lo:
            self.problems.append(f"{section}.{key}: must be >= {lo:g}, got {value!r}")
            return None
        return float(value)

    def codes(self, table: dict, section: str, key: str, mapping: dict, count_key: str | None) -> list:
        raw = table.get(key)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problems.append(f"{section}.{key}: must be a list, got {raw!r}")
            return []
        out = []
        for i, code in enumerate(raw):
            if code not in mapping or isinstance(code, bool):
                self.problems.append(f"{section}.{key}[{i}]: unknown code {code!r} (known: {sorted(mapping)})")
            else:
                out.append(mapping[code])
        if count_key and count_key in table and table[count_key] != len(raw):
            self.problems.append(f"{section}.{count_key}: says {table[count_key]!r} but {key} has {len(raw)} entries")
        return out


def parse_ev_json(doc: Any, *, source: str = "<ev.json>") -> EvConfig:
    """Map a FreeV2G ev.json document onto EvConfig; every problem names its key."""
    if not isinstance(doc, dict):
        raise ConfigError(source, [f"top level must be an object, got {type(doc).__name__}"])
    r = _Reader(source)
    ev = doc.get("ev", {})
    bat = doc.get("battery", {})
    for name, table in (("ev", ev), ("battery", bat)):
        if not isinstance(table, dict):
            r.problems.append(f"{name}: must be an object")
    if r.problems:
        raise ConfigError(source, r.problems)
    unknown = sorted(set(doc) - {"mac", "ev", "battery"})
    unknown += [f"ev.{k}" for k in sorted(set(ev) - {
        "evid", "protocols", "protocol_count", "payment_method", "payment_method_count",
        "energy_transfer_mode", "energy_transfer_mode_count"})]
    unknown += [f"battery.{k}" for k in sorted(set(bat) - _IGNORED - {
        "capacity", "level", "full_soc", "bulk_soc", "max_current", "max_power", "max_voltage",
        "target_current", "target_voltage", "target_voltage_delta", "max_current_AC",
        "max_voltage_AC", "min_current_AC"})]
    r.problems += [f"{k}: unknown key" for k in unknown]

    identity = EvIdentity()
    evid = ev.get("evid", doc.get("mac"))
    if evid is not None and not isinstance(evid, str):
        r.problems.append(f"ev.evid: must be a string, got {evid!r}")
        evid = None
    protocols = r.codes(ev, "ev", "protocols", HCI_PROTOCOLS, "protocol_count")
    payments = r.codes(ev, "ev", "payment_method", HCI_PAYMENT, "payment_method_count")
    modes = r.codes(ev, "ev", "energy_transfer_mode", HCI_ENERGY_MODES, "energy_transfer_mode_count")

    capacity = r.number(bat, "battery", "capacity")
    level = r.number(bat, "battery", "level")
    full = r.number(bat, "battery", "full_soc")
    bulk = r.number(bat, "battery", "bulk_soc")
    if capacity is not None and capacity <= 0:
        r.problems.append(f"battery.capacity: must be > 0, got {capacity:g}")
    if level is not None and capacity and level > capacity:
        r.problems.append(f"battery.level: {level:g} Wh exceeds capacity {capacity:g} Wh")
    for key, val in (("full_soc", full), ("bulk_soc", bulk)):
        if val is not None and val > 100:
            r.problems.append(f"battery.{key}: must be within 0..100 %, got {val:g}")
    dc_vals = {k: r.number(bat, "battery", k) for k in (
        "max_current", "max_voltage", "max_power", "target_current", "target_voltage", "target_voltage_delta")}
    ac_vals = {k: r.number(bat, "battery", k) for k in ("max_current_AC", "max_voltage_AC", "min_current_AC")}
    if r.problems:
        raise ConfigError(source, r.problems)

    battery = BatteryConfig()
    capacity_Wh = capacity if capacity else battery.capacity_Wh
    full_pct = full if full is not None else battery.full_soc_pct
    start_pct = 100.0 * level / capacity_Wh if level is not None else battery.start_soc_pct
    try:
        battery = BatteryConfig(
            capacity_Wh=capacity_Wh,
            start_soc_pct=start_pct,
            target_soc_pct=full_pct,
            full_soc_pct=full_pct,
            bulk_soc_pct=bulk if bulk is not None else min(battery.bulk_soc_pct, full_pct),
            min_soc_pct=min(battery.min_soc_pct, full_pct),
        )
        dc_default = DcLimits()
        dc = DcLimits(
            max_voltage_V=dc_vals["max_voltage"] or dc_default.max_voltage_V,
            max_current_A=dc_vals["max_current"] or dc_default.max_current_A,
            max_power_W=dc_vals["max_power"] or dc_default.max_power_W,
            target_voltage_V=dc_vals["target_voltage"],
            target_current_A=dc_vals["target_current"],
        )
        ac_default = AcLimits()
        phases = 1 if modes and all(m is EnergyTransferMode.AC_SINGLE_PHASE_CORE for m in modes if m.is_ac) and any(m.is_ac for m in modes) else 3
        ac = AcLimits(
            max_voltage_V=ac_vals["max_voltage_AC"] or ac_default.max_voltage_V,
            max_current_A=ac_vals["max_current_AC"] or ac_default.max_current_A,
            min_current_A=ac_vals["min_current_AC"] if ac_vals["min_current_AC"] else ac_default.min_current_A,
            phases=phases,
        )
        quirks = EvQuirks(precharge_tolerance_V=dc_vals["target_voltage_delta"] if dc_vals["target_voltage_delta"] is not None else EvQuirks().precharge_tolerance_V)
        return EvConfig(
            ev=EvIdentity(
                evcc_id=evid or identity.evcc_id,
                protocols=protocols or identity.protocols,
                payment=payments[0] if payments else identity.payment,
                energy_transfer_modes=modes or identity.energy_transfer_modes,
            ),
            battery=battery,
            dc=dc,
            ac=ac,
            quirks=quirks,
            mac=doc.get("mac") if isinstance(doc.get("mac"), str) else None,
        )
    except ValueError as exc:
        raise ConfigError(source, [str(exc)]) from exc


def load_ev_json(path: str | Path) -> EvConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), [not_utf8_problem(p, exc)]) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(str(p), [f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None
    return parse_ev_json(doc, source=str(p))
