"""EV role: domain values <-> EV-mode message fields (whitebeet-hci.md 5.7, 5.8). Pure functions."""
from __future__ import annotations

from typing import Any

from freev2g import link as L
from freev2g.model.enums import EVSENotification, IsolationLevel
from freev2g.model.params import DCEVSEChargeParameter

from .. import hci_enums as E
from ..codec import schedule_power

DEFAULT_CAPACITY_WH = 50_000.0
FAR_DEPARTURE_S = 100_000_000  # 5.7.3 FreeV2G default: "no departure time"


def _mac(text: str) -> bytes:
    raw = bytes.fromhex(text.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"EV MAC {text!r}: need 6 bytes for the 0xA0 EV ID")
    return raw


def ev_setup_commands(r: L.EvSessionRequest, *, parameters_only: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """7.5 step 4: 0xA0 configuration, then 0xA2 (DC) or 0xA5 (AC) for the requested mode."""
    protocols = [E.PROTOCOLS[p] for p in r.protocols if p in E.PROTOCOLS]
    if not protocols:
        raise ValueError(f"whitebeet: none of {[p.value for p in r.protocols]} is supported by the module (DIN, ISO 15118-2)")
    mode = E.lookup(E.MODES, r.mode, "energy transfer mode")
    out: list[tuple[str, dict[str, Any]]] = []
    capacity = (r.dc.ev_energy_capacity_Wh if r.dc is not None else None) or DEFAULT_CAPACITY_WH
    if not parameters_only:
        out.append(("v2g.ev.set_configuration", dict(
            ev_id=_mac(r.ev_mac), protocols=protocols[:2], payment_methods=[E.lookup(E.PAYMENTS, r.payment, "payment")],
            energy_transfer_modes=[mode], battery_capacity_Wh=capacity)))
    if r.mode.is_dc:
        d = r.dc
        if d is None:
            raise ValueError("whitebeet: a DC session request needs DC parameters")
        out.append(("v2g.ev.set_dc_parameters", dict(
            min_voltage_V=0.0, min_current_A=0.0, min_power_W=0.0, max_voltage_V=d.ev_max_voltage_V,
            max_current_A=d.ev_max_current_A, max_power_W=d.ev_max_power_W or d.ev_max_voltage_V * d.ev_max_current_A,
            soc_pct=int(round(d.status.soc_pct)), status=E.EV_ERRORS.get(d.status.error_code, 0),
            target_voltage_V=0.0, target_current_A=0.0,
            full_soc_pct=int(d.full_soc_pct if d.full_soc_pct is not None else 100),
            bulk_soc_pct=int(d.bulk_soc_pct if d.bulk_soc_pct is not None else 80),
            energy_request_Wh=d.ev_energy_request_Wh or 0.0,
            departure_time_s=d.departure_time_s if d.departure_time_s is not None else FAR_DEPARTURE_S)))
    else:
        a = r.ac
        if a is None:
            raise ValueError("whitebeet: an AC session request needs AC parameters")
        out.append(("v2g.ev.set_ac_parameters", dict(
            min_voltage_V=0.0, min_current_A=a.ev_min_current_A, min_power_W=0.0, max_voltage_V=a.ev_max_voltage_V,
            max_current_A=a.ev_max_current_A, max_power_W=a.ev_max_voltage_V * a.ev_max_current_A * 3,
            energy_request_Wh=a.e_amount_Wh,
            departure_time_s=a.departure_time_s if a.departure_time_s is not None else FAR_DEPARTURE_S)))
    return out


def _v(x) -> float | None:
    return None if x is None else x.value


def dc_evse_parameters(d) -> DCEVSEChargeParameter:
    """0xC1 -> the EVSE's DC limits."""
    return DCEVSEChargeParameter(
        max_current_A=max(0.0, d.evse_max_current_A.value), max_voltage_V=max(0.0, d.evse_max_voltage_V.value),
        max_power_W=max(0.0, d.evse_max_power_W.value), min_current_A=max(0.0, d.evse_min_current_A.value),
        min_voltage_V=max(0.0, d.evse_min_voltage_V.value), peak_current_ripple_A=max(0.0, d.peak_current_ripple_A.value),
        current_regulation_tolerance_A=_v(d.current_regulation_tolerance_A),
        energy_to_be_delivered_Wh=_v(d.energy_to_be_delivered_Wh),
        status_code=E.inverse(E.EVSE_STATUS).get(d.status, E.EVSE_STATUS_DEFAULT),
        isolation=E.inverse(E.ISOLATION).get(d.isolation, IsolationLevel.INVALID))


def dc_loop_answer(d, notification: EVSENotification, delay_s: int) -> L.DCChargeLoopAnswer:
    return L.DCChargeLoopAnswer(
        present_voltage_V=d.present_voltage_V.value, present_current_A=d.present_current_A.value,
        evse_max_current_A=d.evse_max_current_A.value, evse_max_voltage_V=d.evse_max_voltage_V.value,
        evse_max_power_W=d.evse_max_power_W.value, current_limit_achieved=d.current_limit_achieved,
        voltage_limit_achieved=d.voltage_limit_achieved, power_limit_achieved=d.power_limit_achieved,
        status_code=E.inverse(E.EVSE_STATUS).get(d.status, E.EVSE_STATUS_DEFAULT),
        notification=notification, notification_max_delay_s=delay_s)


def ac_loop_answer(d, notification: EVSENotification, delay_s: int) -> L.ACChargeLoopAnswer:
    return L.ACChargeLoopAnswer(evse_max_current_A=d.max_current_A.value, rcd_error=d.rcd_error,
                                notification=notification, notification_max_delay_s=delay_s)


def profile_entries(profile, chosen) -> list[dict[str, Any]]:
    """0xA8 entries: the EV's ChargingProfile, else the chosen tuple's entries (1..24)."""
    if profile:
        starts = [p.start_s for p in profile]
        rows = [(p.start_s, (starts[i + 1] - p.start_s) if i + 1 < len(starts) else 86_400, p.max_power_W)
                for i, p in enumerate(profile)]
    else:
        es = chosen.entries
        rows = [(e.start_s, (es[i + 1].start_s - e.start_s) if i + 1 < len(es) else (e.duration_s or 86_400), e.pmax_W)
                for i, e in enumerate(es)]
    return [{"start_s": s, "interval_s": max(0, iv), "power_W": schedule_power(p, f"0xA8 entry {i + 1}")}
            for i, (s, iv, p) in enumerate(rows[:24])]
