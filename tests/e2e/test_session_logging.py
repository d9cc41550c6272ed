"""EvseManager `session_logging` (issue #18): every V2G message of a simulated session (real EXI
through the in-process pipe) in the journal with direction, EXI hex and decoded form, and a
pcap per connection that an independent reader (scapy) parses as SDP + a TCP stream whose
reassembled bytes are exactly those V2GTP messages."""
from __future__ import annotations

import struct

import attrs
import pytest

from freev2g import exi
from freev2g.model.enums import Protocol
from freev2g.simulate import SimulationOptions, default_station_config

scapy_all = pytest.importorskip("scapy.all", reason="scapy comes with the whitebeet plugin")


def _logged_station(opts_kw, path, *, xml=True, on=True):
    base = default_station_config(SimulationOptions(speed=None, **opts_kw))
    evse = attrs.evolve(base.evse, session_logging=on, session_logging_path=str(path), session_logging_xml=xml)
    return attrs.evolve(base, evse=evse)


def _stream(packets, sport):
    """Reassemble the payload of one TCP direction by sequence number."""
    segs = {}
    for p in packets:
        if p.haslayer(scapy_all.TCP) and p[scapy_all.TCP].sport == sport and bytes(p[scapy_all.TCP].payload):
            segs[p[scapy_all.TCP].seq] = bytes(p[scapy_all.TCP].payload)
    out, seq = b"", min(segs) if segs else 0
    while seq in segs:
        out += segs[seq]
        seq += len(segs[seq])
    assert len(out) == sum(map(len, segs.values())), "TCP segments do not chain by sequence number"
    return out


def _v2gtp_messages(data):
    msgs = []
    while data:
        ver, inv, ptype, length = struct.unpack("!BBHI", data[:8])
        assert (ver, inv) == (0x01, 0xFE)
        msgs.append((ptype, data[8:8 + length]))
        data = data[8 + length:]
    return msgs


@pytest.mark.parametrize("protocol, mode", [(Protocol.DIN70121, "dc"), (Protocol.ISO15118_2, "ac"),
                                            (Protocol.ISO15118_20, "dc")], ids=["din-dc", "iso2-ac", "iso20-dc"])
def test_every_message_in_journal_and_pcap(run_sim, tmp_path, protocol, mode):
    logdir = tmp_path / "v2g"
    out = run_sim(protocol=protocol, mode=mode,
                  station_config=_logged_station({"protocol": protocol, "mode": mode}, logdir))
    assert out.result.ok, out.result.scenario_error
    session = out.finished()
    rows = out.journal.v2g_messages(session.session_id)
    names = [r.message for r in rows]
    # The whole session, in order, both directions.
    assert names[0] == "supportedAppProtocolReq" and names[1] == "supportedAppProtocolRes"
    assert "SessionSetupReq" in names and "SessionSetupRes" in names
    assert names[-2:] == ["SessionStopReq", "SessionStopRes"]
    loop = {"dc": "CurrentDemandReq", "ac": "ChargingStatusReq"}[mode] if protocol is not Protocol.ISO15118_20 \
        else "DC_ChargeLoopReq"
    assert loop in names
    assert all(r.error is None for r in rows), [r.error for r in rows if r.error]
    assert {r.direction for r in rows[0::2]} == {"ev->evse"} and {r.direction for r in rows[1::2]} == {"evse->ev"}
    # Each row's decoded form is what the EXI hex decodes to; the XML carries the same names.
    for r in rows[:6] + rows[-2:]:
        assert exi.to_json(r.protocol, exi.decode(r.protocol, bytes.fromhex(r.exi_hex))) == r.decoded
        assert f"<{r.message}>" in r.xml
    grammars = {r.protocol for r in rows}
    expected = {Protocol.DIN70121: {"sap", "din"}, Protocol.ISO15118_2: {"sap", "iso2"},
                Protocol.ISO15118_20: {"sap", "iso20-common", "iso20-dc"}}[protocol]
    assert grammars == expected

    pcaps = list(logdir.glob("*.pcap"))
    assert len(pcaps) == 1 and session.session_id in pcaps[0].name
    packets = scapy_all.rdpcap(str(pcaps[0]))
    sdp = [p for p in packets if p.haslayer(scapy_all.UDP)]
    assert [p[scapy_all.UDP].dport for p in sdp][:1] == [15118]
    tcp = [p for p in packets if p.haslayer(scapy_all.TCP)]
    assert tcp[0][scapy_all.TCP].flags == "S" and tcp[-1][scapy_all.TCP].flags == "A"
    for p in packets:  # checksums as written equal what scapy computes afresh
        layer = p[scapy_all.TCP] if p.haslayer(scapy_all.TCP) else p[scapy_all.UDP]
        written = layer.chksum
        layer.chksum = None
        assert scapy_all.IPv6(bytes(p[scapy_all.IPv6]))[type(layer)].chksum == written
    ev_port = tcp[0][scapy_all.TCP].sport
    evse_port = tcp[0][scapy_all.TCP].dport
    from_ev = _v2gtp_messages(_stream(packets, ev_port))
    from_evse = _v2gtp_messages(_stream(packets, evse_port))
    assert [bytes.fromhex(r.exi_hex) for r in rows if r.direction == "ev->evse"] == [m for _, m in from_ev]
    assert [bytes.fromhex(r.exi_hex) for r in rows if r.direction == "evse->ev"] == [m for _, m in from_evse]
    assert {t for t, _ in from_ev} == {exi.PAYLOAD_TYPES[g] for g in grammars}


def test_off_by_default_and_xml_switch(run_sim, tmp_path):
    out = run_sim(protocol=Protocol.ISO15118_2, mode="dc")
    assert out.journal.v2g_messages(out.finished().session_id) == []
    out2 = run_sim(protocol=Protocol.ISO15118_2, mode="dc",
                   station_config=_logged_station({"protocol": Protocol.ISO15118_2, "mode": "dc"},
                                                  tmp_path / "x", xml=False))
    rows = out2.journal.v2g_messages(out2.finished().session_id)
    assert rows and all(r.xml is None and r.decoded for r in rows)


def test_unwritable_path_keeps_the_journal_and_the_session(run_sim, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = run_sim(protocol=Protocol.ISO15118_2, mode="dc",
                  station_config=_logged_station({"protocol": Protocol.ISO15118_2, "mode": "dc"}, blocker / "sub"))
    assert out.result.ok
    assert len(out.journal.v2g_messages(out.finished().session_id)) > 20
