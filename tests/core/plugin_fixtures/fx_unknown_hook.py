"""A plugin implementing a hook that does not exist."""
import freev2g


@freev2g.hookimpl
def freev2g_register_teleporter(registry):
    pass
