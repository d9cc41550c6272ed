# Root conftest: the freev2g pytest helpers (virtual_loop, plugin_manager) for every test dir.
pytest_plugins = ["freev2g.testing"]
