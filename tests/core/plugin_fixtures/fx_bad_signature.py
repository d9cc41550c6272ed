"""A plugin whose hookimpl names an argument the spec does not have."""
import freev2g


@freev2g.hookimpl
def freev2g_register_boards(registry, surprise):
    pass
