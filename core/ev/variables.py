"""The ISO15118_ev interface's argument types and variables (seed 000 / 001), as value objects.

Variables are published as `EvVarEvent`s on a small bus: `subscribe(listener)` for every
update, `latest(name)` for the last value, `await wait_for(name, ...)` for scenarios.
Names and meanings are exactly the seed's; units are added to field names (EAmount in kWh
is converted to Wh by the controller, charging-domain.md 10).
"""
from __future__ import annotations

import asyncio
import logging
from enum import Enum
from typing import Any, Callable

from attrs import field, frozen

from ..model._validate import non_negative, percent

log = logging.getLogger(__name__)


class EvVar(str, Enum):
    """ISO15118_ev `vars` (seed 000)."""

    V2G_SESSION_FINISHED = "v2g_session_finished"  # null: the V2G session is over
    EV_POWER_READY = "ev_power_ready"  # bool: the car is ready for power (HLC)
    AC_EVSE_MAX_CURRENT = "ac_evse_max_current"  # A per phase, 0..400
    AC_EVSE_TARGET_POWER = "ac_evse_target_power"  # AcTargetPower
    DC_POWER_ON = "dc_power_on"  # null: the EV wants to close its DC contactors
    STOP_FROM_CHARGER = "stop_from_charger"  # null: the charger wants to stop
    PAUSE_FROM_CHARGER = "pause_from_charger"  # null: the charger wants to pause (-20 only)


@frozen(kw_only=True)
class AcTargetPower:
    """iso15118 AcTargetPower: the EVSE's AC target active power (ISO 15118-20 AC loop)."""

    target_active_power_W: float
    target_active_power_L2_W: float | None = None
    target_active_power_L3_W: float | None = None


@frozen(kw_only=True)
class DcEvParameters:
    """iso15118 DcEvParameters (set_dc_params): the EV's DC limits and targets."""

    max_current_limit_A: float = field(validator=non_negative)
    max_voltage_limit_V: float = field(validator=non_negative)
    max_power_limit_W: float | None = field(default=None, validator=non_negative)
    energy_capacity_Wh: float | None = field(default=None, validator=non_negative)
    target_current_A: float | None = field(default=None, validator=non_negative)
    target_voltage_V: float | None = field(default=None, validator=non_negative)


@frozen(kw_only=True)
class DcEvBPTParameters:
    """iso15118 DcEvBPTParameters (set_bpt_dc_params): discharge limits as magnitudes."""

    discharge_max_current_limit_A: float = field(validator=non_negative)
    discharge_max_power_limit_W: float = field(validator=non_negative)
    discharge_target_current_A: float = field(default=0.0, validator=non_negative)
    discharge_minimal_soc_pct: float = field(default=20.0, validator=percent)


@frozen(kw_only=True)
class EvVarEvent:
    name: EvVar
    value: Any = None
    time_s: float = 0.0


EvVarListener = Callable[[EvVarEvent], None]


class VarBus:
    """Publishes ISO15118_ev variables; listeners must not block (a raising one is logged)."""

    def __init__(self, clock) -> None:
        self._clock = clock
        self._listeners: list[EvVarListener] = []
        self._latest: dict[EvVar, EvVarEvent] = {}
        self._counts: dict[EvVar, int] = {}
        self._waiters: list[tuple[EvVar, Callable[[Any], bool], asyncio.Future]] = []

    def subscribe(self, listener: EvVarListener) -> None:
        self._listeners.append(listener)

    def latest(self, name: EvVar) -> EvVarEvent | None:
        return self._latest.get(EvVar(name))

    def count(self, name: EvVar) -> int:
        """How many times `name` was published (null-typed variables are pulses)."""
        return self._counts.get(EvVar(name), 0)

    def publish(self, name: EvVar, value: Any = None) -> None:
        event = EvVarEvent(name=name, value=value, time_s=self._clock.monotonic())
        self._latest[name] = event
        self._counts[name] = self._counts.get(name, 0) + 1
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - one bad listener must not stop the EV
                log.exception("ISO15118_ev variable listener failed on %s", name.value)
        for waiter in list(self._waiters):
            wname, pred, fut = waiter
            if wname is name and not fut.done() and pred(value):
                fut.set_result(event)
                self._waiters.remove(waiter)

    async def wait_for(
        self,
        name: EvVar,
        value: Any = None,
        *,
        timeout_s: float | None = None,
        already: bool = True,
    ) -> EvVarEvent:
        """Wait until `name` is published (with `value`, when given). With `already`, a value
        published before the call counts. Raises TimeoutError after `timeout_s` (clock time)."""
        name = EvVar(name)

        def pred(v: Any) -> bool:
            return value is None or v == value

        last = self._latest.get(name)
        if already and last is not None and pred(last.value):
            return last
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        entry = (name, pred, fut)
        self._waiters.append(entry)
        try:
            return await self._clock.wait_for(fut, timeout_s)
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)
