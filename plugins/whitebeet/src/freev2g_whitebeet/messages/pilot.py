"""Control Pilot (0x29) and SLAC (0x28) modules, V2G common (whitebeet-hci.md 3.6, 3.7, 5.3-5.5)."""
from __future__ import annotations

from ..codec import Bytes, u16, u32, u8
from .basic import cmd, note
from .dialect import Dialect
from .spec import MessageSpec, Module

CP, SLAC, V2G = Module.CP, Module.SLAC, Module.V2G


def pilot_specs(dialect: Dialect) -> list[MessageSpec]:
    level = (("level", u8),) if dialect.resistor_level_response_has_level else ()
    return [
        cmd(CP, 0x40, "cp.set_mode", (("mode", u8),)),
        cmd(CP, 0x41, "cp.get_mode", result=(("mode", u8),)),
        cmd(CP, 0x42, "cp.start"),
        cmd(CP, 0x43, "cp.stop"),
        cmd(CP, 0x44, "cp.set_duty_cycle", (("duty_permille", u16),), role="evse"),
        cmd(CP, 0x45, "cp.get_duty_cycle", result=(("duty_permille", u16),)),
        cmd(CP, 0x46, "cp.set_resistor_level", (("level", u8),), role="ev"),
        cmd(CP, 0x47, "cp.get_resistor_level", result=level, role="ev"),
        cmd(CP, 0x48, "cp.get_state", result=(("state", u8),)),
        cmd(CP, 0x49, "cp.set_duty_threshold", (("threshold_permille", u16),), role="ev"),
        cmd(CP, 0x4A, "cp.get_duty_threshold", result=(("threshold_permille", u16),), role="ev"),
        cmd(CP, 0x4B, "cp.get_ad_value", result=(("raw", u32),), role="evse"),
        note(CP, 0x80, "cp.duty_cycle_changed", (("duty_permille", u16),), role="ev"),
        note(CP, 0x81, "cp.state_changed", (("state", u8),)),
        cmd(SLAC, 0x40, "slac.set_interface", (("interface", u8),)),
        cmd(SLAC, 0x41, "slac.get_interface", result=(("interface", u8),)),
        cmd(SLAC, 0x42, "slac.start", (("mode", u8),)),
        cmd(SLAC, 0x43, "slac.stop"),
        cmd(SLAC, 0x44, "slac.start_matching"),
        cmd(SLAC, 0x45, "slac.get_state", result=(("state", u8),)),
        cmd(SLAC, 0x46, "slac.set_attn_rx", (("values", Bytes(58)),), role="evse"),
        cmd(SLAC, 0x47, "slac.get_attn_rx", result=(("values", Bytes(58)),), role="evse"),
        cmd(SLAC, 0x48, "slac.set_attn_tx_ref", (("values", Bytes(58)),), role="ev"),
        cmd(SLAC, 0x49, "slac.get_attn_tx_ref", result=(("values", Bytes(58)),), role="ev"),
        cmd(SLAC, 0x4A, "slac.set_bcb_toggle_result", (("toggles", u8),), role="evse"),
        cmd(SLAC, 0x4B, "slac.set_validation", (("enabled", u8),)),
        cmd(SLAC, 0x4C, "slac.get_validation", result=(("enabled", u8),)),
        cmd(SLAC, 0x4D, "slac.join_network", (("nid", Bytes(7)), ("nmk", Bytes(16)))),
        note(SLAC, 0x80, "slac.matching_successful"),
        note(SLAC, 0x81, "slac.matching_failed"),
        note(SLAC, 0x82, "slac.bcb_toggling_started", (("window_ms", u16),), role="evse"),
        note(SLAC, 0x83, "slac.bcb_toggling_finished", role="evse"),
        note(SLAC, 0x84, "slac.join_status", (("success", u8),)),
        cmd(V2G, 0x40, "v2g.set_mode", (("mode", u8),)),
        cmd(V2G, 0x41, "v2g.get_mode", result=(("mode", u8),)),
        cmd(V2G, 0x42, "v2g.start_deprecated"),
        cmd(V2G, 0x43, "v2g.stop_deprecated"),
    ]
