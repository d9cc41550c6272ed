"""What the CSMS-request handlers (handlers16.py, handlers201.py) need from the uplink.

The handlers receive an object with this shape (OcppUplink is one) instead of importing the
uplink module, so the import graph has no circle: uplink -> handlers -> context, never back.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from freev2g.station import EvseInfo, StationApi

from .config import OcppConfig
from .outbox import Outbox
from .variables import Variables


class UplinkContext(Protocol):
    cfg: OcppConfig
    station: StationApi
    version: str
    outbox: Outbox
    variables: Variables
    mapper: Any  # the version's EventMapper (mapping16 / mapping201)
    reset_on_idle: str | None  # the Reset type waiting for every EVSE to be idle, or None

    def now(self) -> datetime: ...

    def evse_indices(self) -> list[int]: ...

    def evse_info(self, index: int) -> EvseInfo | None: ...

    def max_power_W(self, evse_index: int) -> float: ...

    async def change_availability(self, targets: list[int], available: bool) -> str:
        """Apply now ("Accepted") or when the EVSE's transaction ends ("Scheduled")."""
        ...

    def trigger(self, what: str, evse_index: int | None) -> None: ...

    async def soft_reset(self, reason: str, *, stopped_reason: str | None = None) -> None: ...
