"""freev2g: the software around an ISO 15118 communication module.

Public façade: the hookimpl marker for plugin authors, the version, and the main value types.
"""
from __future__ import annotations

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("freev2g")

from .model import (  # noqa: E402  (after hookimpl: plugins import it from here)
    CPState,
    EnergyTransferMode,
    PaymentOption,
    PhysicalValue,
    Protocol,
    SAScheduleList,
    SessionEvent,
    StopCause,
)

__all__ = [
    "__version__",
    "hookimpl",
    "CPState",
    "EnergyTransferMode",
    "PaymentOption",
    "PhysicalValue",
    "Protocol",
    "SAScheduleList",
    "SessionEvent",
    "StopCause",
]
