"""A plugin that raises while registering."""
import freev2g


@freev2g.hookimpl
def freev2g_register_boards(registry):
    raise RuntimeError("the vendor SDK is not installed")
