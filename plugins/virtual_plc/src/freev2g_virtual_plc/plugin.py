"""freev2g plugin module: registers link "virtual" (roles evse and ev) and the board driver
"virtual_remote" (kind ev_board) that reaches the cable model of an EVSE process over the
socket medium."""
from __future__ import annotations

import freev2g

from .evcc.link import VirtualEvLink
from .options import LinkOptions
from .secc.link import VirtualEvseLink


def make_evse_link(config, context) -> VirtualEvseLink:
    return VirtualEvseLink(LinkOptions.from_config(config), context)


def make_ev_link(config, context) -> VirtualEvLink:
    return VirtualEvLink(LinkOptions.from_config(config), context)


def make_remote_ev_board(config, context):
    from .remote_board import RemoteEvBoard

    return RemoteEvBoard.from_config(config, context)


@freev2g.hookimpl
def freev2g_register_links(registry):
    registry.register("virtual", "evse", make_evse_link,
                      description="software link: simulated SLAC/SDP, DIN 70121, ISO 15118-2/-20 (SECC)")
    registry.register("virtual", "ev", make_ev_link,
                      description="software link: simulated SLAC/SDP, DIN 70121, ISO 15118-2/-20 (EVCC)")


@freev2g.hookimpl
def freev2g_register_boards(registry):
    registry.register("ev_board", "virtual_remote", make_remote_ev_board,
                      description="EV side of a cable simulated by another process (virtual link socket medium)")
