"""V2G module 0x27, EVSE mode: commands 0x60-0x76 and notifications 0x80-0x91
(whitebeet-hci.md 3.11, 5.9, 5.10)."""
from __future__ import annotations

from ..codec import (
    Bytes, Exp, Opt, Record, When, bin16, bin8, boolean, list16, list8, s16, s64, s8, str8, u16, u32, u64, u8,
)
from .basic import cmd, note
from .dialect import Dialect
from .spec import MessageSpec, Module

V2G = Module.V2G
V, A, W, WH, S = Exp("V"), Exp("A"), Exp("W"), Exp("Wh"), Exp("s")

CONFIG = (
    ("evse_id_din", str8(32)),
    ("evse_id_iso", str8(38)),
    ("protocols", list8(u8, 1, 2)),
    ("payment_methods", list8(u8, 1, 2)),
    ("energy_transfer_modes", list8(u8, 1, 6)),
    ("certificate_installation", boolean),
    ("certificate_update", boolean),
)
DC_PARAMS = (
    ("isolation_level", u8),
    ("min_voltage_V", V),
    ("min_current_A", A),
    ("max_voltage_V", V),
    ("max_current_A", A),
    ("max_power_W", W),
    ("current_regulation_tolerance_A", Opt(A)),
    ("peak_current_ripple_A", A),
    ("status", u8),
)
SDP = (
    ("allow_tcp", boolean),
    ("tcp_port", When(lambda v: bool(v.get("allow_tcp")), u16, "allow_tcp is true")),
    ("allow_tls", boolean),
    ("tls_port", When(lambda v: bool(v.get("allow_tls")), u16, "allow_tls is true")),
)
SCHEDULE_ENTRY = Record("ScheduleEntry", (("start_s", u32), ("interval_s", u32), ("power_W", W)))
SCHEDULE_TUPLE = Record("ScheduleTuple", (("tuple_id", s16), ("entries", list16(SCHEDULE_ENTRY, 1, 1024))))
COST = Record("Cost", (("kind", u8), ("amount", u32), ("multiplier", s8)))
CONSUMPTION_COST = Record("ConsumptionCost", (("start_value", Exp()), ("costs", list8(COST, 1, 3))))
TARIFF_ENTRY = Record(
    "TariffEntry",
    (("start_s", u32), ("duration_s", u32), ("price_level", u8), ("consumption_costs", list8(CONSUMPTION_COST, 0, 3))),
)
PROFILE_ENTRY = Record("ProfileEntry", (("start_s", u32), ("power_W", W)))
_DC = lambda mode_field: (lambda v: v.get(mode_field) is not None and v[mode_field] <= 3)  # noqa: E731


def _is_pnc(v) -> bool:
    return v.get("method") == 1


def evse_specs(d: Dialect) -> list[MessageSpec]:
    digest = bin8(32) if d.tariff_digest_length_prefix else Bytes(32)
    signature = bin8(64) if d.tariff_digest_length_prefix else Bytes(64)
    tariff = Record(
        "SalesTariff",
        (
            ("tariff_id", u8),
            ("description", str8(32)),
            ("price_levels", u8),
            ("entries", list16(TARIFF_ENTRY, 1, 20)),
            ("signature_id", str8(254)),
            ("digest", digest),
        ),
    )
    ac = (("rcd_error", boolean), ("max_current_A", A), ("nominal_voltage_V", V))
    if d.ac_parameter_order == "manual":
        ac = (("rcd_error", boolean), ("nominal_voltage_V", V), ("max_current_A", A))
    cert = bin16(800) if d.pnc_certificate_length == "u16" else bin8()
    cas = (("sub_ca_2", When(_is_pnc, cert)), ("sub_ca_1", When(_is_pnc, cert)))
    if not d.pnc_sub_ca_order_manual:
        cas = cas[::-1]
    dc_tail = (lambda v: True) if d.mode_selected_dc_tail_always else _DC("mode")
    why = "selected mode is DC"
    return [
        cmd(V2G, 0x60, "v2g.evse.set_configuration", CONFIG, role="evse"),
        cmd(V2G, 0x61, "v2g.evse.get_configuration", result=CONFIG, role="evse"),
        cmd(V2G, 0x62, "v2g.evse.set_dc_parameters", DC_PARAMS, role="evse"),
        cmd(
            V2G, 0x63, "v2g.evse.update_dc_parameters",
            (
                ("isolation_level", u8),
                ("present_voltage_V", V),
                ("present_current_A", A),
                ("max_voltage_V", Opt(V)),
                ("max_current_A", Opt(A)),
                ("max_power_W", Opt(W)),
                ("status", u8),
            ),
            role="evse",
        ),
        cmd(
            V2G, 0x64, "v2g.evse.get_dc_parameters",
            result=DC_PARAMS[:7]
            + (
                ("peak_current_ripple_A", A),
                ("present_voltage_V", Opt(V)),
                ("present_current_A", Opt(A)),
                ("status", u8),
            ),
            role="evse",
        ),
        cmd(V2G, 0x65, "v2g.evse.set_ac_parameters", ac, role="evse"),
        cmd(V2G, 0x66, "v2g.evse.update_ac_parameters", (("rcd_error", boolean), ("max_current_A", Opt(A))), role="evse"),
        cmd(V2G, 0x67, "v2g.evse.get_ac_parameters", result=ac, role="evse"),
        cmd(V2G, 0x68, "v2g.evse.set_sdp_configuration", SDP, role="evse"),
        cmd(V2G, 0x69, "v2g.evse.get_sdp_configuration", result=SDP, role="evse"),
        cmd(V2G, 0x6A, "v2g.evse.start_listen", role="evse"),
        cmd(V2G, 0x6B, "v2g.evse.set_authorization_status", (("status", u8),), role="evse"),
        cmd(
            V2G, 0x6C, "v2g.evse.set_schedules",
            (
                ("result", u8),
                ("tuples", list8(SCHEDULE_TUPLE, 1, 3)),
                ("energy_to_be_delivered_Wh", Opt(WH)),
                ("tariffs", list8(tariff, 0, 3)),
                ("signature", When(lambda v: bool(v.get("tariffs")), signature, "sales tariffs are present")),
            ),
            role="evse",
        ),
        cmd(V2G, 0x6D, "v2g.evse.set_cable_check_finished", (("status", u8),), role="evse"),
        cmd(V2G, 0x6E, "v2g.evse.start_charging", role="evse"),
        cmd(V2G, 0x6F, "v2g.evse.stop_charging", role="evse"),
        cmd(V2G, 0x70, "v2g.evse.stop_listen", role="evse"),
        cmd(V2G, 0x73, "v2g.evse.set_certificate_response", (("status", u8), ("exi", bin16(6000))), role="evse"),
        cmd(
            V2G, 0x74, "v2g.evse.set_meter_receipt_request",
            (
                ("meter_id", str8(32)),
                ("reading_Wh", Opt(u64)),
                ("signature", bin8(64)),
                ("status", Opt(s16)),
                ("timestamp_s", Opt(s64)),
            ),
            role="evse",
        ),
        cmd(V2G, 0x75, "v2g.evse.send_notification", (("renegotiation", boolean), ("timeout_s", u16)), role="evse"),
        cmd(V2G, 0x76, "v2g.evse.set_session_parameter_timeout", (("timeout_ms", u16),), role="evse"),
        note(
            V2G, 0x80, "v2g.evse.session_started",
            (("protocol", u8), ("session_id", Bytes(8)), ("evcc_id", bin8(20))), role="evse",
        ),
        note(
            V2G, 0x81, "v2g.evse.payment_selected",
            (("method", u8), ("contract_certificate", When(_is_pnc, cert)))
            + cas
            + (("emaid", When(_is_pnc, str8(15))),),
            role="evse",
        ),
        note(V2G, 0x82, "v2g.evse.authorization_requested", (("timeout_ms", u32),), role="evse"),
        note(
            V2G, 0x83, "v2g.evse.energy_transfer_mode_selected",
            (
                ("departure_time_s", Opt(u32)),
                ("energy_request_Wh", Opt(WH)),
                ("ev_max_voltage_V", V),
                ("ev_min_current_A", Opt(A)),
                ("ev_max_current_A", A),
                ("ev_max_power_W", Opt(W)),
                ("mode", u8),
                ("energy_capacity_Wh", When(dc_tail, WH, why)),
                ("full_soc_pct", When(dc_tail, Opt(u8), why)),
                ("bulk_soc_pct", When(dc_tail, Opt(u8), why)),
                ("ready", When(dc_tail, boolean, why)),
                ("error_code", When(dc_tail, u8, why)),
                ("soc_pct", When(dc_tail, u8, why)),
            ),
            role="evse",
        ),
        note(V2G, 0x84, "v2g.evse.schedules_requested", (("timeout_ms", u32), ("max_entries", u16)), role="evse"),
        note(
            V2G, 0x85, "v2g.evse.dc_parameters_changed",
            (
                ("ev_max_voltage_V", V),
                ("ev_max_current_A", A),
                ("ev_max_power_W", Opt(W)),
                ("ready", boolean),
                ("error_code", u8),
                ("soc_pct", u8),
                ("target_voltage_V", V),
                ("target_current_A", A),
                ("full_soc_pct", Opt(u8)),
                ("bulk_soc_pct", Opt(u8)),
                ("charging_complete", boolean),
                ("bulk_charging_complete", Opt(boolean)),
                ("remaining_time_to_full_soc_s", Opt(S)),
                ("remaining_time_to_bulk_soc_s", Opt(S)),
            ),
            role="evse",
        ),
        note(
            V2G, 0x86, "v2g.evse.ac_parameters_changed",
            (("ev_max_voltage_V", V), ("ev_min_current_A", A), ("ev_max_current_A", A), ("energy_request_Wh", WH)),
            role="evse",
        ),
        note(V2G, 0x87, "v2g.evse.cable_check_requested", (("timeout_ms", u32),), role="evse"),
        note(V2G, 0x88, "v2g.evse.pre_charge_started", role="evse"),
        note(
            V2G, 0x89, "v2g.evse.start_charging_requested",
            (("timeout_ms", u32), ("tuple_id", s16), ("profile", list8(PROFILE_ENTRY, 0, 24))),  # 0: the EV sent no ChargingProfile
            role="evse",
        ),
        note(V2G, 0x8A, "v2g.evse.stop_charging_requested", (("timeout_ms", u32), ("renegotiation", boolean)), role="evse"),
        note(V2G, 0x8B, "v2g.evse.welding_detection_started", role="evse"),
        note(V2G, 0x8C, "v2g.evse.session_stopped", (("closure", u8),), role="evse"),
        note(V2G, 0x8E, "v2g.evse.session_error", (("code", u8),), role="evse"),
        note(V2G, 0x8F, "v2g.evse.certificate_installation_requested", (("timeout_ms", u32), ("exi", bin16(6000))), role="evse"),
        note(V2G, 0x90, "v2g.evse.certificate_update_requested", (("timeout_ms", u32), ("exi", bin16(6000))), role="evse"),
        note(V2G, 0x91, "v2g.evse.metering_receipt_status", (("verified", boolean),), role="evse"),
    ]
