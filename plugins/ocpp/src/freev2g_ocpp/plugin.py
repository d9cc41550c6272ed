"""Hook implementations of freev2g-ocpp: the `ocpp` uplink and the `freev2g ocpp` commands."""
from __future__ import annotations

import freev2g

from .config import OcppConfig


def _factory(config: OcppConfig, station):
    from .uplink import OcppUplink

    return OcppUplink(config, station)


@freev2g.hookimpl
def freev2g_register_uplinks(registry):
    registry.register("ocpp", _factory, config_type=OcppConfig,
                      description="OCPP 1.6 / 2.0.1 / 2.1 station client (SCALE data, smart charging, offline queue)")


@freev2g.hookimpl
def freev2g_register_commands(cli):
    from .cli import ocpp_group

    cli.add_command(ocpp_group)
