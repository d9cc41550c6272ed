"""EV role, the timed parts of WhitebeetEvLink: duty polling and the SLAC wait (whitebeet-hci.md
7.5 steps 2-3), the charge loop with stop / renegotiation (7.5 steps 11-13, 7.7) and the
notification watchdog. Mixed into host/ev.py."""
from __future__ import annotations

import asyncio
import logging

from freev2g import link as L
from freev2g.model.enums import EVSENotification, StopCause

from .. import hci_enums as E
from ..client import HciError
from .ev_values import ac_loop_answer, dc_loop_answer, ev_setup_commands

log = logging.getLogger(__name__)


class EvChargeLoop:
    """State lives in WhitebeetEvLink.__init__ / _reset."""

    # ---- SLAC (7.5 steps 2-3) ---------------------------------------------------------------
    async def _match(self) -> str | None:
        """Wait for 5 % duty, then Start matching; None when matched, else why not."""
        deadline = self.clock.monotonic() + self.options.slac_wait_s
        while True:
            duty = self.duty_permille = (await self.client.call("cp.get_duty_cycle")).duty_permille
            if 30 <= duty <= 70:  # ~5 % (charging-domain.md 1.6: 3..7 %)
                break
            if self.clock.monotonic() >= deadline:
                return "no 5 % duty from the EVSE"
            await self.clock.sleep(self.options.duty_poll_s)
        self._slac = asyncio.get_running_loop().create_future()
        await self.client.request("slac.start_matching")
        try:
            ok = await self.clock.wait_for(asyncio.shield(self._slac), self.options.slac_wait_s)
        except TimeoutError:
            return "no SLAC result from the module"
        if not ok:
            return "module reported SLAC failure (0x28/0x81)"
        self.matched = True
        return None

    def _expect(self, what: str, *names: str) -> None:
        """The command just sent must bring one of `names` within ev_step_timeout_s (a lost
        notification must not leave the EV waiting forever, 2.4: notifications are not repeated)."""
        self.expect = (frozenset(f"v2g.ev.{n}" for n in names), self.clock.monotonic() + self.options.ev_step_timeout_s, what)

    async def _watchdog(self) -> None:
        while True:
            await self.clock.sleep(0.5)
            e = self.expect
            if e is None or not self.in_session or self.clock.monotonic() < e[1]:
                continue
            self.expect = None
            why = f"module did not report {e[2]} within {self.options.ev_step_timeout_s:g} s"
            log.warning("whitebeet: %s; stopping the session", why)
            await self._stop_module()
            await self._finish(StopCause.LINK_TIMEOUT, why)

    # ---- charge loop (7.5 steps 11-13) --------------------------------------------------------
    async def _charge_loop(self) -> None:
        while self.in_session and self.phase == "charging":
            if not await self._loop_step():
                return
            await self.clock.sleep(self.options.ev_loop_period_s)

    async def _loop_step(self) -> bool:
        """One EvChargeLoopStatus -> 0xA3 (or 0xAD on stop / renegotiation). False: loop over."""
        r = self.request
        status = L.EvChargeLoopStatus(
            dc=dc_loop_answer(self.evse_dc, self.notification, self.notification_delay_s) if r.mode.is_dc and self.evse_dc else None,
            ac=ac_loop_answer(self.evse_ac, self.notification, self.notification_delay_s) if not r.mode.is_dc and self.evse_ac else None)
        try:
            t = await self._call(status)
            if self.phase != "charging":
                return False
            if t.stop or t.pause or t.renegotiate or any(self.requests.values()):
                await self._send_stop(renegotiate=(t.renegotiate or self.requests["renegotiate"]) and not (t.stop or t.pause))
                if t.pause:
                    self.requests["pause"] = True
                return False
            if r.mode.is_dc:
                await self._send_dc_update(t.target_voltage_V, t.target_current_A, t.ev_status,
                                           t.ev_max_voltage_V, t.ev_max_current_A, t.ev_max_power_W)
            self._ticks += 1
            if self._ticks % self.options.health_every == 0 and (await self.client.call("v2g.get_mode")).mode != 0:
                raise L.LinkLost("module is no longer in EV mode (restarted?)")
        except (HciError, L.LinkLost) as exc:
            log.warning("whitebeet: EV charge loop: %s", exc)
            if self._loop_task is not asyncio.current_task():
                self._loop_task = None
            await self._finish(StopCause.LINK_LOST, str(exc))
            return False
        return True

    async def _send_stop(self, *, renegotiate: bool) -> None:
        if self.stop_sent:
            return
        self.stop_sent = True
        self.phase = "stopping"
        self.notification = EVSENotification.NONE
        if renegotiate:
            self.renegotiating = True
            self.params_reported = False
            self.schedules = None
            new = await self._call(L.EvChargeParametersNeeded())
            if isinstance(new, L.EvSessionRequest):
                self.request = new
                for name, fields in ev_setup_commands(new, parameters_only=True):
                    await self.client.request(name, **fields)
        self.requests = {"stop": False, "pause": self.requests["pause"], "renegotiate": False}
        self._expect("Charging stopped (0xC9)", "charging_stopped", "session_stopped")
        await self.client.request("v2g.ev.stop_charging", renegotiation=renegotiate)

    async def _send_dc_update(self, target_V, target_A, ev_status, max_V=None, max_A=None, max_W=None) -> None:
        r = self.request
        if r is None or r.dc is None:
            return
        d = r.dc
        await self.client.request(
            "v2g.ev.update_dc_parameters", min_voltage_V=0.0, min_current_A=0.0, min_power_W=0.0,
            max_voltage_V=max_V or d.ev_max_voltage_V, max_current_A=max_A or d.ev_max_current_A,
            max_power_W=max_W or d.ev_max_power_W or d.ev_max_voltage_V * d.ev_max_current_A,
            soc_pct=int(max(0, min(100, round(ev_status.soc_pct)))), status=E.EV_ERRORS.get(ev_status.error_code, 0),
            target_voltage_V=target_V, target_current_A=max(0.0, target_A))
