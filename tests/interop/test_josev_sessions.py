"""Josev EVCC <-> Josev SECC across two network namespaces joined by a veth pair (SDP on ff02::1,
V2GTP over TCP or TLS on IPv6 link-local): proves the harness that later runs freev2g against
either side. Each session must reach SessionStop; both sides' message logs must hold the same
EXI bytes in the same order and decode to the same content. Real processes, real JVMs, real
sockets; the TLS run uses a PKI made by Josev's own create_certs.sh for this run only."""
from __future__ import annotations

from pathlib import Path

import pytest

import josev as J
import josev_wire as wire
from josev_log import LoggedMessage

pytestmark = [pytest.mark.interop, pytest.mark.netns]

# name: (SECC settings, EVCC settings, needs PKI, protocol namespace short name, loop request)
SCENARIOS = {
    "din_dc_eim_tcp": (J.SeccSettings(protocols=(J.DIN,)), J.EvccSettings(protocols=(J.DIN,)),
                       False, "din", "CurrentDemandReq"),
    "iso2_dc_eim_tcp": (J.SeccSettings(protocols=(J.ISO2,)), J.EvccSettings(protocols=(J.ISO2,)),
                        False, "iso2", "CurrentDemandReq"),
    "iso2_dc_eim_tls": (J.SeccSettings(protocols=(J.ISO2,), enforce_tls=True),
                        J.EvccSettings(protocols=(J.ISO2,), use_tls=True, enforce_tls=True),
                        True, "iso2", "CurrentDemandReq"),
    "iso2_ac_eim_tcp": (J.SeccSettings(protocols=(J.ISO2,)),
                        J.EvccSettings(protocols=(J.ISO2,), energy_services=("AC",),
                                       energy_transfer_mode="AC_three_phase_core"),
                        False, "iso2", "ChargingStatusReq"),
    "iso20_dc_eim_tcp": (J.SeccSettings(protocols=(J.ISO20_DC,)),
                         J.EvccSettings(protocols=(J.ISO20_DC,), energy_services=("DC",)),
                         False, "iso20-dc", "DC_ChargeLoopReq"),
    "iso20_dc_eim_tls13": (J.SeccSettings(protocols=(J.ISO20_DC,), enforce_tls=True,
                                          extra={"ENABLE_TLS_1_3": "True"}),
                           J.EvccSettings(protocols=(J.ISO20_DC,), energy_services=("DC",), use_tls=True,
                                          enforce_tls=True, env={"ENABLE_TLS_1_3": "True"}),
                           True, "iso20-dc", "DC_ChargeLoopReq"),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    return J.make_pki(tmp_path_factory.mktemp("josev-pki"), "iso-2")


def body(msg: LoggedMessage) -> dict:
    content = msg.json[next(iter(msg.json))]
    return content["Body"][msg.name] if "Body" in content else content


def only(messages: list[LoggedMessage], direction: str) -> list[LoggedMessage]:
    return [m for m in messages if m.direction == direction and m.is_message]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_josev_evcc_charges_from_josev_secc(scenario, pki, tmp_path):
    secc_cfg, evcc_cfg, tls, protocol, loop_req = SCENARIOS[scenario]
    run = J.run_pair(secc_cfg, evcc_cfg, tmp_path, pki if tls else None)
    where = f"(logs in {run.run_dir})"
    assert run.evcc_rc == 0, f"Josev EVCC exited with {run.evcc_rc} {where}"

    evcc_tx, evcc_rx = only(run.evcc, "tx"), only(run.evcc, "rx")
    secc_tx, secc_rx = only(run.secc, "tx"), only(run.secc, "rx")
    # Handshake: the SECC chose the protocol we configured.
    assert evcc_rx[0].name == "supportedAppProtocolRes", where
    assert body(evcc_rx[0])["ResponseCode"] == "OK_SuccessfulNegotiation", where
    assert {m.protocol for m in evcc_tx[1:]} <= {protocol, "iso20-common"}, where
    # Energy loop ran, then the session ended by SessionStop with OK on both sides.
    assert sum(m.name == loop_req for m in evcc_tx) >= 1, f"no {loop_req} {where}"
    assert [m.name for m in evcc_tx[-1:]] == ["SessionStopReq"], where
    assert evcc_rx[-1].name == "SessionStopRes" and body(evcc_rx[-1])["ResponseCode"] == "OK", where
    assert secc_rx[-1].name == "SessionStopReq", where
    # The wire is transparent: each side received exactly the bytes the other sent, in order,
    # and the receiver's decoded form equals the sender's message.
    assert [m.exi for m in evcc_tx] == [m.exi for m in secc_rx], where
    assert [m.exi for m in secc_tx] == [m.exi for m in evcc_rx], where
    for sent, got in zip(evcc_tx + secc_tx, secc_rx + evcc_rx):
        assert sent.json == got.json, f"{sent.name}: sent {sent.json} but peer decoded {got.json} {where}"
    check_wire(run, tls, evcc_tx, secc_tx, tls13=secc_cfg.extra.get("ENABLE_TLS_1_3") == "True")


def check_wire(run: J.PairRun, tls: bool, evcc_tx: list[LoggedMessage], secc_tx: list[LoggedMessage],
               tls13: bool = False) -> None:
    """The capture on the EVCC's veth end agrees with the logs: SDP went to ff02::1 port 15118
    asking for the right security, and the TCP streams carry exactly the logged EXI as V2GTP
    (plaintext over TCP; over TLS only TLS records, none of the logged EXI in the clear)."""
    where = f"(capture {run.capture})"
    segments, datagrams = wire.read_capture(run.capture)
    sdp_reqs = [d for d in datagrams if d.dport == 15118 and d.payload[:4] == bytes.fromhex("01fe9000")]
    assert sdp_reqs and all(d.dst == "ff02::1" for d in sdp_reqs), where
    assert sdp_reqs[-1].payload[8:10] == (b"\x00\x00" if tls else b"\x10\x00"), where  # security, TCP
    up, down = wire.tcp_stream(segments, "fe80::2"), wire.tcp_stream(segments, "fe80::1")
    if not tls:
        # Payloads only: -20 uses its own V2GTP payload types (0x8002.. for the main stream).
        assert [p for _, p in wire.v2gtp_messages(up)] == [m.exi for m in evcc_tx], where
        assert [p for _, p in wire.v2gtp_messages(down)] == [m.exi for m in secc_tx], where
        assert all(t == wire.V2GTP_EXI for t, _ in wire.v2gtp_messages(up)[:1]), f"SAP not 0x8001 {where}"
        return
    assert up[:1] == b"\x16" and down[:1] == b"\x16", f"TLS handshake record expected {where}"
    assert not any(m.exi in up for m in evcc_tx) and not any(m.exi in down for m in secc_tx), where
    # ServerHello (the SECC's first record): TLS 1.3 is chosen by its supported_versions
    # extension (0x002b) holding 0x0304; TLS 1.2 has none.
    server_hello = down[5:5 + int.from_bytes(down[3:5], "big")]
    assert server_hello[:1] == b"\x02", f"first SECC record is not a ServerHello {where}"
    assert (b"\x00\x2b\x00\x02\x03\x04" in server_hello) == tls13, f"TLS 1.3 expected: {tls13} {where}"


def test_harness_reports_a_session_that_fails(tmp_path):
    """The negative case: an EVCC offering only DIN to a SECC that speaks only -2 fails the
    handshake; the harness stops the EVCC (which would idle forever) and says why."""
    with pytest.raises(RuntimeError, match="Josev evcc gave up"):
        J.run_pair(J.SeccSettings(protocols=(J.ISO2,)), J.EvccSettings(protocols=(J.DIN,)), tmp_path,
                   timeout_s=60)
