"""Where manual rev 2.14 and the FreeV2G code disagree (whitebeet-hci.md 9): the choices.

Defaults follow the column "Used here" of section 9. Every choice that changes bytes on the
wire is a field here, so a host or emulator can be switched to the other reading.
"""
from __future__ import annotations

from attrs import frozen, field
from attrs.validators import in_


@frozen(kw_only=True)
class Dialect:
    # 9.1 / 5.9.5: 0x65 (and 0x67) order of nominal voltage and max current.
    ac_parameter_order: str = field(default="code", validator=in_(("code", "manual")))
    # 9.4 / 5.10: 0x83 fields 8-13 only for DC modes (code) or always (manual).
    mode_selected_dc_tail_always: bool = False
    # 9.12: 0x6C digest (32) and signature (64) with a u8 length prefix (FreeV2G) or fixed.
    tariff_digest_length_prefix: bool = False
    # 9.11: 0x81 PnC certificate length prefix ("u8" FreeV2G, "u16" plausible) and CA order.
    pnc_certificate_length: str = field(default="u16", validator=in_(("u8", "u16")))
    pnc_sub_ca_order_manual: bool = True  # contract, sub-CA 2, sub-CA 1
    # 9.10: 0x29/0x47 Get resistor level response: code + level (manual) or code only (code).
    resistor_level_response_has_level: bool = True


DEFAULT_DIALECT = Dialect()
