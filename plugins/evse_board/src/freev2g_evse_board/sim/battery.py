"""EV traction battery: open-circuit voltage curve, internal resistance, CC/CV taper.

The battery is a voltage source (OCV from SoC) behind an internal resistance. Charging power at
the terminals splits into stored energy (OCV x I) and heat (I^2 R), so the energy balance of the
whole sim closes exactly. The taper is what a BMS allows: full current below
`cv_start_soc_pct`, then linearly down to `min_taper_current_pct` at 100 %, never above the
current that would push the terminal voltage over `max_voltage_V` (constant voltage).
"""
from __future__ import annotations

from attrs import define, field

from .config import BatteryConfig


@define
class Battery:
    config: BatteryConfig
    soc_pct: float = field(init=False)
    stored_gain_Wh: float = 0.0  # net energy into storage since creation (discharge negative)
    loss_Wh: float = 0.0  # I^2 R heat
    # (soc, curve, volts) of the last ocv_V(): a sub-step asks 2-3 times at the same SoC
    _ocv_memo: tuple = field(init=False, default=(None, None, 0.0), repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self.soc_pct = min(100.0, self.config.soc_pct)

    def ocv_V(self) -> float:
        """Open-circuit voltage at the present SoC: linear between curve points."""
        pts = self.config.ocv_curve
        soc, curve, volts = self._ocv_memo
        if soc == self.soc_pct and curve is pts:
            return volts
        s = min(max(self.soc_pct, pts[0][0]), pts[-1][0])
        volts = pts[-1][1]
        for (s0, v0), (s1, v1) in zip(pts, pts[1:]):
            if s <= s1:
                volts = v0 + (v1 - v0) * (s - s0) / (s1 - s0)
                break
        self._ocv_memo = (self.soc_pct, pts, volts)
        return volts

    def terminal_V(self, current_A: float) -> float:
        """Voltage at the terminals with `current_A` flowing in (positive = charging)."""
        return self.ocv_V() + current_A * self.config.internal_resistance_Ohm

    def charge_current_limit_A(self) -> float:
        """What the BMS accepts now (CC/CV taper, power and voltage limits)."""
        c = self.config
        if self.soc_pct >= 100.0:
            return 0.0
        limit = c.max_charge_current_A
        if self.soc_pct > c.cv_start_soc_pct:
            span = max(1e-9, 100.0 - c.cv_start_soc_pct)
            frac = (100.0 - self.soc_pct) / span
            floor = c.min_taper_current_pct / 100.0
            limit *= floor + (1.0 - floor) * frac
        ocv = self.ocv_V()
        limit = min(limit, c.max_charge_power_W / max(ocv, 1.0))
        headroom_V = c.max_voltage_V - ocv
        limit = min(limit, max(0.0, headroom_V / c.internal_resistance_Ohm))
        return max(0.0, limit)

    def discharge_current_limit_A(self) -> float:
        c = self.config
        if self.soc_pct <= 0.0:
            return 0.0
        return max(0.0, min(c.max_discharge_current_A, c.max_discharge_power_W / max(self.ocv_V(), 1.0)))

    def current_bounds_A(self, dt_s: float) -> tuple[float, float]:
        """(-max discharge, +max charge) average current over `dt_s` that keeps SoC in 0..100 %,
        so a sub-step never over-fills or over-drains the battery (the energy balance stays exact)."""
        if dt_s <= 0.0:
            return (-float("inf"), float("inf"))
        ocv = max(self.ocv_V(), 1.0)
        to_full_Wh = (100.0 - self.soc_pct) / 100.0 * self.config.capacity_Wh
        to_empty_Wh = self.soc_pct / 100.0 * self.config.capacity_Wh
        return (-to_empty_Wh * 3600.0 / (ocv * dt_s), to_full_Wh * 3600.0 / (ocv * dt_s))

    def apply_current(self, current_A: float, dt_s: float) -> None:
        """Integrate `current_A` (positive charges) for `dt_s` at the present operating point."""
        if dt_s <= 0.0 or current_A == 0.0:
            return
        stored_Wh = self.ocv_V() * current_A * dt_s / 3600.0
        self.loss_Wh += current_A * current_A * self.config.internal_resistance_Ohm * dt_s / 3600.0
        self.stored_gain_Wh += stored_Wh
        self.soc_pct = min(100.0, max(0.0, self.soc_pct + 100.0 * stored_Wh / self.config.capacity_Wh))

    def power_bounds_W(self, dt_s: float) -> tuple[float, float]:
        """(-max, +max) storage power over `dt_s` that keeps SoC in 0..100 %."""
        if dt_s <= 0.0:
            return (-float("inf"), float("inf"))
        to_full_Wh = (100.0 - self.soc_pct) / 100.0 * self.config.capacity_Wh
        to_empty_Wh = self.soc_pct / 100.0 * self.config.capacity_Wh
        return (-to_empty_Wh * 3600.0 / dt_s, to_full_Wh * 3600.0 / dt_s)

    def apply_power(self, stored_W: float, dt_s: float) -> None:
        """Integrate a power into storage (AC path: the onboard charger already took its loss)."""
        if dt_s <= 0.0 or stored_W == 0.0:
            return
        stored_Wh = stored_W * dt_s / 3600.0
        self.stored_gain_Wh += stored_Wh
        self.soc_pct = min(100.0, max(0.0, self.soc_pct + 100.0 * stored_Wh / self.config.capacity_Wh))
