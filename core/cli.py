"""The `freev2g` command line: make_cli(pm) builds the click group, built-ins then plugins.

Nothing registers at import time; `main()` builds the plugin manager and the CLI when run.
"""
from __future__ import annotations

import json
import logging
import sys
from importlib import import_module
from typing import Any

import click

from . import __version__
from .config import EXAMPLE_STATION_TOML, ConfigError
from .config_check import check_any_file
from .config_example import EXAMPLE_SCENARIO_TOML
from .plugins import FreeV2GPluginManager, get_plugin_manager
from .registry import DuplicateRegistration

# Built-in command modules: each has `add_commands(cli)`.
BUILTIN_COMMAND_MODULES: tuple[str, ...] = ("freev2g.sim_cli", "freev2g.exi.cli")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("session_event", "session_id"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def setup_logging(verbose: int, fmt: str) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class _Root(click.Group):
    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name in self.commands:
            raise DuplicateRegistration(f"command {name!r} is already registered")
        super().add_command(cmd, name)


def make_cli(pm: FreeV2GPluginManager | None = None) -> click.Group:
    """Build the CLI for this plugin manager (a fresh one when None)."""
    pm = pm if pm is not None else get_plugin_manager()

    @click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, "--version", prog_name="freev2g")
    @click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
    @click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
    @click.pass_context
    def cli(ctx: click.Context, verbose: int, log_format: str) -> None:
        """freev2g: WHITE beet host, software link, EVSE manager and EV simulator."""
        setup_logging(verbose, log_format)
        ctx.obj = pm

    cli.add_command(plugins_command)
    cli.add_command(config_group)
    cli.add_command(scenario_group)
    for modname in BUILTIN_COMMAND_MODULES:
        import_module(modname).add_commands(cli)
    for impl in pm.hook.freev2g_register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the CLI down
            pm._mark_broken(impl.plugin_name, "register", exc)
    return cli


@click.command("plugins")
@click.pass_obj
def plugins_command(pm: FreeV2GPluginManager) -> None:
    """List installed plugins, what each registers, and broken ones with their error."""
    regs = pm.registries()
    by_plugin: dict[str, list[str]] = {}
    for reg in regs.boards.all():
        by_plugin.setdefault(reg.plugin, []).append(f"board {reg.kind}/{reg.name}")
    for reg in regs.links.all():
        by_plugin.setdefault(reg.plugin, []).append(f"link {reg.name} ({reg.role})")
    for reg in regs.uplinks.all():
        by_plugin.setdefault(reg.plugin, []).append(f"uplink {reg.name}")
    broken = {b.name for b in pm.broken}
    for name, info in pm.infos.items():
        if name in broken:
            continue
        where = "built-in" if info.builtin else f"{info.distribution or '?'} {info.version or ''}".strip()
        click.echo(f"{name}  [{where}]")
        for item in by_plugin.get(name, []):
            click.echo(f"    {item}")
    if pm.blocked:
        click.echo(f"blocked: {', '.join(pm.blocked)}")
    for b in pm.broken:
        click.echo(f"BROKEN {b.name} [{b.distribution or '?'}] at {b.stage}: {b.error}")


@click.group("config")
def config_group() -> None:
    """Check or print station configuration files."""


@config_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def config_check(pm: FreeV2GPluginManager, file: str) -> None:
    """Validate FILE: a station.toml (as a station would start from it: drivers, their options,
    ranges, journal), a car.toml / ev.json or a scenario, detected from its content. Print every
    error with its key path, exit 1 on errors."""
    check_file(pm, file)


def check_file(pm: FreeV2GPluginManager, file: str) -> None:
    """`config check` / `scenario check`: notes and OK on stdout, problems on stderr, exit 1."""
    try:
        kind, notes = check_any_file(pm, file)
    except ConfigError as exc:
        echo_config_error(exc)
        raise SystemExit(1)
    for note in notes:
        click.echo(f"{file}: note: {note}")
    click.echo(f"{file}: checked as a {kind} file")
    click.echo(f"{file}: OK")


def echo_config_error(exc: ConfigError) -> None:
    """One line per problem on stderr: '<file>: <key.path>: <message>'."""
    for problem in exc.problems:
        click.echo(f"{exc.source}: {problem}", err=True)


@config_group.command("example")
@click.option("--car", is_flag=True, help="Print an example car.toml (freev2g ev --config, simulate --ev-config).")
def config_example(car: bool) -> None:
    """Print a commented example station.toml (or car.toml with --car)."""
    if car:
        from .ev.config import EXAMPLE_CAR_TOML

        click.echo(EXAMPLE_CAR_TOML, nl=False)
        return
    click.echo(EXAMPLE_STATION_TOML, nl=False)


@click.group("scenario")
def scenario_group() -> None:
    """Scenario files: what `simulate --scenario` and `ev --scenario` play."""


@scenario_group.command("example")
def scenario_example() -> None:
    """Print a commented example scenario (plug in, charge, pause, resume, unplug)."""
    click.echo(EXAMPLE_SCENARIO_TOML, nl=False)


@scenario_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def scenario_check(pm: FreeV2GPluginManager, file: str) -> None:
    """Validate a scenario FILE (the same as `freev2g config check FILE`)."""
    check_file(pm, file)


def main(argv: list[str] | None = None) -> None:
    cli = make_cli()
    cli.main(args=argv, prog_name="freev2g")


if __name__ == "__main__":  # pragma: no cover
    main()
