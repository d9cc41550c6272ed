"""V2GTP over TCP, TLS 1.2 (ISO 15118-2 profile) and TLS 1.3 (ISO 15118-20 profile, mutual)
across a veth pair, with the test PKI made by pki.make_pki (openssl). Messages go both ways;
bad frames (wrong version, inverted version, oversized length, truncated, SDP type on a V2G
connection) end that connection with a declared V2gtpFrameError and the server keeps serving.
The payloads are opaque bytes here: the medium does not know the messages."""
from __future__ import annotations

import asyncio
import ssl

import pytest

from freev2g_v2g_wire.iface import in_netns, resolve_interface
from freev2g_v2g_wire.medium import WireServer, connect, connect_socket
from freev2g_v2g_wire.tls import TlsConfig, TlsConfigError
from freev2g_v2g_wire.v2gtp import V2gtpFrameError, V2gtpMessage
from freev2g_virtual_plc.medium import Medium, MediumClosed
from wire_netns import EV_ADDR, SECC_ADDR, veth_pair

pytestmark = pytest.mark.netns


def _tls(pki, profile):
    d = pki / ("iso2" if profile == "1.2" else "iso20")
    secc = TlsConfig(version=profile, cert_chain=str(d / "SECCCert_chain.pem"), key=str(d / "SECCCert.key"),
                     trust=str(d / "OEMRootCA.pem"))
    evcc = TlsConfig(version=profile, trust=str(d / "V2GRootCA.pem"),
                     cert_chain=str(d / "OEMProvCert_chain.pem"), key=str(d / "OEMProvCert.key"))
    return secc.server_context(), evcc.client_context()


async def _open(pair, server_tls=None):
    with in_netns(pair.secc_ns):
        server = WireServer.open(resolve_interface(pair.secc_if), tls=server_tls, max_payload=4096)
    with in_netns(pair.ev_ns):
        ev_if = resolve_interface(pair.ev_if)
        socks = [connect_socket(ev_if) for _ in range(3)]
    await server.start()
    return server, ev_if, socks


@pytest.mark.parametrize("profile", ["tcp", "1.2", "1.3"])
def test_frames_both_ways(pki, profile):
    async def scenario(pair):
        server_tls, client_tls = _tls(pki, profile) if profile != "tcp" else (None, None)
        server, ev_if, socks = await _open(pair, server_tls)
        try:
            assert 49152 <= server.port <= 65535
            ev = await connect(ev_if, SECC_ADDR, server.port, tls=client_tls, sock=socks[0])
            secc = await asyncio.wait_for(server.accept(), 5)
            assert isinstance(ev, Medium) and isinstance(secc, Medium)
            assert secc.peer[0] == EV_ADDR
            await ev.send(b"\x80\x00\xdb\xab\x93\x71\xd3\x23\x4b\x71")  # opaque EXI-like bytes, type 0x8001
            got = await secc.recv()
            assert got == V2gtpMessage(b"\x80\x00\xdb\xab\x93\x71\xd3\x23\x4b\x71", 0x8001)
            await secc.send(V2gtpMessage(bytes(range(256)) * 10, 0x8004))  # -20 DC payload type
            back = await ev.recv()
            assert back.payload_type == 0x8004 and back.payload == bytes(range(256)) * 10
            if profile == "tcp":
                assert ev.tls is None and secc.tls is None
            else:
                version, cipher = ev.tls
                assert version == ("TLSv1.2" if profile == "1.2" else "TLSv1.3")
                assert cipher == ("ECDHE-ECDSA-AES128-SHA256" if profile == "1.2" else "TLS_AES_256_GCM_SHA384")
                # -2: server-only TLS; -20: the SECC saw the EVCC's (OEM) certificate
                assert (secc.peer_certificate is not None and bool(secc.peer_certificate)) == (profile == "1.3")
            await ev.close()
            with pytest.raises(MediumClosed):
                await secc.recv()
        finally:
            await server.close()

    with veth_pair() as pair:
        asyncio.run(asyncio.wait_for(scenario(pair), 30))


BAD_FRAMES = [
    ("02fe8001 00000002 8000", "version 0x02/0xfe"),
    ("01ff8001 00000002 8000", "version 0x01/0xff"),
    ("01fe8001 00100000 00", "exceeds max_length 4096"),
    ("01fe9000 00000002 1000", "0x9000 (SDP_REQUEST) is not allowed"),
    ("01fe80", "inside a V2GTP header at byte 10: 3 of 8 bytes"),
    ("01fe8001 00000010 8000", "2 of 16 payload bytes"),
]


def test_bad_frames_are_declared_and_the_server_keeps_serving():
    async def scenario(pair):
        server, ev_if, socks = await _open(pair)
        try:
            for raw, words in BAD_FRAMES:
                with in_netns(pair.ev_ns):
                    sock = connect_socket(ev_if)
                loop = asyncio.get_running_loop()
                await loop.sock_connect(sock, ev_if.sockaddr(SECC_ADDR, server.port))
                good = V2gtpMessage(b"ok").to_bytes()
                await loop.sock_sendall(sock, good + bytes.fromhex(raw.replace(" ", "")))
                if "inside" in words or "of 16 payload" in words:
                    sock.shutdown(1)  # truncated: the stream ends mid-message
                secc = await asyncio.wait_for(server.accept(), 5)
                assert (await secc.recv()).payload == b"ok"  # the good frame before the garbage
                with pytest.raises(V2gtpFrameError) as err:
                    await secc.recv()
                assert words in str(err.value)
                assert "byte 10" in str(err.value) or "at stream byte 10" in str(err.value)
                assert secc.closed
                with pytest.raises(MediumClosed):
                    await secc.recv()
                sock.close()
            # and a well-behaved EV is still served afterwards
            ev = await connect(ev_if, SECC_ADDR, server.port, sock=socks[0])
            secc = await asyncio.wait_for(server.accept(), 5)
            await ev.send(b"\x80\x01")
            assert (await secc.recv()).payload == b"\x80\x01"
            await ev.close()
        finally:
            await server.close()

    with veth_pair() as pair:
        asyncio.run(asyncio.wait_for(scenario(pair), 30))


def test_tls_refuses_an_untrusted_secc_and_a_missing_client_certificate(pki):
    async def scenario(pair):
        server_tls, _ = _tls(pki, "1.3")
        server, ev_if, socks = await _open(pair, server_tls)
        d = pki / "iso20"
        try:
            wrong_root = TlsConfig(version="1.3", trust=str(d / "MORootCA.pem"), mutual=False).client_context()
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect(ev_if, SECC_ADDR, server.port, tls=wrong_root, sock=socks[0])
            no_cert = TlsConfig(version="1.3", trust=str(d / "V2GRootCA.pem"), mutual=False).client_context()
            ev = await connect(ev_if, SECC_ADDR, server.port, tls=no_cert, sock=socks[1])
            # TLS 1.3: the server's refusal of a missing client certificate arrives after the handshake
            with pytest.raises(MediumClosed):
                await ev.send(b"\x80")
                await asyncio.wait_for(ev.recv(), 5)
            # the server still serves a correct EVCC
            _, good = _tls(pki, "1.3")
            ev = await connect(ev_if, SECC_ADDR, server.port, tls=good, sock=socks[2])
            secc = await asyncio.wait_for(server.accept(), 5)
            await ev.send(b"\x80\x02")
            assert (await secc.recv()).payload == b"\x80\x02"
            await ev.close()
        finally:
            await server.close()

    with veth_pair() as pair:
        asyncio.run(asyncio.wait_for(scenario(pair), 30))


def test_tls_config_errors_name_the_file(tmp_path):
    with pytest.raises(TlsConfigError, match="does not exist .*make pki"):
        TlsConfig(version="1.2", cert_chain=str(tmp_path / "nope.pem"), key=str(tmp_path / "nope.key")).server_context()
    with pytest.raises(TlsConfigError, match="expected '1.2'"):
        TlsConfig(version="1.1")


SAP_REQ = bytes.fromhex("8000DBAB9371D3234B71D1B981899189D191818991D26B9B3A232B30020000040040")  # exi.md 5.1
SAP_RES = bytes.fromhex("80400040")


def test_exi_messages_through_the_codec_seam_over_tls(pki):
    """supportedAppProtocol as real EXI (freev2g.exi) through CodecPipe over TLS 1.2: the bytes
    on the wire are exactly the public vectors of exi.md 5.1; undecodable EXI closes the
    connection with a declared error."""
    from freev2g_v2g_wire.codec import CodecPipe, ExiMessage, ExiPayloadCodec, PayloadCodecError

    async def scenario(pair):
        server_tls, client_tls = _tls(pki, "1.2")
        server, ev_if, socks = await _open(pair, server_tls)
        try:
            ev_raw = await connect(ev_if, SECC_ADDR, server.port, tls=client_tls, sock=socks[0])
            secc_raw = await asyncio.wait_for(server.accept(), 5)
            ev, secc = CodecPipe(ev_raw, ExiPayloadCodec()), CodecPipe(secc_raw, ExiPayloadCodec())
            req = {"supportedAppProtocolReq": {"AppProtocol": [{
                "ProtocolNamespace": "urn:din:70121:2012:MsgDef", "VersionNumberMajor": 2,
                "VersionNumberMinor": 0, "SchemaID": 1, "Priority": 1}]}}
            await ev.send(ExiMessage("sap", req))
            got = await secc.recv()
            assert got == ExiMessage("sap", req)
            await secc.send(ExiMessage("sap", {"supportedAppProtocolRes": {
                "ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}))
            assert (await ev.recv()).body["supportedAppProtocolRes"]["SchemaID"] == 1
            # what crossed the wire, seen below the codec: the public vectors
            await ev_raw.send(SAP_REQ)
            assert (await secc_raw.recv()).payload == SAP_REQ
            assert ExiPayloadCodec().encode(ExiMessage("sap", req)).payload == SAP_REQ
            await ev_raw.send(b"\x80\xff\xff\xff")  # not a SAP document
            with pytest.raises(PayloadCodecError, match="sap: cannot decode 4 bytes"):
                await secc.recv()
            assert secc.closed
        finally:
            await server.close()

    with veth_pair() as pair:
        asyncio.run(asyncio.wait_for(scenario(pair), 30))
