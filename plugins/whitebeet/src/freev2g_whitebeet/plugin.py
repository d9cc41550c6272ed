"""Hook implementations of freev2g-whitebeet: link "whitebeet" (both roles), board driver
"whitebeet" (bsp: ControlPilot over module 0x29), and the `freev2g whitebeet` CLI group."""
from __future__ import annotations

import freev2g


@freev2g.hookimpl
def freev2g_register_links(registry):
    from .host.factories import make_ev_link, make_evse_link

    registry.register("whitebeet", "evse", make_evse_link, description="WHITE beet SECC module over HCI")
    registry.register("whitebeet", "ev", make_ev_link, description="WHITE beet EVCC module over HCI")


@freev2g.hookimpl
def freev2g_register_boards(registry):
    from .host.factories import make_control_pilot

    registry.register("bsp", "whitebeet", make_control_pilot, description="CP generator of a WHITE beet (module 0x29)")


@freev2g.hookimpl
def freev2g_register_commands(cli):
    from .cli import whitebeet_group

    cli.add_command(whitebeet_group)
