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


def _check_sim_options(kind: str):
    """`check_options` of the sim drivers: the options table structured as the drivers will
    (typos and bad values name their key) and, for the power supply, the capabilities it will
    declare. Builds a model only to ask it; nothing starts."""

    def check(options: dict, where: str):
        from freev2g.config import structure

        from .sim.config import SimConfig
        from .sim.drivers import SimPowerSupply
        from .sim.model import SimModel

        config = structure(options, SimConfig, source=where, root=where) if options else SimConfig()
        return SimPowerSupply(SimModel(None, config)).capabilities() if kind == "power_supply" else None

    return check


def _check_serial_options(kind: str):
    """`check_options` of the serial drivers: their own option check (no port is opened) and,
    for the power supply, the capabilities it will declare from `power_supply` options."""

    def check(options: dict, where: str):
        from freev2g.boards import PowerSupplyCapabilities

        from .serialboard.driver import _PSU_DEFAULTS, check_options

        cfg = check_options(options, where)
        if kind != "power_supply":
            return None
        try:
            return PowerSupplyCapabilities(**{**_PSU_DEFAULTS, **dict(cfg.get("power_supply", {}))})
        except TypeError as exc:
            raise ValueError(f"{where}.power_supply: {exc}") from None

    return check


@hookimpl
def freev2g_register_boards(registry):
    for kind in SIM_KINDS:
        registry.register(
            kind,
            "sim",
            make_sim_factory(kind),
            description="simulated board: one electrical model of both cable ends",
            check_options=_check_sim_options(kind),
        )
    for kind in SERIAL_KINDS:
        registry.register(
            kind,
            "serial",
            make_serial_factory(kind),
            description="microcontroller board over UART (options: port, baudrate, heartbeat_timeout_s)",
            check_options=_check_serial_options(kind),
        )


@hookimpl
def freev2g_register_commands(cli):
    from .cli import board_group

    cli.add_command(board_group)
