"""The EvseManager's meter and power-supply readings when they fail (issue #10 items 11, 12).

Meter (charging-domain.md 7, EVerest `fail_on_powermeter_errors`): a meter that raises, reports a
fault, returns a non-finite value or a register that runs backwards, or stops answering, is
failed. With `fail_on_powermeter_errors = true` the session stops (`power_meter_fault`); with
false it goes on, and the session's energy is the last good register minus the first, never
negative, marked incomplete in the journal. Nothing invents a value: while the meter is failed
the charge-loop answers carry no meter reading and no MeterSample is recorded.

`read()` of a meter driver is synchronous (a cached value, boards.py) or may return an awaitable
(a meter on a bus); the poll task awaits that for at most `read_timeout_s`, so a meter that stops
answering is a fault after that time instead of a hung station.

Power supply: `read_supply()` turns any failure of `psu.read()` into SupplyReadError, which the
link handler journals as `power_supply_fault` (not an internal error).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import math
from typing import TYPE_CHECKING, Any

from ..boards import BoardError, PowerMeterReading, PowerSupplyReading
from ..model import events as ev
from ..model.enums import StopCause

if TYPE_CHECKING:  # pragma: no cover
    from .manager import EvseManager
    from .states import SessionContext

log = logging.getLogger(__name__)

METER_POLL_S = 1.0  # meter polled this often while a session is open
METER_READ_TIMEOUT_S = 2.0  # an awaitable read() not done by then: the meter stopped answering


class SupplyReadError(BoardError):
    """psu.read() failed; the answer that needed it cannot be given."""


def read_supply(psu: Any) -> PowerSupplyReading:
    try:
        reading = psu.read()
        voltage_V, current_A = float(reading.voltage_V), float(reading.current_A)
    except Exception as exc:  # noqa: BLE001 - any failure of the driver is a supply fault
        raise SupplyReadError(f"power supply read failed: {exc!r}") from exc
    if not (math.isfinite(voltage_V) and math.isfinite(current_A)):
        raise SupplyReadError(f"power supply read failed: non-finite reading {voltage_V!r} V / {current_A!r} A")
    return reading


class Metering:
    def __init__(self, manager: "EvseManager", *, poll_s: float = METER_POLL_S,
                 read_timeout_s: float = METER_READ_TIMEOUT_S):
        self.m = manager
        self.meter = manager.meter
        self.poll_s = poll_s
        self.read_timeout_s = read_timeout_s
        self.last_good: PowerMeterReading | None = None
        self.failure: str | None = None  # why the meter is failed now (None: fine)
        self._async_driver = False
        self._session: "SessionContext | None" = None
        self._first: PowerMeterReading | None = None  # the session's first good reading
        self._last: PowerMeterReading | None = None  # and its last
        self._incomplete = ""  # why the session's energy is incomplete ("" = complete)
        self._reported: "SessionContext | None" = None  # the session whose failure is recorded

    # ------------------------------------------------------------------ reading

    def current(self) -> PowerMeterReading | None:
        """The meter now, or None while it is failed. Never blocks: an awaitable driver is
        served from what the poll task read last (if that is fresh)."""
        if self.meter is None:
            return None
        if self._async_driver:
            return self.last_good if self.failure is None else None
        try:
            result = self.meter.read()
        except Exception as exc:  # noqa: BLE001 - any driver error is a meter fault
            self.failed(f"read failed: {exc!r}")
            return None
        if inspect.isawaitable(result):
            self._async_driver = True
            if inspect.iscoroutine(result):
                result.close()  # the poll task awaits its own
            return self.last_good if self.failure is None else None
        return self._accept(result)

    async def poll(self) -> PowerMeterReading | None:
        """One reading, awaited for at most read_timeout_s when the driver is asynchronous."""
        if self.meter is None:
            return None
        try:
            result = self.meter.read()
            if inspect.isawaitable(result):
                self._async_driver = True
                result = await self.m.clock.wait_for(result, self.read_timeout_s)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            self.failed(f"no answer in {self.read_timeout_s:g} s")
            return None
        except Exception as exc:  # noqa: BLE001
            self.failed(f"read failed: {exc!r}")
            return None
        return self._accept(result)

    async def run(self) -> None:
        """Poll task: while a session is open, one reading every poll_s."""
        while True:
            await self.m.clock.sleep(self.poll_s)
            s = self.m.session
            if self.meter is not None and s is not None and not s.finished:
                await self.poll()

    def _accept(self, r: Any) -> PowerMeterReading | None:
        try:
            values = (float(r.energy_import_Wh), float(r.energy_export_Wh), float(r.power_W))
        except Exception as exc:  # noqa: BLE001 - not a reading at all
            self.failed(f"bad reading {r!r}: {exc!r}")
            return None
        if not all(math.isfinite(v) for v in values):
            self.failed(f"non-finite reading {values}")
            return None
        prev = self._last if self._last is not None else None
        if prev is not None and (r.energy_import_Wh < prev.energy_import_Wh - 1e-6
                                 or r.energy_export_Wh < prev.energy_export_Wh - 1e-6):
            self.failed(f"energy register ran backwards ({prev.energy_import_Wh} -> {r.energy_import_Wh} Wh)")
            return None
        if self.failure is not None:
            log.warning("evse %s: power meter answers again (was: %s)", self.m.evse_index, self.failure)
            self.failure = None
        self.last_good = r
        self._track(r)
        return r

    # ------------------------------------------------------------------ session energy

    def begin_session(self, s: "SessionContext") -> PowerMeterReading | None:
        """Called when a session opens; returns its first reading (None: meter failed)."""
        self._session, self._first, self._last, self._incomplete = s, None, None, ""
        r = self.current()
        if r is None and self.meter is not None:
            self._incomplete = self._incomplete or f"no meter reading at the start ({self.failure})"
        return r

    def _track(self, r: PowerMeterReading) -> None:
        s = self.m.session
        if s is None or s.finished or s is not self._session:
            return
        if self._first is None:
            self._first = r
        self._last = r

    def session_energy(self) -> tuple[float, float, str]:
        """(import Wh, export Wh, why incomplete or ""): last good register minus the first."""
        if self.meter is None:
            return 0.0, 0.0, ""
        self.current()
        first, last = self._first, self._last
        if first is None or last is None:
            return 0.0, 0.0, self._incomplete or "no meter reading in the session"
        return (max(0.0, last.energy_import_Wh - first.energy_import_Wh),
                max(0.0, last.energy_export_Wh - first.energy_export_Wh), self._incomplete)

    # ------------------------------------------------------------------ failures

    def failed(self, detail: str) -> None:
        """The meter failed (read error, timeout, bad value, or a fault event of the driver)."""
        first_time = self.failure is None
        self.failure = detail
        m = self.m
        s = m.session
        if s is None or s.finished:
            if first_time:
                log.error("evse %s: power meter: %s", m.evse_index, detail)
            return
        if s is self._session and not self._incomplete:
            self._incomplete = f"power meter failed: {detail}"
        if self._reported is s:
            return  # one record per session
        self._reported = s
        if m.config.fail_on_powermeter_errors:
            log.error("evse %s: power meter %s; stopping (fail_on_powermeter_errors)", m.evse_index, detail)
            m.spawn(m.stop(StopCause.POWER_METER_FAULT, f"power meter: {detail}", fault=True))
            return
        log.warning("evse %s: power meter %s; charging continues (fail_on_powermeter_errors = false), "
                    "the session's energy is incomplete", m.evse_index, detail)
        m._emit_safely(ev.FaultRaised, cause=StopCause.POWER_METER_FAULT,
                       detail=f"power meter: {detail}; charging continues (fail_on_powermeter_errors = false), "
                              "energy incomplete")
