"""Messages shared by all protocols: V2G header base, supportedAppProtocol, SLAC and SDP.

supportedAppProtocol: charging-domain.md 2.6. SLAC (ISO 15118-3): 2.3, simulated as one
message per step of the matching sequence (sounds are summarised, not sent one by one).
SDP: 2.4. The virtual medium carries these objects as they are (in-process) or as JSON lines.
"""
from __future__ import annotations

from enum import Enum
from typing import ClassVar

from attrs import field, frozen

from freev2g.model.enums import Protocol, ResponseCode

ZERO_SESSION_ID = "0000000000000000"


@frozen(kw_only=True)
class V2GMessage:
    """Header part common to every DIN / -2 / -20 message: the 8-byte SessionID as 16 hex digits."""

    session_id: str = ZERO_SESSION_ID


@frozen(kw_only=True)
class V2GRequest(V2GMessage):
    RES: ClassVar[type]  # the response type (set per request)


@frozen(kw_only=True)
class V2GResponse(V2GMessage):
    """Every response field has a minimal valid default so a FAILED answer can be built from
    the response code alone (charging-domain.md 3.1: mandatory fields present on FAILED)."""

    response_code: ResponseCode = ResponseCode.OK


# ---------------------------------------------------------------------------------------------
# supportedAppProtocol (2.6)
# ---------------------------------------------------------------------------------------------


class SapResponseCode(str, Enum):
    OK = "OK_SuccessfulNegotiation"
    OK_MINOR_DEVIATION = "OK_SuccessfulNegotiationWithMinorDeviation"
    FAILED = "Failed_NoNegotiation"


PROTOCOL_VERSIONS: dict[Protocol, tuple[int, int]] = {
    Protocol.DIN70121: (2, 0),
    Protocol.ISO15118_2: (2, 0),
    Protocol.ISO15118_20: (1, 0),
}


@frozen(kw_only=True)
class AppProtocol:
    protocol_namespace: str
    version_major: int
    version_minor: int
    schema_id: int  # 0..255, chosen by the EV
    priority: int  # 1..20, 1 = most preferred


@frozen(kw_only=True)
class SupportedAppProtocolReq:
    app_protocols: tuple[AppProtocol, ...] = field(converter=tuple)


@frozen(kw_only=True)
class SupportedAppProtocolRes:
    response_code: SapResponseCode
    schema_id: int | None = None  # omitted on failure


# ---------------------------------------------------------------------------------------------
# SLAC (ISO 15118-3, 2.3), simulated. Carried on the data-link channel.
# ---------------------------------------------------------------------------------------------


@frozen(kw_only=True)
class SlacParmReq:
    """CM_SLAC_PARM.REQ: the EV starts matching."""

    run_id: str
    ev_mac: str


@frozen(kw_only=True)
class SlacParmCnf:
    run_id: str
    num_sounds: int = 10
    time_out_100ms: int = 6  # TT_EVSE_match_MNBC = 600 ms


@frozen(kw_only=True)
class StartAttenCharInd:
    """CM_START_ATTEN_CHAR.IND (+ the M-SOUNDs that follow, summarised)."""

    run_id: str
    num_sounds: int = 10


@frozen(kw_only=True)
class AttenCharInd:
    """CM_ATTEN_CHAR.IND: averaged attenuation per carrier group (one figure here)."""

    run_id: str
    attenuation_dB: float = 20.0
    num_sounds: int = 10


@frozen(kw_only=True)
class AttenCharRsp:
    run_id: str
    result: int = 0


@frozen(kw_only=True)
class SlacMatchReq:
    run_id: str
    ev_mac: str


@frozen(kw_only=True)
class SlacMatchCnf:
    run_id: str
    nid: str  # 7 bytes hex
    nmk: str  # 16 bytes hex
    evse_mac: str = "00:01:87:00:00:01"


# ---------------------------------------------------------------------------------------------
# SDP (2.4)
# ---------------------------------------------------------------------------------------------


@frozen(kw_only=True)
class SdpReq:
    security: int = 0x10  # 0x00 TLS, 0x10 no TLS
    transport: int = 0x00  # 0x00 TCP


@frozen(kw_only=True)
class SdpRes:
    address: str
    port: int
    security: int = 0x10
    transport: int = 0x00


MESSAGES = (
    AppProtocol,
    SupportedAppProtocolReq,
    SupportedAppProtocolRes,
    SlacParmReq,
    SlacParmCnf,
    StartAttenCharInd,
    AttenCharInd,
    AttenCharRsp,
    SlacMatchReq,
    SlacMatchCnf,
    SdpReq,
    SdpRes,
)
