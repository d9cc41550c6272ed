"""What an uplink (OCPP, OCPI, or a third-party plugin) may see and do at a station.

The concrete implementation lives in core/evse/station.py; uplinks receive it through their
factory and use only this API.
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from attrs import frozen

from .model.enums import ChargeMode, StopCause
from .model.events import SessionEvent


@frozen(kw_only=True)
class EvseInfo:
    index: int  # 1-based, OCPP evseId
    evse_id: str  # e.g. "DE*PNX*E1234567*1"
    connector_id: int
    charge_mode: ChargeMode
    max_power_W: float
    max_current_A: float
    nominal_voltage_V: float
    phases: int
    bidirectional: bool
    connector_type: str = "Unknown"


@frozen(kw_only=True)
class SessionSnapshot:
    """The state of one EVSE's current session, as an uplink may report it."""

    session_id: str
    evse_index: int
    state: str
    started_at: object  # datetime
    iso_session_id: str | None
    id_token: str | None
    energy_import_Wh: float
    energy_export_Wh: float
    power_W: float | None  # None while the meter is failed (never an invented 0)
    soc_pct: float | None


SessionListener = Callable[[SessionEvent], None]


@runtime_checkable
class StationApi(Protocol):
    station_id: str
    vendor: str  # BootNotification chargingStation.vendorName
    model: str

    @property
    def clock(self): ...  # freev2g.clock.Clock

    @property
    def schedules(self): ...  # freev2g.schedule.ScheduleManager

    @property
    def journal(self): ...  # freev2g.journal.Journal

    def subscribe(self, listener: SessionListener) -> None:
        """Receive every SessionEvent of every EVSE (called in the loop; must not block)."""

    def evses(self) -> list[EvseInfo]: ...

    def session(self, evse_index: int) -> SessionSnapshot | None: ...

    async def remote_start(self, evse_index: int, id_token: str) -> bool:
        """Authorize the next (or the waiting) session on that EVSE."""

    async def present_id_token(self, evse_index: int, id_token: str, token_type: str = "ISO14443") -> None:
        """A token was presented locally (RFID reader, app): the EvseManager asks the policy
        hook, else emits AuthorizationRequested for the uplinks to decide."""

    async def reject_authorization(self, evse_index: int, reason: str = "") -> bool:
        """Refuse the waiting authorization (e.g. the CSMS answered Invalid)."""

    async def remote_stop(self, evse_index: int, cause: StopCause = StopCause.REMOTE_STOP) -> bool: ...

    async def unlock_connector(self, evse_index: int) -> bool: ...

    async def set_available(self, evse_index: int, available: bool) -> bool: ...
