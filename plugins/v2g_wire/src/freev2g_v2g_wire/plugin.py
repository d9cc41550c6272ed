"""freev2g plugin module of freev2g-v2g-wire: registers link "iso15118" (roles evse and ev),
the virtual link's SECC/EVCC logic over SDP + TCP/TLS on a network interface (link.py)."""
from __future__ import annotations

import freev2g

from .link import make_ev_link, make_evse_link


@freev2g.hookimpl
def freev2g_register_links(registry):
    registry.register("iso15118", "evse", make_evse_link,
                      description="SECC on a network interface: SDP, V2GTP over TCP/TLS (option iface)")
    registry.register("iso15118", "ev", make_ev_link,
                      description="EVCC on a network interface: SDP, V2GTP over TCP/TLS (option iface)")
