"""EVCC for DIN SPEC 70121: the -2 client with DIN's messages (charging-domain.md 3.5)."""
from __future__ import annotations

from freev2g.model.enums import Protocol

from ..messages import din
from .client import EvccSession


class DinClient(EvccSession):
    protocol = Protocol.DIN70121
    M = din
