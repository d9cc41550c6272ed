"""A well-formed plugin: one board driver and one command."""
import click

import freev2g


class _Lock:
    def __init__(self):
        self.locked = False

    def subscribe(self, listener):
        self.listener = listener

    async def lock(self):
        self.locked = True

    async def unlock(self):
        self.locked = False

    def is_locked(self):
        return self.locked


@freev2g.hookimpl
def freev2g_register_boards(registry):
    registry.register("connector_lock", "fx_lock", lambda config, ctx: _Lock(), description="fixture lock")


@freev2g.hookimpl
def freev2g_register_commands(cli):
    @cli.command("fx-hello")
    def hello():
        click.echo("hello from fx_good_board")
