"""Finds the compiled C core for the facades (freev2g.framing, freev2g.timing).

The product module is ``freev2g._core`` (built by core/cext/build_ffi.py). The environment
variable FREEV2G_CORE_MODULE names another build of the same sources to use instead, e.g. the
AddressSanitizer build made by tests/sanitizer/run.sh; there is no silent fallback.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

CORE_MODULE_ENV = "FREEV2G_CORE_MODULE"
DEFAULT_CORE_MODULE = "freev2g._core"


def load_core() -> ModuleType:
    """Import the cffi module (exports ``ffi`` and ``lib``) chosen by FREEV2G_CORE_MODULE."""
    name = os.environ.get(CORE_MODULE_ENV) or DEFAULT_CORE_MODULE
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        hint = (
            "build it with `pip install -e .` (or `python setup.py build_ext --inplace`)"
            if name == DEFAULT_CORE_MODULE
            else f"check {CORE_MODULE_ENV} and PYTHONPATH"
        )
        raise ImportError(f"freev2g C core module {name!r} cannot be imported ({exc}); {hint}") from exc
