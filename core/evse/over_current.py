"""AC soft over-current watch (EvseManager `soft_over_current_tolerance_percent`,
`soft_over_current_measurement_noise_A`, `soft_over_current_timeout_ms`).

The EV may draw up to the current signalled to it (PWM duty in basic charging, the HLC limit
otherwise) plus the measurement noise, plus the tolerance in percent of that sum. A draw above
that on any phase for longer than the timeout stops the session with `over_current`. EVerest
computes the same limit from the same three keys; the timeout (7 s by default) is longer than
the 5 s IEC 61851-1 gives an EV to follow a lower duty, so a car that follows a reduced duty in
time is never stopped.

`SoftOverCurrentWatch` is pure (readings and times in, a verdict out); `check_ac` is the
EvseManager's monitor-tick glue.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import define

from ..model.enums import StopCause

if TYPE_CHECKING:  # pragma: no cover
    from .manager import EvseManager


@define
class SoftOverCurrentWatch:
    tolerance_pct: float
    noise_A: float
    timeout_s: float
    _above_since_s: float | None = None

    @classmethod
    def from_config(cls, config) -> "SoftOverCurrentWatch":
        return cls(float(config.soft_over_current_tolerance_percent),
                   float(config.soft_over_current_measurement_noise_A),
                   config.soft_over_current_timeout_ms / 1000.0)

    def limit_A(self, allowed_A: float) -> float:
        return (allowed_A + self.noise_A) * (1.0 + self.tolerance_pct / 100.0)

    def reset(self) -> None:
        self._above_since_s = None

    def check(self, drawn_A: float, allowed_A: float, now_s: float) -> str | None:
        """None while fine (or still within the timeout); the reason once the stop is due."""
        limit = self.limit_A(allowed_A)
        if abs(drawn_A) <= limit:
            self._above_since_s = None
            return None
        if self._above_since_s is None:
            self._above_since_s = now_s
        held_s = now_s - self._above_since_s
        if held_s < self.timeout_s:
            return None
        self._above_since_s = None
        return (f"EV draws {abs(drawn_A):.1f} A, above the {limit:.2f} A allowed ({allowed_A:.1f} A signalled "
                f"+ {self.noise_A:g} A noise + {self.tolerance_pct:g} %) for {held_s:.1f} s "
                f"(soft_over_current_timeout_ms = {self.timeout_s * 1000:.0f})")


def signalled_current_A(m: "EvseManager") -> float | None:
    """What the EV was told it may draw now; None when the watch does not apply (DC, no
    energy, no running AC session)."""
    s = m.session
    if m.is_dc or not m.energy_on or s is None or s.finished or s.stopping:
        return None
    if s.hlc:
        return m.ac.current_limit_A() if s.power_delivery_started and not m.evse_paused else 0.0
    return m.ac.signalled_A if m.ac.nominal_pwm else 0.0


def check_ac(m: "EvseManager", now_s: float) -> None:
    """One monitor tick: compare the meter's current with the signalled current."""
    watch = m.over_current
    allowed = signalled_current_A(m)
    if allowed is None:
        watch.reset()
        return
    reading = m.meter_reading()
    drawn = reading[4]
    if drawn is None or m.meter is None:
        return  # no current measurement: nothing to compare (the meter's own failure is handled)
    reason = watch.check(drawn, allowed, now_s)
    if reason is not None:
        m.spawn(m.stop(StopCause.OVER_CURRENT, reason, fault=True))
