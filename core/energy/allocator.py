"""Sharing one grid connection among the EVSEs of a station: a pure function, no I/O.

The grid connection has a limit in A per phase and/or in W. Every EVSE that wants energy
(`Consumer.active`) gets a share of it in A per phase on the grid side:

* higher `priority` first: a priority group is served completely (up to each EVSE's own cap)
  before the next lower group gets what is left; priority is our convention (larger number
  wins, equal numbers share), not taken from a standard;
* inside a group the current is shared equally ("water filling"): an EVSE whose own cap is
  below the equal share keeps its cap and the rest goes to the others;
* an EVSE that cannot get its minimum current (AC: 6 A, IEC 61851-1 PWM) gets 0 instead, so the
  others get its share; within a group the highest evse index is dropped first;
* the per-phase limit is applied to the plain sum of the EVSEs' phase currents: a single-phase
  EVSE is assumed to sit on the same phase as every other one (the phase rotation of the
  installation is not known), which is safe but may leave a 1-phase station's other phases
  unused [verify: make the phase rotation configurable when a site needs it];
* the W limit counts each EVSE as nominal voltage x phases x current. DC EVSEs are counted as
  3-phase loads of their output power (converter losses not counted [verify]).
"""
from __future__ import annotations

import math
from typing import Iterable

from attrs import field, frozen


def _finite_or_inf(instance, attribute, value):
    if math.isnan(value) or value < 0:
        raise ValueError(f"{attribute.name} must be >= 0 (or inf), got {value!r}")


@frozen(kw_only=True)
class GridLimit:
    """The connection's limit; inf where none is given."""

    max_A: float = field(default=math.inf, validator=_finite_or_inf)  # per phase
    max_W: float = field(default=math.inf, validator=_finite_or_inf)


@frozen(kw_only=True)
class Consumer:
    """One EVSE as the allocator sees it."""

    evse_index: int
    active: bool  # a car is plugged in and its session is not finished
    voltage_V: float = 230.0  # nominal phase voltage
    phases: int = 3
    max_A: float = field(default=math.inf, validator=_finite_or_inf)  # the EVSE's own cap, per phase
    max_W: float = field(default=math.inf, validator=_finite_or_inf)
    min_A: float = field(default=0.0, validator=_finite_or_inf)  # below this it cannot deliver at all
    priority: int = 0

    def __attrs_post_init__(self):
        if self.phases not in (1, 2, 3):
            raise ValueError(f"evse {self.evse_index}: phases must be 1, 2 or 3, got {self.phases!r}")
        if not self.voltage_V > 0:
            raise ValueError(f"evse {self.evse_index}: voltage_V must be > 0, got {self.voltage_V!r}")

    @property
    def watts_per_A(self) -> float:
        return self.voltage_V * self.phases

    @property
    def cap_A(self) -> float:
        return min(self.max_A, self.max_W / self.watts_per_A)


@frozen(kw_only=True)
class Allocation:
    evse_index: int
    limit_A: float  # per phase; inf: neither the grid nor the EVSE sets a limit
    limit_W: float
    reason: str  # "idle" | "share" | "own limit" | "below minimum"


def _level(caps: list[float], weights: list[float], budget: float) -> float:
    """The largest L with sum(w * min(cap, L)) <= budget (inf when everything fits)."""
    if math.isinf(budget):
        return math.inf
    order = sorted(range(len(caps)), key=lambda i: caps[i])
    used = 0.0  # by the saturated ones
    slope = sum(weights)
    for i in order:
        if slope <= 0:
            return math.inf
        level = (budget - used) / slope
        if level <= caps[i]:
            return max(0.0, level)
        used += weights[i] * caps[i]
        slope -= weights[i]
    return math.inf


def _share(group: list[Consumer], budget_A: float, budget_W: float) -> dict[int, float]:
    """Water-fill one priority group; drop members that cannot reach their minimum."""
    members = [c for c in group if c.cap_A >= c.min_A and c.cap_A > 0]
    while members:
        caps = [c.cap_A for c in members]
        level = min(_level(caps, [1.0] * len(members), budget_A),
                    _level(caps, [c.watts_per_A for c in members], budget_W))
        given = {c.evse_index: min(c.cap_A, level) for c in members}
        short = [c for c in members if given[c.evse_index] < c.min_A]
        if not short:
            return given
        drop = max(members, key=lambda c: c.evse_index)
        members = [c for c in members if c is not drop]
    return {}


def _minus(left: float, used: float) -> float:
    return left if math.isinf(left) else max(0.0, left - used)


def allocate(grid: GridLimit, consumers: Iterable[Consumer]) -> dict[int, Allocation]:
    """Each EVSE's limit (A per phase and W) so that the sum stays within `grid`."""
    consumers = list(consumers)
    seen: set[int] = set()
    for c in consumers:
        if c.evse_index in seen:
            raise ValueError(f"evse {c.evse_index} given twice")
        seen.add(c.evse_index)
    left_A, left_W = grid.max_A, grid.max_W
    granted: dict[int, float] = {}
    active = [c for c in consumers if c.active]
    for priority in sorted({c.priority for c in active}, reverse=True):
        group = [c for c in active if c.priority == priority]
        given = _share(group, left_A, left_W)
        granted.update(given)
        left_A = _minus(left_A, sum(given.values()))
        left_W = _minus(left_W, sum(given[c.evse_index] * c.watts_per_A for c in group if c.evse_index in given))
    result: dict[int, Allocation] = {}
    for c in consumers:
        amps = granted.get(c.evse_index, 0.0)
        if not c.active:
            reason = "idle"
        elif c.evse_index not in granted:
            reason = "below minimum"
        elif amps >= c.cap_A:
            reason = "own limit"
        else:
            reason = "share"
        if not math.isinf(amps):
            amps = math.floor(amps * 10 + 1e-9) / 10  # round down to 0.1 A: the sum never exceeds the grid
        result[c.evse_index] = Allocation(evse_index=c.evse_index, limit_A=amps, limit_W=round(amps * c.watts_per_A, 1),
                                          reason=reason)
    return result


__all__ = ["Allocation", "Consumer", "GridLimit", "allocate"]
