"""freev2g hook implementations of freev2g-evse-board (entry point `evse_board`).

Registers the simulated board "sim" for every board kind and the UART board "serial" for the
EVSE kinds, plus the `freev2g board ...` CLI group. Hooks only register factories.
"""
from __future__ import annotations

from freev2g import hookimpl

from .serialboard.driver import make_serial_factory
from .sim.drivers import make_sim_factory

SIM_KINDS = ("bsp", "imd", "power_supply", "connector_lock", "power_meter", "ev_board")
SERIAL_KINDS = ("bsp", "imd", "power_supply", "connector_lock", "power_meter")


@hookimpl
def freev2g_register_boards(registry):
    for kind in SIM_KINDS:
        registry.register(
            kind,
            "sim",
            make_sim_factory(kind),
            description="simulated board: one electrical model of both cable ends",
        )
    for kind in SERIAL_KINDS:
        registry.register(
            kind,
            "serial",
            make_serial_factory(kind),
            description="microcontroller board over UART (options: port, baudrate, heartbeat_timeout_s)",
        )


@hookimpl
def freev2g_register_commands(cli):
    from .cli import board_group

    cli.add_command(board_group)
