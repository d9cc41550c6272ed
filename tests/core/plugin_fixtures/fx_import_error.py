"""A plugin whose import fails."""
import freev2g_this_module_does_not_exist  # noqa: F401
