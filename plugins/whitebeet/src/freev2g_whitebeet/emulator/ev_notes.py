"""EV-role emulator: EVSE values as the EV module reports them (0xC1, 0xC2, 0xC3; 5.8). Pure."""
from __future__ import annotations

from typing import Any

from freev2g import link as L
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter

from .. import hci_enums as E
from ..codec import schedule_power


def empty_view() -> dict[str, Any]:
    """0xC1 fields before the EVSE said anything."""
    return dict(evse_min_voltage_V=0.0, evse_min_current_A=0.0, evse_min_power_W=0.0, evse_max_voltage_V=0.0,
                evse_max_current_A=0.0, evse_max_power_W=0.0, present_voltage_V=0.0, present_current_A=0.0,
                status=E.EVSE_STATUS[E.EVSE_STATUS_DEFAULT], isolation=None, voltage_limit_achieved=False,
                current_limit_achieved=False, power_limit_achieved=False, peak_current_ripple_A=0.0,
                current_regulation_tolerance_A=None, energy_to_be_delivered_Wh=None)


def update_view(view: dict[str, Any], source: Any = None, *, present_V: float | None = None,
                present_A: float | None = None, isolation=None) -> dict[str, Any]:
    """A new 0xC1 field dict: `view` updated from an EVSE parameter set or a loop answer."""
    v = dict(view)
    if isinstance(source, DCEVSEChargeParameter):
        v.update(evse_min_voltage_V=source.min_voltage_V, evse_min_current_A=source.min_current_A,
                 evse_max_voltage_V=source.max_voltage_V, evse_max_current_A=source.max_current_A,
                 evse_max_power_W=source.max_power_W, status=E.EVSE_STATUS[source.status_code],
                 peak_current_ripple_A=source.peak_current_ripple_A,
                 current_regulation_tolerance_A=source.current_regulation_tolerance_A,
                 energy_to_be_delivered_Wh=source.energy_to_be_delivered_Wh)
        isolation = source.isolation if isolation is None else isolation
    elif isinstance(source, L.DCChargeLoopAnswer):
        for key, value in (("evse_max_voltage_V", source.evse_max_voltage_V), ("evse_max_current_A", source.evse_max_current_A),
                           ("evse_max_power_W", source.evse_max_power_W)):
            if value is not None:
                v[key] = value
        v.update(present_voltage_V=source.present_voltage_V, present_current_A=source.present_current_A,
                 status=E.EVSE_STATUS[source.status_code], voltage_limit_achieved=source.voltage_limit_achieved,
                 current_limit_achieved=source.current_limit_achieved, power_limit_achieved=source.power_limit_achieved)
    if present_V is not None:
        v["present_voltage_V"] = present_V
    if present_A is not None:
        v["present_current_A"] = present_A
    if isolation is not None:
        v["isolation"] = E.ISOLATION[isolation]
    return v


def ac_changed(ac: ACEVSEChargeParameter) -> dict[str, Any]:
    return dict(nominal_voltage_V=ac.nominal_voltage_V, max_current_A=ac.max_current_A, rcd_error=ac.rcd_error)


def schedule_tuples(schedules, max_tuples: int = 1, host_power_max_W: float | None = None) -> list[dict[str, Any]]:
    """0xC3 tuples (1..3 on the wire). 8.4 #4: FreeV2G parses exactly one tuple and needs >= 2
    entries, so by default only the first tuple goes out and a one-entry tuple is split in two.
    Powers go out with the exponent the field allows (codec.schedule_power); `host_power_max_W`
    caps them for a host that echoes them in 0xA8 as a bare 16-bit integer (FreeV2G: above
    65 535 W it fails with "int too big to convert" and sends no 0xA8; above 32 767 W the module
    reads the bytes as negative), with a log line per capped entry."""
    out = []
    for t in (schedules.tuples if schedules is not None else ())[:max(1, min(3, max_tuples))]:
        es = list(t.entries)
        rows = []
        for i, e in enumerate(es):
            nxt = es[i + 1].start_s if i + 1 < len(es) else None
            rows.append([e.start_s, (nxt - e.start_s) if nxt is not None else (e.duration_s or 86_400), e.pmax_W])
        if len(rows) == 1:
            s, iv, p = rows[0]
            rows = [[s, max(1, iv // 2), p], [s + max(1, iv // 2), iv - max(1, iv // 2), p]]
        out.append({"tuple_id": t.tuple_id, "entries": [
            {"start_s": s, "interval_s": iv,
             "power_W": schedule_power(p, f"0xC3 tuple {t.tuple_id} entry {i + 1}", limit_W=host_power_max_W)}
            for i, (s, iv, p) in enumerate(rows)]})
    if not out:
        out = [{"tuple_id": 1, "entries": [{"start_s": 0, "interval_s": 43_200, "power_W": 0.0},
                                           {"start_s": 43_200, "interval_s": 43_200, "power_W": 0.0}]}]
    return out
