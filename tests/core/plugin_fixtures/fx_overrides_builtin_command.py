"""A plugin that tries to take a built-in command name."""
import click

import freev2g


@freev2g.hookimpl
def freev2g_register_commands(cli):
    cli.add_command(click.Command("plugins", callback=lambda: None))
