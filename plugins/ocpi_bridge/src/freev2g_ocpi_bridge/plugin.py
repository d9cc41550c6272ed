"""freev2g hook implementations of the OCPI bridge (entry point `ocpi` in group `freev2g`)."""
from __future__ import annotations

import freev2g

from .config import OcpiConfig


@freev2g.hookimpl
def freev2g_register_uplinks(registry):
    from .uplink import make_uplink

    registry.register(
        "ocpi",
        make_uplink,
        config_type=OcpiConfig,
        description="OCPI 2.2.1 CPO: credentials, sessions + charging preferences, chargingprofiles, cdrs, locations, tariffs, commands, tokens",
    )


@freev2g.hookimpl
def freev2g_register_commands(cli):
    from .cli import ocpi_group

    cli.add_command(ocpi_group)
