"""SAScheduleList / PMaxSchedule with the ISO 15118-2 limits (charging-domain.md 6.1, uplinks.md 3.3).

1..3 tuples per list, tuple ids 1..255, 1..1024 entries per PMaxSchedule, PMax in W, entry
start 0..16 777 214 s, duration 0..86 400 s. Starts are relative to the moment the SECC sends
ChargeParameterDiscoveryRes. An entry lasts until the next entry's start; the last one carries
`duration_s`.
"""
from __future__ import annotations

from attrs import field, frozen

from ._validate import finite

MAX_TUPLES = 3
MAX_ENTRIES = 1024
MAX_START_S = 16_777_214
MAX_DURATION_S = 86_400


class ScheduleError(ValueError):
    """A schedule that breaks an ISO 15118-2 limit; the message names the limit and value."""


@frozen
class PMaxScheduleEntry:
    start_s: int
    pmax_W: float = field(validator=finite)
    duration_s: int | None = None

    def __attrs_post_init__(self):
        if not isinstance(self.start_s, int) or not 0 <= self.start_s <= MAX_START_S:
            raise ScheduleError(f"PMaxScheduleEntry.start_s must be 0..{MAX_START_S}, got {self.start_s!r}")
        if self.duration_s is not None and not 0 <= self.duration_s <= MAX_DURATION_S:
            raise ScheduleError(
                f"PMaxScheduleEntry.duration_s must be 0..{MAX_DURATION_S}, got {self.duration_s!r}"
            )


@frozen
class SAScheduleTuple:
    tuple_id: int
    entries: tuple[PMaxScheduleEntry, ...] = field(converter=tuple)

    def __attrs_post_init__(self):
        if not isinstance(self.tuple_id, int) or not 1 <= self.tuple_id <= 255:
            raise ScheduleError(f"SAScheduleTuple.tuple_id must be 1..255, got {self.tuple_id!r}")
        if not 1 <= len(self.entries) <= MAX_ENTRIES:
            raise ScheduleError(
                f"SAScheduleTuple {self.tuple_id}: needs 1..{MAX_ENTRIES} entries, got {len(self.entries)}"
            )
        if self.entries[0].start_s != 0:
            raise ScheduleError(f"SAScheduleTuple {self.tuple_id}: first entry must start at 0 s")
        starts = [e.start_s for e in self.entries]
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ScheduleError(f"SAScheduleTuple {self.tuple_id}: entry starts must increase, got {starts}")

    @property
    def covered_s(self) -> int:
        """Seconds from 0 to the end of the last entry (its start + duration)."""
        last = self.entries[-1]
        return last.start_s + (last.duration_s or 0)

    def pmax_at(self, t_s: float) -> float:
        """PMax in force t_s seconds after the schedule's time base."""
        current = self.entries[0].pmax_W
        for entry in self.entries:
            if entry.start_s <= t_s:
                current = entry.pmax_W
            else:
                break
        return current


@frozen
class SAScheduleList:
    tuples: tuple[SAScheduleTuple, ...] = field(converter=tuple)

    def __attrs_post_init__(self):
        if not 1 <= len(self.tuples) <= MAX_TUPLES:
            raise ScheduleError(f"SAScheduleList needs 1..{MAX_TUPLES} tuples, got {len(self.tuples)}")
        ids = [t.tuple_id for t in self.tuples]
        if len(set(ids)) != len(ids):
            raise ScheduleError(f"SAScheduleList tuple ids must be unique, got {ids}")

    def get(self, tuple_id: int) -> SAScheduleTuple | None:
        return next((t for t in self.tuples if t.tuple_id == tuple_id), None)


@frozen
class ChargingProfileEntry:
    """EV ChargingProfile entry in PowerDeliveryReq (1..24 entries)."""

    start_s: int
    max_power_W: float = field(validator=finite)
    max_phases: int | None = None
