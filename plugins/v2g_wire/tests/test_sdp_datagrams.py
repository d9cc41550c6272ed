"""SDP message layout (charging-domain.md 2.4, exi.md 6): exact bytes both ways, and declared
errors for every kind of bad datagram. Pure codec: no socket needed."""
from __future__ import annotations

import pytest

from freev2g_v2g_wire.sdp import (
    SdpError,
    SdpRefused,
    SdpRequest,
    SdpResponse,
    SeccSdpPolicy,
    Security,
    Transport,
    evcc_accepts,
)


def test_request_bytes_match_the_sheet():
    # exi.md 6: a no-TLS/TCP request is 01 FE 90 00 00 00 00 02 10 00
    assert SdpRequest(Security.NO_TLS, Transport.TCP).to_bytes() == bytes.fromhex("01fe9000000000021000")
    assert SdpRequest.from_bytes(bytes.fromhex("01fe9000000000020000")) == SdpRequest(Security.TLS)


def test_response_round_trip():
    res = SdpResponse("fe80::15:1", 50001, Security.TLS)
    raw = res.to_bytes()
    assert raw[:8] == bytes.fromhex("01fe900100000014")
    assert raw[8:24] == bytes.fromhex("fe800000000000000000000000150001")
    assert raw[24:] == bytes.fromhex("c3510000")
    assert SdpResponse.from_bytes(raw) == res


@pytest.mark.parametrize("datagram,reason,words", [
    ("02fd9000000000021000", "v2gtp_version", "0x02/0xfd"),
    ("01fe9000000000021000"[:2] + "ff" + "9000000000021000", "v2gtp_version", "expected 0x01/0xfe"),
    ("01fe90000000000210", "v2gtp_length", "announces 2 payload bytes, got 1"),
    ("01fe900000000003100000", "length", "has 3 bytes, expected 2"),
    ("01fe9000000000ff1000", "v2gtp_length", "exceeds"),
    ("01fe80010000000210 00".replace(" ", ""), "payload_type", "0x8001"),
    ("01fe9000000000022000", "bad_security", "0x20"),
    ("01fe9000000000021001", "bad_transport", "0x01"),
    ("01fe90", "truncated", "needs 8 bytes"),
    ("01fe1234000000021000", "v2gtp_payload_type", "0x1234"),
])
def test_bad_requests_are_declared(datagram, reason, words):
    with pytest.raises(SdpError) as err:
        SdpRequest.from_bytes(bytes.fromhex(datagram))
    assert err.value.reason == reason
    assert words in str(err.value)


def test_response_port_outside_the_dynamic_range_is_refused():
    raw = bytearray(SdpResponse("fe80::1", 50000, Security.NO_TLS).to_bytes())
    raw[24:26] = (80).to_bytes(2, "big")
    with pytest.raises(SdpError, match="port 80"):
        SdpResponse.from_bytes(bytes(raw))


def test_secc_policy_and_evcc_decision():
    both = SeccSdpPolicy(address="fe80::1", tcp_port=50000, tls_port=50001)
    assert both(SdpRequest(Security.TLS)).port == 50001
    assert both(SdpRequest(Security.NO_TLS)).port == 50000
    assert both(SdpRequest(Security.TLS, Transport.UDP)) is None
    tcp_only = SeccSdpPolicy(address="fe80::1", tcp_port=50000)
    downgraded = tcp_only(SdpRequest(Security.TLS))
    assert downgraded.security is Security.NO_TLS  # cannot honour TLS: says so, the EV decides
    with pytest.raises(SdpRefused, match="requires TLS"):
        evcc_accepts(downgraded, allow_tls=True, allow_no_tls=False)
    assert evcc_accepts(downgraded, allow_tls=True, allow_no_tls=True) is downgraded
    tls_only = SeccSdpPolicy(address="fe80::1", tls_port=50001)
    assert tls_only(SdpRequest(Security.NO_TLS)).security is Security.TLS
