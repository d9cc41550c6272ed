"""EVSE-role emulator: host-set values -> what the SECC offers, and EV values -> 0x83 fields
(whitebeet-hci.md 5.9.2-5.9.6, 5.10). Pure functions."""
from __future__ import annotations

from freev2g import link as L
from freev2g.model.enums import IsolationLevel
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter

from .. import hci_enums as E


def dc_limits(d, u) -> DCEVSEChargeParameter:
    """EVSE DC limits the SECC offers: 0x62 values, refined by the latest 0x63 (5.9.2, 5.9.3)."""
    if d is None:
        return DCEVSEChargeParameter(max_current_A=0, max_voltage_V=0, max_power_W=0)
    pick = lambda upd, base: (upd if upd is not None else base).value  # noqa: E731
    return DCEVSEChargeParameter(
        max_current_A=pick(u and u.max_current_A, d.max_current_A),
        max_voltage_V=pick(u and u.max_voltage_V, d.max_voltage_V),
        max_power_W=pick(u and u.max_power_W, d.max_power_W),
        min_current_A=d.min_current_A.value, min_voltage_V=d.min_voltage_V.value,
        peak_current_ripple_A=d.peak_current_ripple_A.value,
        current_regulation_tolerance_A=None if d.current_regulation_tolerance_A is None else d.current_regulation_tolerance_A.value,
        status_code=E.inverse(E.EVSE_STATUS).get((u or d).status, E.EVSE_STATUS_DEFAULT),
        isolation=E.inverse(E.ISOLATION).get((u or d).isolation_level, IsolationLevel.INVALID),
    )

def ac_limits(a, u) -> ACEVSEChargeParameter:
    """EVSE AC limits: 0x65 values, refined by the latest 0x66 (5.9.5, 5.9.6)."""
    if a is None:
        return ACEVSEChargeParameter(nominal_voltage_V=230.0, max_current_A=0.0)
    current = u.max_current_A if (u is not None and u.max_current_A is not None) else a.max_current_A
    return ACEVSEChargeParameter(nominal_voltage_V=a.nominal_voltage_V.value, max_current_A=current.value,
                                 rcd_error=bool(u.rcd_error if u is not None else a.rcd_error))


def is_hex(s: str) -> bool:
    t = s.replace(":", "")
    return len(t) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in t)


def mode_selected_fields(e: L.ChargeParameterRequest) -> dict:
    mode = E.MODES[e.mode]
    if e.dc is not None:
        d = e.dc
        return dict(
            departure_time_s=d.departure_time_s, energy_request_Wh=d.ev_energy_request_Wh,
            ev_max_voltage_V=d.ev_max_voltage_V, ev_min_current_A=None, ev_max_current_A=d.ev_max_current_A,
            ev_max_power_W=d.ev_max_power_W, mode=mode, energy_capacity_Wh=d.ev_energy_capacity_Wh or 0,
            full_soc_pct=None if d.full_soc_pct is None else int(d.full_soc_pct),
            bulk_soc_pct=None if d.bulk_soc_pct is None else int(d.bulk_soc_pct),
            ready=d.status.ev_ready, error_code=E.EV_ERRORS.get(d.status.error_code, 0), soc_pct=int(d.status.soc_pct),
        )
    a = e.ac
    return dict(departure_time_s=a.departure_time_s, energy_request_Wh=a.e_amount_Wh, ev_max_voltage_V=a.ev_max_voltage_V,
                ev_min_current_A=a.ev_min_current_A, ev_max_current_A=a.ev_max_current_A, ev_max_power_W=None, mode=mode)
