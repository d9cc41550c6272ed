"""Link options of the "virtual" link: protocols, medium, timeouts and SLAC durations.

Timeout defaults are charging-domain.md 4.1 (per message) and 4.2 (sequence/loop timers);
SLAC timers 2.3, SDP 2.4. Values the fact sheet tags [verify] are ordinary options too:
DIN PowerDelivery 2 s, -20 loop timeout 0.5 s, -20 PreCharge 10 s, SECC Ongoing 55 s.
"""
from __future__ import annotations

from typing import Any

import attrs
from attrs import field, frozen

from freev2g.model.enums import Protocol


class LinkOptionsError(ValueError):
    """A bad link option; the message names the key and the value."""


@frozen(kw_only=True)
class Timeouts:
    # EV side (V2G_EVCC_*), seconds
    ev_msg_s: float = 2.0  # most requests
    ev_msg_long_s: float = 5.0  # ServiceDetail, PaymentDetails, CertificateInstallation
    ev_power_delivery_s: float | None = None  # None: 5 s ISO -2, 2 s DIN and -20 [verify]
    ev_dc_loop_s: float | None = None  # None: 0.25 s DIN/-2, 0.5 s -20 [verify]
    ev_ac_loop_s: float | None = None  # None: 2 s -2, 0.5 s -20 [verify]
    ev_cable_check_s: float = 40.0
    ev_precharge_s: float | None = None  # None: 7 s DIN/-2, 10 s -20 [verify]
    ev_ongoing_s: float = 60.0
    ev_communication_setup_s: float = 20.0
    # SECC side
    secc_sequence_s: float = 60.0
    secc_perf_s: float = 1.5
    secc_perf_long_s: float = 4.5  # PowerDelivery, ServiceDetail, PaymentDetails
    secc_dc_loop_perf_s: float = 0.025
    secc_ongoing_perf_s: float = 55.0  # [verify]
    secc_cable_check_perf_s: float = 38.0
    secc_precharge_perf_s: float = 5.0
    secc_app_deadline: bool = True  # False: wait for the application as long as it takes
    # A charge-loop answer the application gives late is replaced by its previous answer while
    # that is at most this old (charging-domain.md 4 and 10: a missed performance time is not
    # detected locally; answer from cached measurements); 0 fails at once.
    secc_stale_loop_answer_s: float = 0.5
    # SDP
    sdp_retry_s: float = 0.25
    sdp_max_requests: int = 50

    def ev_power_delivery(self, p: Protocol) -> float:
        return self.ev_power_delivery_s or (5.0 if p is Protocol.ISO15118_2 else 2.0)

    def ev_dc_loop(self, p: Protocol) -> float:
        return self.ev_dc_loop_s or (0.5 if p is Protocol.ISO15118_20 else 0.25)

    def ev_ac_loop(self, p: Protocol) -> float:
        return self.ev_ac_loop_s or (0.5 if p is Protocol.ISO15118_20 else 2.0)

    def ev_precharge(self, p: Protocol) -> float:
        return self.ev_precharge_s or (10.0 if p is Protocol.ISO15118_20 else 7.0)


@frozen(kw_only=True)
class SlacTimings:
    """ISO 15118-3 (2.3). `sounding_s` and `join_s` are the simulated durations."""

    evse_slac_init_s: float = 40.0  # TT_EVSE_SLAC_init (20..50 s; EVerest 40 s)
    match_sequence_s: float = 0.4  # TT_match_sequence
    match_response_s: float = 0.2  # TT_match_response
    evse_match_session_s: float = 10.0  # TT_EVSE_match_session
    ev_match_retry: int = 2  # C_EV_match_retry
    matching_rate_s: float = 0.4  # TT_matching_rate (wait before a retry)
    sounding_s: float = 0.6  # START_ATTEN_CHAR + 10 M-SOUNDs (TT_EVSE_match_MNBC)
    join_s: float = 0.8  # modem joins the AVLN after CM_SLAC_MATCH.CNF
    cp_poll_s: float = 0.1  # how often the EV looks at the duty cycle
    attenuation_dB: float = 20.0


def _protocols(value: Any) -> tuple[Protocol, ...]:
    if isinstance(value, (str, Protocol)):
        value = [value]
    try:
        out = tuple(Protocol(v) for v in value)
    except (TypeError, ValueError):
        raise LinkOptionsError(
            f"link option protocols: expected a list of {[p.value for p in Protocol]}, got {value!r}"
        ) from None
    if not out:
        raise LinkOptionsError("link option protocols: must name at least one protocol")
    return out


_NUMBERS = ("loop_interval_s", "ac_loop_interval_s", "ac_nominal_voltage_V")


@frozen(kw_only=True)
class LinkOptions:
    protocols: tuple[Protocol, ...] = field(
        default=(Protocol.ISO15118_20, Protocol.ISO15118_2, Protocol.DIN70121), converter=_protocols
    )
    medium: str = "inprocess"  # "inprocess" | "socket"
    path: str | None = None  # unix socket path (medium "socket")
    timeouts: Timeouts = field(factory=Timeouts)
    slac: SlacTimings = field(factory=SlacTimings)
    loop_interval_s: float = 0.1  # EV: pause between two charge-loop requests (DC)
    ac_loop_interval_s: float = 1.0
    # -20 AC carries powers only: the EV converts its current limits with this voltage, and the
    # SECC uses it at ChargeParameterDiscovery, before the EVSE application has told its own
    # nominal voltage (ACEVSEChargeParameter.nominal_voltage_V is used from then on).
    ac_nominal_voltage_V: float = 230.0
    # SECC, ISO 15118-2 with Contract payment: set ReceiptRequired in the loop responses and expect
    # a MeteringReceiptReq after each (charging-domain.md 3.1 step 13 / 3.2 step 11a).
    receipt_required: bool = False
    # in-process medium: carry every V2G message as EXI bytes through freev2g.exi (medium.py)
    exi: bool = True

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, *, where: str = "link.options") -> LinkOptions:
        """Build from a free-form options table; unknown keys and bad values are named."""
        raw = dict(config or {})
        kwargs: dict[str, Any] = {}
        known = {a.name for a in attrs.fields(cls)}
        for key, value in raw.items():
            if key not in known:
                raise LinkOptionsError(f"{where}.{key}: unknown option (known: {', '.join(sorted(known))})")
            if key in ("timeouts", "slac"):
                sub = Timeouts if key == "timeouts" else SlacTimings
                if not isinstance(value, dict):
                    raise LinkOptionsError(f"{where}.{key}: expected a table, got {value!r}")
                sub_known = {a.name for a in attrs.fields(sub)}
                bad = sorted(set(value) - sub_known)
                if bad:
                    raise LinkOptionsError(f"{where}.{key}.{bad[0]}: unknown option (known: {', '.join(sorted(sub_known))})")
                for k, v in value.items():
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                        if not (k == "secc_app_deadline" and isinstance(v, bool)):
                            raise LinkOptionsError(f"{where}.{key}.{k}: expected a number >= 0, got {v!r}")
                value = sub(**value)
            elif key in ("receipt_required", "exi") and not isinstance(value, bool):
                raise LinkOptionsError(f"{where}.{key}: expected true or false, got {value!r}")
            elif key in _NUMBERS and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
                                      or (key == "ac_nominal_voltage_V" and value == 0)):
                raise LinkOptionsError(f"{where}.{key}: expected a number {'> 0' if key.endswith('_V') else '>= 0'}, "
                                       f"got {value!r}")
            kwargs[key] = value
        opts = cls(**kwargs)
        if opts.medium not in ("inprocess", "socket"):
            raise LinkOptionsError(f"{where}.medium: expected 'inprocess' or 'socket', got {opts.medium!r}")
        if opts.medium == "socket" and not opts.path:
            raise LinkOptionsError(f"{where}.path: the socket medium needs a path")
        return opts
