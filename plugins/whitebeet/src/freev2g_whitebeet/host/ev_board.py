"""EvBoard of an EV built around a WHITE beet (EV role): CP resistor level through module 0x29
(5.3, 6.4: level 0 = B, 1 = C, 2 = D), the duty the module measures (polled by the EV link), and
a battery integrated from the EVSE present values the module reports (0xC1; AC: power drawn).

The module has no inlet voltage sensor and no contactor output: the inlet voltage is the EVSE
present voltage of the last 0xC1 (so an EV on this board trusts the EVSE's reading) and the
contactor is a software flag (a real EV drives its own relay here).
"""
from __future__ import annotations

import asyncio
import logging

from freev2g.model.enums import CPState

from ..client import HciError

log = logging.getLogger(__name__)
_LEVEL = {CPState.B: 0, CPState.C: 1, CPState.D: 2}


class WhitebeetEvBoard:
    def __init__(self, link, *, clock, capacity_Wh: float, start_soc_pct: float, battery_V: float = 400.0,
                 cv_voltage_V: float | None = None):
        self.link = link  # WhitebeetEvLink: its client and the last 0xC1 / 0xC2
        self.clock = clock
        self.capacity_Wh = capacity_Wh
        self._soc = start_soc_pct
        self.battery_V = battery_V
        self.cv_voltage_V = cv_voltage_V
        self._contactor = False
        self._ac_A, self._phases = 0.0, 1
        self._t = clock.monotonic()
        self.cp = CPState.A
        self._listeners = []
        self._pending: set[asyncio.Task] = set()

    def subscribe(self, listener) -> None:
        self._listeners.append(listener)

    def set_cp_state(self, state: CPState) -> None:
        self.cp = state
        level = _LEVEL.get(state)
        if level is None:  # A: unplugged; the module cannot open S2/the cable, B is the closest
            level = 0
        try:
            task = asyncio.get_running_loop().create_task(self._level(level))
        except RuntimeError:
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _level(self, level: int) -> None:
        try:
            await self.link.client.request("cp.set_resistor_level", level=level)
        except HciError as exc:
            log.warning("whitebeet EV board: resistor level %d not set: %s", level, exc)

    def pwm_duty_pct(self) -> float:
        return self.link.duty_permille / 10.0

    def set_contactor(self, closed: bool) -> None:
        self._integrate()
        self._contactor = bool(closed)

    def contactor_closed(self) -> bool:
        return self._contactor

    def inlet_voltage_V(self) -> float:
        d = self.link.evse_dc
        return d.present_voltage_V.value if d is not None else 0.0

    def _integrate(self) -> None:
        now = self.clock.monotonic()
        dt, self._t = now - self._t, now
        power_W = 0.0
        if self._contactor and self.link.evse_dc is not None and self.link.phase == "charging":
            power_W = self.link.evse_dc.present_voltage_V.value * self.link.evse_dc.present_current_A.value
        elif self._ac_A > 0 and self.link.evse_ac is not None and self.link.phase == "charging":
            power_W = self._ac_A * self._phases * self.link.evse_ac.nominal_voltage_V.value
        self._soc = max(0.0, min(100.0, self._soc + power_W * dt / 3600.0 / self.capacity_Wh * 100.0))

    def battery_soc_pct(self) -> float:
        self._integrate()
        return self._soc

    def battery_voltage_V(self) -> float:
        return self.battery_V

    def charge_voltage_limit_V(self) -> float | None:
        """The battery's CV voltage, the EV's default DC target (None: not known, the EV
        controller then uses the EV maximum voltage)."""
        return self.cv_voltage_V

    def set_ac_current_draw(self, current_A: float, phases: int) -> None:
        self._integrate()
        self._ac_A, self._phases = max(0.0, current_A), phases
