"""V2G module 0x27, EV mode: commands 0xA0-0xAE and notifications 0xC0-0xCD
(whitebeet-hci.md 3.10, 5.7, 5.8)."""
from __future__ import annotations

from ..codec import Bytes, Exp, Opt, Record, boolean, list8, s16, str8, u16, u32, u8
from .basic import cmd, note
from .spec import MessageSpec, Module
from .v2g_evse import SCHEDULE_TUPLE

V2G = Module.V2G
V, A, W, WH = Exp("V"), Exp("A"), Exp("W"), Exp("Wh")

EV_CONFIG = (
    ("ev_id", Bytes(6)),
    ("protocols", list8(u8, 1, 2)),
    ("payment_methods", list8(u8, 1, 1)),
    ("energy_transfer_modes", list8(u8, 1, 6)),
    ("battery_capacity_Wh", WH),
)
DC_UPDATE = (
    ("min_voltage_V", V),
    ("min_current_A", A),
    ("min_power_W", W),
    ("max_voltage_V", V),
    ("max_current_A", A),
    ("max_power_W", W),
    ("soc_pct", u8),
    ("status", u8),
    ("target_voltage_V", V),
    ("target_current_A", A),
)
DC_SET = DC_UPDATE + (
    ("full_soc_pct", u8),
    ("bulk_soc_pct", u8),
    ("energy_request_Wh", WH),
    ("departure_time_s", u32),
)
AC_UPDATE = (
    ("min_voltage_V", V),
    ("min_current_A", A),
    ("min_power_W", W),
    ("max_voltage_V", V),
    ("max_current_A", A),
    ("max_power_W", W),
)
AC_SET = AC_UPDATE + (("energy_request_Wh", WH), ("departure_time_s", u32))
EV_PROFILE_ENTRY = Record("EvProfileEntry", (("start_s", u32), ("interval_s", u32), ("power_W", W)))


def ev_specs() -> list[MessageSpec]:
    return [
        cmd(V2G, 0xA0, "v2g.ev.set_configuration", EV_CONFIG, role="ev"),
        cmd(V2G, 0xA1, "v2g.ev.get_configuration", result=EV_CONFIG, role="ev"),
        cmd(V2G, 0xA2, "v2g.ev.set_dc_parameters", DC_SET, role="ev"),
        cmd(V2G, 0xA3, "v2g.ev.update_dc_parameters", DC_UPDATE, role="ev"),
        cmd(V2G, 0xA4, "v2g.ev.get_dc_parameters", result=DC_SET, role="ev"),
        cmd(V2G, 0xA5, "v2g.ev.set_ac_parameters", AC_SET, role="ev"),
        cmd(V2G, 0xA6, "v2g.ev.update_ac_parameters", AC_UPDATE, role="ev"),
        cmd(V2G, 0xA7, "v2g.ev.get_ac_parameters", result=AC_SET, role="ev"),
        cmd(
            V2G, 0xA8, "v2g.ev.set_charging_profile",
            (("tuple_id", s16), ("entries", list8(EV_PROFILE_ENTRY, 1, 24))), role="ev",
        ),
        cmd(V2G, 0xA9, "v2g.ev.start_session", role="ev"),
        cmd(V2G, 0xAA, "v2g.ev.start_cable_check", role="ev"),
        cmd(V2G, 0xAB, "v2g.ev.start_pre_charging", role="ev"),
        cmd(V2G, 0xAC, "v2g.ev.start_charging", role="ev"),
        cmd(V2G, 0xAD, "v2g.ev.stop_charging", (("renegotiation", boolean),), role="ev"),
        cmd(V2G, 0xAE, "v2g.ev.stop_session", role="ev"),
        note(
            V2G, 0xC0, "v2g.ev.session_started",
            (
                ("protocol", u8),
                ("session_id", Bytes(8)),
                ("evse_id", str8(37)),
                ("payment_method", u8),
                ("mode", u8),
            ),
            role="ev",
        ),
        note(
            V2G, 0xC1, "v2g.ev.dc_parameters_changed",
            (
                ("evse_min_voltage_V", V),
                ("evse_min_current_A", A),
                ("evse_min_power_W", W),
                ("evse_max_voltage_V", V),
                ("evse_max_current_A", A),
                ("evse_max_power_W", W),
                ("present_voltage_V", V),
                ("present_current_A", A),
                ("status", u8),
                ("isolation", Opt(u8)),
                ("voltage_limit_achieved", boolean),
                ("current_limit_achieved", boolean),
                ("power_limit_achieved", boolean),
                ("peak_current_ripple_A", A),
                ("current_regulation_tolerance_A", Opt(A)),
                ("energy_to_be_delivered_Wh", Opt(WH)),
            ),
            role="ev",
        ),
        note(
            V2G, 0xC2, "v2g.ev.ac_parameters_changed",
            (("nominal_voltage_V", V), ("max_current_A", A), ("rcd_error", boolean)), role="ev",
        ),
        note(V2G, 0xC3, "v2g.ev.schedule_received", (("tuples", list8(SCHEDULE_TUPLE, 1, 3)),), role="ev"),
        note(V2G, 0xC4, "v2g.ev.cable_check_ready", role="ev"),
        note(V2G, 0xC5, "v2g.ev.cable_check_finished", role="ev"),
        note(V2G, 0xC6, "v2g.ev.pre_charging_ready", role="ev"),
        note(V2G, 0xC7, "v2g.ev.charging_ready", role="ev"),
        note(V2G, 0xC8, "v2g.ev.charging_started", role="ev"),
        note(V2G, 0xC9, "v2g.ev.charging_stopped", role="ev"),
        note(V2G, 0xCA, "v2g.ev.post_charging_ready", role="ev"),
        note(V2G, 0xCB, "v2g.ev.session_stopped", role="ev"),
        note(V2G, 0xCC, "v2g.ev.notification_received", (("notification_type", u8), ("max_delay_s", u16)), role="ev"),
        note(V2G, 0xCD, "v2g.ev.session_error", (("code", u8),), role="ev"),
    ]
