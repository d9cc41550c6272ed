"""EVSE role: the parameter refresh of WhitebeetEvseLink (whitebeet-hci.md 5.9.3: 0x63 / 0x66 at
least every 500 ms from 0x6C on) with the phase-appropriate application call before each update,
and the module health check that detects a restart. Mixed into host/evse.py."""
from __future__ import annotations

import logging

from freev2g import link as L
from freev2g.link import LinkLost
from freev2g.model.enums import EVSENotification, StopCause

from .. import hci_enums as E
from ..client import HciError

log = logging.getLogger(__name__)


class EvseRefresh:
    """State lives in WhitebeetEvseLink.__init__ / _reset_session."""

    # ---- refresh (5.9.3) ----------------------------------------------------------------------
    async def _step(self) -> None:
        """One phase-appropriate application call, then the parameter update to the module."""
        if not self.in_session:
            return
        v, i = self.targets
        if self.phase == "precharge":
            a = await self._call(L.PreChargeRequest(ev_status=self.ev_status, target_voltage_V=v, target_current_A=i))
            self.dc_update.update(present_voltage_V=a.present_voltage_V, status=E.EVSE_STATUS[a.status_code])
        elif self.phase == "charging" and self.dc:
            mv, mi, mp = self.ev_limits
            a = await self._call(L.DCChargeLoopRequest(ev_status=self.ev_status, target_voltage_V=v, target_current_A=i,
                                                       ev_max_voltage_V=mv, ev_max_current_A=mi, ev_max_power_W=mp,
                                                       charging_complete=self.ev_complete))
            self.dc_update.update(present_voltage_V=a.present_voltage_V, present_current_A=a.present_current_A,
                                  status=E.EVSE_STATUS[a.status_code])
            for key, value in (("max_voltage_V", a.evse_max_voltage_V), ("max_current_A", a.evse_max_current_A),
                               ("max_power_W", a.evse_max_power_W)):
                if value is not None:
                    self.dc_update[key] = value
            await self._maybe_notify(a.notification, a.notification_max_delay_s)
        elif self.phase == "charging":
            a = await self._call(L.ACChargeLoopRequest())
            if a.evse_max_current_A is not None:
                self.ac_update["max_current_A"] = a.evse_max_current_A
            self.ac_update["rcd_error"] = a.rcd_error
            await self._maybe_notify(a.notification, a.notification_max_delay_s)
        elif self.phase == "welding":
            a = await self._call(L.WeldingDetectionRequest(ev_status=self.ev_status))
            self.dc_update.update(present_voltage_V=a.present_voltage_V, present_current_A=0.0)
        await self._send_update()

    async def _maybe_notify(self, notification: EVSENotification, delay_s: int) -> None:
        if notification is not EVSENotification.NONE and notification is not self._notified:
            self._notified = notification
            await self._send_notification(notification, delay_s)

    async def _send_update(self) -> None:
        if not self.in_session:
            return
        if self.dc:
            await self.client.request("v2g.evse.update_dc_parameters", **self.dc_update)
        else:
            await self.client.request("v2g.evse.update_ac_parameters", **self.ac_update)

    async def _refresh(self) -> None:
        while True:
            await self.clock.sleep(self.options.refresh_period_s)
            if not (self.in_session and self.refresh_armed):
                continue
            self._ticks += 1
            try:
                if self._ticks % self.options.health_every == 0:
                    if (await self.client.call("v2g.get_mode")).mode != 1:
                        raise LinkLost("module is no longer in EVSE mode (restarted?)")
                await self._step()
                self.refresh_failures = 0
            except (HciError, LinkLost) as exc:
                self.refresh_failures += 1
                log.warning("whitebeet: parameter refresh failed (%d): %s", self.refresh_failures, exc)
                if isinstance(exc, LinkLost) or self.refresh_failures >= self.options.max_refresh_failures:
                    await self._end_session(StopCause.LINK_LOST, str(exc))
            except Exception as exc:  # noqa: BLE001
                log.exception("whitebeet: refresh step failed")
                await self._end_session(StopCause.OTHER, str(exc))
