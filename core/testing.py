"""pytest helpers for plugin authors: add `pytest_plugins = ["freev2g.testing"]` to your root conftest.py.

Fixtures:
  virtual_loop   run a coroutine on a VirtualTimeEventLoop: `virtual_loop(coro)` returns its
                 result; waits cost no real time and every timeout is still enforced.
  plugin_manager a freev2g plugin manager with entry points loaded (as the CLI builds it).
"""
from __future__ import annotations

import pytest

from .clock import run


@pytest.fixture
def virtual_loop():
    def runner(coro):
        return run(coro, virtual_time=True)

    return runner


@pytest.fixture
def plugin_manager():
    from .plugins import get_plugin_manager

    return get_plugin_manager()
