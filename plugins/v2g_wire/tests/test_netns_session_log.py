"""`session_logging` on the wire (issue #18): an EVSE in one network namespace charges an EV in
the other over SDP + V2GTP/TCP on a veth pair; the EVSE's session log holds every V2G message
that crossed the pair (as counted by the WireMedium), and the pcap names the real link-local
addresses and the TCP port SDP announced."""
from __future__ import annotations

import asyncio

import attrs
import pytest

from freev2g.ev.scenario import PlugIn, Scenario, Sleep, StartCharging, Stop, Unplug, WaitFor
from freev2g.ev.variables import EvVar
from freev2g.journal import Journal
from freev2g.model.enums import Protocol
from freev2g.simulate import Simulation, SimulationOptions, default_station_config
from wire_netns import EV_ADDR, SECC_ADDR, veth_pair

scapy_all = pytest.importorskip("scapy.all", reason="scapy comes with the whitebeet plugin")
pytestmark = [pytest.mark.netns, pytest.mark.slow]
# 20 s of charging, then the EV stops: the whole message sequence without a full battery's worth
SHORT = Scenario(name="short", steps=(PlugIn(), StartCharging(), Sleep(duration_s=20), Stop(),
                                      WaitFor(variable=EvVar.V2G_SESSION_FINISHED, timeout_s=60), Unplug()))


def test_wire_session_log_matches_the_traffic(tmp_path):
    logdir = tmp_path / "v2g"
    with veth_pair() as pair:
        cfg = default_station_config("dc")
        cfg.evse.charge_loop_timeout_ms = 3000  # a shared 2-core machine at speed 10 (see test_netns_link)
        evse = attrs.evolve(cfg.evse, session_logging=True, session_logging_path=str(logdir))
        cfg = attrs.evolve(cfg, evse=evse, link=attrs.evolve(
            cfg.link, name="iso15118", options={"iface": pair.secc_if, "netns": pair.secc_ns,
                                                "timeouts": {"secc_dc_loop_perf_s": 0.25}}))
        opts = SimulationOptions(protocol=Protocol.DIN70121, mode="dc", speed=10.0, station_config=cfg, scenario=SHORT,
                                 journal_path=str(tmp_path / "journal.sqlite"), settle_timeout_s=60,
                                 ev_link_options={"iface": pair.ev_if, "netns": pair.ev_ns,
                                                  "timeouts": {"ev_dc_loop_s": 2.5, "ev_msg_s": 5.0}})

        async def run():
            async with Simulation(opts) as sim:
                return sim, await sim.run()

        sim, result = asyncio.run(asyncio.wait_for(run(), 240))
    assert result.ok and result.energy_Wh > 0.1, result
    medium = sim.station.link.cable.media[0]
    journal = Journal(opts.journal_path)
    session = [s for s in journal.sessions() if s.finished][-1]
    rows = journal.v2g_messages(session.session_id)
    assert sum(r.direction == "ev->evse" for r in rows) == medium.messages_in
    assert sum(r.direction == "evse->ev" for r in rows) == medium.messages_out
    assert rows[-1].message == "SessionStopRes" and rows[-1].protocol == "din"
    assert bytes.fromhex(rows[-2].exi_hex) == medium.last_in.payload
    (pcap,) = logdir.glob("*.pcap")
    packets = scapy_all.rdpcap(str(pcap))
    syn = next(p for p in packets if p.haslayer(scapy_all.TCP))
    assert (syn[scapy_all.IPv6].src, syn[scapy_all.IPv6].dst) == (EV_ADDR, SECC_ADDR)
    assert syn[scapy_all.TCP].dport == sim.station.link.cable.servers["tcp"].port
    assert sum(1 for p in packets if p.haslayer(scapy_all.TCP) and bytes(p[scapy_all.TCP].payload)) == len(rows)
