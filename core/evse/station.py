"""Station: builds boards, link, EvseManager, journal and uplinks from configuration and the
plugin registries, and fans session events out (ARCHITECTURE.md "Data path").

Implements freev2g.station.StationApi for uplinks. Event fan-out order: journal first (so a
record exists before anyone reacts), then station subscribers, then the
`freev2g_session_event` hook.
"""
from __future__ import annotations

import fcntl
import logging
import os
from typing import Any

from ..boards import BOARD_KINDS
from ..config import StationConfig
from ..journal import Journal
from ..model.enums import StopCause
from ..model.events import SessionEvent
from ..registry import BoardContext, LinkContext, RegistryError
from ..schedule import ScheduleManager
from ..station import EvseInfo, SessionListener, SessionSnapshot
from .manager import EvseManager
from .states import EvseTunables

log = logging.getLogger(__name__)

EVSE_BOARD_KINDS = tuple(k for k in BOARD_KINDS if k != "ev_board")


class StationError(RuntimeError):
    """The station cannot start: a driver, link or uplink is missing or failed to build."""


class Station:
    def __init__(
        self,
        config: StationConfig,
        *,
        pm: Any,
        clock: Any,
        board_shared: dict | None = None,
        link_shared: dict | None = None,
        journal_path: str | None = None,
        tunables: EvseTunables | None = None,
        journal_durability: str | None = None,
    ):
        self.config = config
        self.pm = pm
        self._clock = clock
        self.station_id = config.station.id
        self.vendor = config.station.vendor
        self.model = config.station.model
        self.board_shared = board_shared if board_shared is not None else {}
        self.link_shared = link_shared if link_shared is not None else {}
        self._journal_path = journal_path or config.journal
        # journal.py: "process" (default) or "power_loss"; from the argument, else from a
        # [station TOML] journal_durability; an explicit argument wins.
        self._journal_durability = journal_durability or config.journal_durability
        self._tunables = tunables
        self._schedules = ScheduleManager()
        self._journal: Journal | None = None
        self._journal_claim: int | None = None  # fd holding flock(LOCK_EX) on the journal file
        self._listeners: list[SessionListener] = []
        self.managers: dict[int, EvseManager] = {}
        self.boards: dict[str, Any] = {}
        self.link: Any = None
        self.uplinks: list[Any] = []
        self.running = False

    # ------------------------------------------------------------------ StationApi properties

    @property
    def clock(self):
        return self._clock

    @property
    def schedules(self) -> ScheduleManager:
        return self._schedules

    @property
    def journal(self) -> Journal | None:
        return self._journal

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.running:
            raise StationError(f"station {self.station_id} already started")
        self._journal = Journal(self._journal_path or ":memory:", durability=self._journal_durability)
        self._claim_journal()
        try:
            await self._start_claimed()
        except BaseException:
            self._journal.close()  # a station that did not start holds no journal
            self._release_journal()
            raise

    async def _start_claimed(self) -> None:
        for crashed in self._journal.close_crashed_sessions(StopCause.PROCESS_CRASH):
            log.warning("station %s: session %s (EVSE %s) was left open by a previous process; closed as %s "
                        "(ended_at %s, %.3f Wh)", self.station_id, crashed.session_id, crashed.evse_index,
                        crashed.stop_cause, crashed.ended_at.isoformat(), crashed.energy_import_Wh)
        regs = self.pm.registries()
        self.boards = self._build_boards(regs)
        self.link = self._build_link(regs)
        manager = EvseManager(
            self.config.evse,
            boards=self.boards,
            link=self.link,
            clock=self._clock,
            schedules=self._schedules,
            emit=self._emit,
            pm=self.pm,
            dc_rating=self.config.dc,
            evse_index=1,
            tunables=self._tunables,
        )
        self.managers[1] = manager
        await manager.start()
        for name, uplink_cfg in self.config.uplinks.items():
            try:
                factory = regs.uplinks.get(name).factory
                uplink = factory(uplink_cfg, self)
                await uplink.start()
            except Exception as exc:  # noqa: BLE001 - one broken uplink must not stop charging
                log.exception("station %s: uplink %r failed to start: %s", self.station_id, name, exc)
                continue
            self.uplinks.append(uplink)
        self.running = True
        self.pm.call_each("freev2g_station_started", station=self)

    def _claim_journal(self) -> None:
        """One running station per journal file: crash recovery closes every open session, so a
        second live station on the same file must not start. flock on the file itself (sqlite
        uses fcntl locks, which are independent of flock on Linux); the kernel drops it when the
        process dies, however it dies."""
        path = self._journal_path
        if not path or path == ":memory:" or path.startswith("file:"):
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._journal.close()  # before os.close(fd): closing any fd drops this process's fcntl locks
            self._journal = None
            os.close(fd)
            raise StationError(f"journal = {path!r}: in use by another running station process "
                               f"(give each station its own journal file)") from None
        self._journal_claim = fd

    def _release_journal(self) -> None:
        if self._journal_claim is not None:
            os.close(self._journal_claim)  # after journal.close(): see _claim_journal
            self._journal_claim = None

    def _build_boards(self, regs) -> dict[str, Any]:
        boards: dict[str, Any] = {}
        for kind in EVSE_BOARD_KINDS:
            name = getattr(self.config.board, kind, None)
            if not name:
                continue
            try:
                reg = regs.boards.get(kind, name)
            except RegistryError as exc:
                raise StationError(f"board.{kind} = {name!r}: {exc}") from exc
            ctx = BoardContext(clock=self._clock, station_id=self.station_id, evse_index=1, shared=self.board_shared)
            try:
                boards[kind] = reg.factory(dict(self.config.board.options.get(name, {})), ctx)
            except Exception as exc:
                raise StationError(f"board.{kind} = {name!r}: driver failed to start: {exc}") from exc
        if "bsp" not in boards:
            raise StationError("board.bsp must name a control pilot driver")
        return boards

    def _build_link(self, regs) -> Any:
        name = self.config.link.name
        if not name:
            return None
        try:
            reg = regs.links.get(name, "evse")
        except RegistryError as exc:
            raise StationError(f"link.name = {name!r}: {exc}") from exc
        ctx = LinkContext(clock=self._clock, boards=self.boards, shared=self.link_shared,
                          traffic=self._traffic_log(self.config.evse, evse_index=1))
        try:
            return reg.factory(dict(self.config.link.options), ctx)
        except Exception as exc:
            raise StationError(f"link {name!r}: failed to start: {exc}") from exc

    def _traffic_log(self, evse_cfg: Any, *, evse_index: int) -> Any:
        """The V2G session log of one EVSE (keys session_logging, _path, _xml), or None."""
        if not evse_cfg.session_logging:
            return None
        from ..v2g_traffic import TrafficLog

        def session_id() -> str:
            manager = self.managers.get(evse_index)
            session = getattr(manager, "session", None) if manager is not None else None
            return getattr(session, "session_id", "") or ""

        return TrafficLog(journal=self._journal, session_id=session_id, clock=self._clock, evse_index=evse_index,
                          path=evse_cfg.session_logging_path or None, xml=evse_cfg.session_logging_xml)

    async def stop(self) -> None:
        """Power off every EVSE (journalled as PROCESS_SHUTDOWN), stop uplinks, call the hook."""
        for manager in self.managers.values():
            try:
                await manager.shutdown(StopCause.PROCESS_SHUTDOWN)
            except Exception:  # noqa: BLE001 - keep going: the other EVSEs must power off too
                log.exception("station %s: EVSE %s shutdown failed", self.station_id, manager.evse_index)
        for uplink in self.uplinks:
            try:
                await uplink.stop()
            except Exception:  # noqa: BLE001
                log.exception("station %s: uplink stop failed", self.station_id)
        self.uplinks.clear()
        self.pm.call_each("freev2g_station_stopping", station=self)
        self.running = False
        if self._journal is not None:
            self._journal.close()
        self._release_journal()

    # ------------------------------------------------------------------ events

    def _emit(self, event: SessionEvent) -> None:
        if self._journal is not None:
            try:
                self._journal.record(event)
            except Exception:  # noqa: BLE001 - charging goes on; the failure is loud
                log.exception("station %s: journal write failed for %s", self.station_id, event.kind)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001
                log.exception("station %s: session listener failed on %s", self.station_id, event.kind)
        self.pm.call_each("freev2g_session_event", event=event)

    def subscribe(self, listener: SessionListener) -> None:
        self._listeners.append(listener)

    # ------------------------------------------------------------------ StationApi

    def manager(self, evse_index: int = 1) -> EvseManager:
        try:
            return self.managers[evse_index]
        except KeyError:
            raise KeyError(f"station {self.station_id} has no EVSE {evse_index} (has {sorted(self.managers)})") from None

    def evses(self) -> list[EvseInfo]:
        return [m.info() for m in self.managers.values()]

    def session(self, evse_index: int) -> SessionSnapshot | None:
        manager = self.managers.get(evse_index)
        return manager.snapshot() if manager else None

    async def remote_start(self, evse_index: int, id_token: str) -> bool:
        manager = self.managers.get(evse_index)
        return await manager.remote_start(id_token) if manager else False

    async def present_id_token(self, evse_index: int, id_token: str, token_type: str = "ISO14443") -> None:
        await self.manager(evse_index).present_id_token(id_token, token_type)

    async def reject_authorization(self, evse_index: int, reason: str = "") -> bool:
        manager = self.managers.get(evse_index)
        return await manager.reject_authorization(reason) if manager else False

    async def remote_stop(self, evse_index: int, cause: StopCause = StopCause.REMOTE_STOP) -> bool:
        manager = self.managers.get(evse_index)
        return await manager.remote_stop(cause) if manager else False

    async def unlock_connector(self, evse_index: int) -> bool:
        manager = self.managers.get(evse_index)
        return await manager.unlock_connector() if manager else False

    async def set_available(self, evse_index: int, available: bool) -> bool:
        manager = self.managers.get(evse_index)
        return await manager.set_available(available) if manager else False
