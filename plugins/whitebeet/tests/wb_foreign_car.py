"""`python wb_foreign_car.py IFACE MODULE_MAC MODE`: a foreign car's EV host on an EV module over
Ethernet (test_netns_foreign_ev.py): WhitebeetEvLink driven by test_sim_foreign_ev.ScriptedCar,
not by freev2g's EvController, and no sim board of its own. Prints "finished CAUSE" and exits 0
when the session ended normally."""
from __future__ import annotations

import asyncio
import sys

from freev2g.clock import Clock
from freev2g.model.enums import EnergyTransferMode, StopCause
from freev2g_whitebeet.client import HciClient
from freev2g_whitebeet.host.ev import WhitebeetEvLink
from freev2g_whitebeet.transport.ethernet import EthernetTransport, mac_bytes

from test_sim_foreign_ev import ScriptedCar


async def main(iface: str, mac: str, mode: str) -> int:
    clock = Clock()
    link = WhitebeetEvLink(HciClient(EthernetTransport(iface, peer_mac=mac_bytes(mac)), clock=clock), clock=clock)
    car = ScriptedCar(link, EnergyTransferMode(mode))
    await link.open(car)
    try:
        started = await link.start_session(car.request())
        print("started" if started else "refused", flush=True)
        for _ in range(1200):
            if car.finished:
                break
            await clock.sleep(0.1)
    finally:
        await link.close()
    cause = car.finished[0].cause if car.finished else None
    print(f"finished {cause} after {car.loops} loop steps", flush=True)
    return 0 if cause is StopCause.EV_STOP else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:4])))
