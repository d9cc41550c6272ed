"""EVSE-role host driver: module notifications -> link events, application answers -> module
commands (whitebeet-hci.md 5.9, 5.10, 7.2-7.4). Implements freev2g.link.EvseLink.

One dispatcher task handles notifications in order; a refresh task sends 0x63 (DC) / 0x66 (AC)
every `refresh_period_s` from 0x6C until the session stops (5.9.3), asking the application for
fresh present values in the pre-charge, charge-loop and welding phases. Any loss of the module
(transport closed, repeated refresh failures, module restarted) ends the session with
SessionEnded(LINK_LOST), so the EvseManager opens its contactors.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from freev2g import link as L
from freev2g.model.enums import (
    ChargeProgress, ChargingSession, EVSENotification, EVSEProcessing, IsolationLevel, StopCause,
)
from freev2g.model.params import ACEVChargeParameter, DCEVChargeParameter, DCEVStatus, EVSEOffer
from freev2g.model.schedule import ChargingProfileEntry

from .. import hci_enums as E
from ..client import HciClient, HciError, Notification
from ..codec import schedule_power
from .common import HostOptions, shutdown, startup, why_failed
from .evse_refresh import EvseRefresh

log = logging.getLogger(__name__)
_OK_ISOLATION = (IsolationLevel.VALID, IsolationLevel.WARNING, IsolationLevel.NO_IMD)


class WhitebeetEvseLink(EvseRefresh):
    def __init__(self, client: HciClient, *, clock, options: HostOptions | None = None, owns_client: bool = True):
        self.client = client
        self.clock = clock
        self.options = options or HostOptions()
        self.owns_client = owns_client
        self.handler = None
        self.offer: EVSEOffer | None = None
        self.firmware_version: str | None = None
        self._queue: asyncio.Queue[Notification] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._lock = asyncio.Lock()  # one application call at a time
        self._reset_session()
        self.sessions = 0

    def _reset_session(self) -> None:
        self.in_session = False
        self.phase = "idle"  # idle|params|cable_check|precharge|charging|stopping|welding
        self.dc = True
        self.ev_status = DCEVStatus()
        self.ev_dc: DCEVChargeParameter | None = None
        self.ev_ac: ACEVChargeParameter | None = None
        self.mode = None
        self.targets = (0.0, 0.0)
        self.ev_limits: tuple[Any, Any, Any] = (None, None, None)
        self.ev_complete = False
        self.dc_update = dict(isolation_level=0, present_voltage_V=0.0, present_current_A=0.0,
                              max_voltage_V=None, max_current_A=None, max_power_W=None, status=0)
        self.ac_update = dict(rcd_error=False, max_current_A=None)
        self.refresh_armed = False
        self.error_code: int | None = None
        self.refresh_failures = 0
        self._ticks = 0
        self._notified = EVSENotification.NONE

    # ---- EvseLink -------------------------------------------------------------------------
    async def open(self, handler, offer: EVSEOffer) -> None:
        self.handler, self.offer = handler, offer
        self.client.subscribe(self._queue.put_nowait)
        self.client.on_lost(lambda exc: self._queue.put_nowait(None))
        await self.client.start()
        self.firmware_version = await startup(self.client)
        await self.client.request("network.set_port_mirror_state", on=int(self.options.port_mirror))
        await self.client.request("cp.set_mode", mode=1)
        await self.client.request("cp.set_duty_cycle", duty_permille=1000)
        await self.client.request("cp.start")
        await self.client.request("slac.start", mode=1)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._dispatch(), name="whitebeet-evse-dispatch"),
                       loop.create_task(self._refresh(), name="whitebeet-evse-refresh")]

    async def start_matching(self) -> None:
        await self.client.request("slac.start_matching")

    def notify(self, notification: EVSENotification, max_delay_s: int = 0) -> None:
        if notification is EVSENotification.NONE or not self.in_session:
            return
        asyncio.get_running_loop().create_task(self._send_notification(notification, max_delay_s))

    async def _send_notification(self, notification: EVSENotification, max_delay_s: int) -> None:
        try:
            # as a value dict: the 0x75 field `timeout_s` would be taken as request()'s own timeout
            await self.client.request("v2g.evse.send_notification",
                                      {"renegotiation": notification is EVSENotification.RENEGOTIATION,
                                       "timeout_s": max(0, min(int(max_delay_s), 0xFFFF))})
        except HciError as exc:
            log.warning("whitebeet: send notification failed: %s", exc)

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        if not self.in_session:
            return
        for name in ("v2g.evse.stop_charging", "v2g.evse.stop_listen"):
            try:
                await self.client.request(name, accept=tuple(range(256)))
            except HciError as exc:
                log.warning("whitebeet: %s during abort failed: %s", name, exc)
        await self._end_session(cause, detail)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self._tasks = []
        if self.in_session:
            await self._end_session(StopCause.PROCESS_SHUTDOWN, "link closed")
        if self.client.connected:
            await shutdown(self.client)
        if self.owns_client:
            await self.client.close()

    # ---- application calls ------------------------------------------------------------------
    async def _call(self, event: L.LinkEvent) -> Any:
        async with self._lock:
            return await self.handler(event)

    async def _until_finished(self, event: L.LinkEvent, timeout_ms: int) -> Any:
        """Ask again while the application answers Ongoing, within the module's timeout."""
        deadline = self.clock.monotonic() + timeout_ms / 1000.0 * 0.9
        while True:
            answer = await self._call(event)
            if getattr(answer, "processing", EVSEProcessing.FINISHED) is EVSEProcessing.FINISHED:
                return answer
            if self.clock.monotonic() >= deadline:
                return None
            await self.clock.sleep(self.options.ongoing_poll_s)

    async def _end_session(self, cause: StopCause, detail: str = "", paused: bool = False) -> None:
        if not self.in_session:
            return
        self._reset_session()
        try:
            await self._call(L.SessionEnded(cause=cause, detail=detail, paused=paused))
        except Exception:  # noqa: BLE001
            log.exception("whitebeet: SessionEnded handler failed")

    # ---- dispatcher -------------------------------------------------------------------------
    async def _dispatch(self) -> None:
        while True:
            note = await self._queue.get()
            if note is None:
                await self._end_session(StopCause.LINK_LOST, "connection to the module lost")
                continue
            method = getattr(self, "_on_" + note.name.replace(".", "_"), None)
            if method is None:
                continue
            try:
                await method(note.data)
            except HciError as exc:
                log.warning("whitebeet: %s: %s", note.name, exc)
                await self._end_session(StopCause.LINK_LOST, await why_failed(self.client, exc, expected_mode=1))
            except Exception as exc:  # noqa: BLE001 - keep the dispatcher alive, stop the session safely
                log.exception("whitebeet: handling %s failed", note.name)
                await self._end_session(StopCause.OTHER, f"{note.name}: {exc}")

    async def _on_slac_matching_successful(self, _d) -> None:
        await self._call(L.LinkUp())
        await self._configure_and_listen()

    async def _on_slac_matching_failed(self, _d) -> None:
        await self._call(L.MatchingFailed(reason="module reported SLAC failure"))

    async def _configure_and_listen(self) -> None:
        """7.2 step 5: V2G mode, configuration, parameters, Start listen."""
        o, offer = self.options, self.offer
        c = self.client
        await c.request("v2g.set_mode", mode=1)
        modes = [E.MODES[m] for m in offer.energy_transfer_modes if m in E.MODES]
        await c.request("v2g.evse.set_configuration", evse_id_din=offer.evse_id_din[:32], evse_id_iso=offer.evse_id[:38],
                        protocols=[0, 1], payment_methods=[E.PAYMENTS[p] for p in offer.payment_options][:2],
                        energy_transfer_modes=modes, certificate_installation=False, certificate_update=False)
        await c.request("v2g.evse.set_dc_parameters", isolation_level=0, min_voltage_V=0, min_current_A=0,
                        max_voltage_V=o.max_voltage_V, max_current_A=o.max_current_A, max_power_W=o.max_power_W,
                        current_regulation_tolerance_A=None, peak_current_ripple_A=0, status=0)
        await c.request("v2g.evse.set_ac_parameters", rcd_error=False, max_current_A=o.ac_max_current_A,
                        nominal_voltage_V=o.ac_nominal_voltage_V)
        await c.request("v2g.evse.start_listen")

    async def _on_v2g_evse_session_started(self, d) -> None:
        self._reset_session()
        self.in_session = True
        self.sessions += 1
        protocol = E.inverse(E.PROTOCOLS).get(d.protocol, L.Protocol.ISO15118_2)
        evcc = ":".join(f"{b:02x}" for b in d.evcc_id) if len(d.evcc_id) == 6 else d.evcc_id.hex()
        await self._call(L.SessionSetup(protocol=protocol, iso_session_id=d.session_id.hex().upper(), evcc_id=evcc))

    async def _on_v2g_evse_payment_selected(self, d) -> None:
        option = E.inverse(E.PAYMENTS).get(d.method, L.PaymentOption.EXTERNAL_PAYMENT)
        await self._call(L.PaymentSelected(option=option, emaid=d.emaid))

    async def _on_v2g_evse_authorization_requested(self, d) -> None:
        answer = await self._until_finished(L.AuthorizationRequest(option=L.PaymentOption.EXTERNAL_PAYMENT), d.timeout_ms)
        await self.client.request("v2g.evse.set_authorization_status", status=0 if answer and answer.accepted else 1)

    async def _on_v2g_evse_energy_transfer_mode_selected(self, d) -> None:
        self.mode = E.inverse(E.MODES).get(d.mode)
        self.dc = d.mode <= 3
        val = lambda pv: None if pv is None else pv.value  # noqa: E731
        if self.dc:
            self.ev_status = DCEVStatus(ev_ready=bool(d.ready), error_code=E.inverse(E.EV_ERRORS).get(d.error_code, E.EVErrorCode.NO_ERROR),
                                        soc_pct=min(100, d.soc_pct))
            self.ev_dc = DCEVChargeParameter(
                status=self.ev_status, ev_max_current_A=d.ev_max_current_A.value, ev_max_voltage_V=d.ev_max_voltage_V.value,
                ev_max_power_W=val(d.ev_max_power_W), ev_energy_capacity_Wh=val(d.energy_capacity_Wh),
                ev_energy_request_Wh=val(d.energy_request_Wh), full_soc_pct=d.full_soc_pct, bulk_soc_pct=d.bulk_soc_pct,
                departure_time_s=d.departure_time_s)
        else:
            self.ev_ac = ACEVChargeParameter(
                e_amount_Wh=val(d.energy_request_Wh) or 0.0, ev_max_voltage_V=d.ev_max_voltage_V.value,
                ev_max_current_A=d.ev_max_current_A.value, ev_min_current_A=val(d.ev_min_current_A) or 0.0,
                departure_time_s=d.departure_time_s)
        if self.mode is None or (self.offer and self.mode not in self.offer.energy_transfer_modes):
            await self.client.request("v2g.evse.stop_charging")  # 7.4 mode mismatch

    async def _on_v2g_evse_schedules_requested(self, d) -> None:
        request = L.ChargeParameterRequest(mode=self.mode, dc=self.ev_dc if self.dc else None,
                                           ac=None if self.dc else self.ev_ac, max_entries=d.max_entries or None)
        answer = await self._until_finished(request, d.timeout_ms)
        if answer is None or answer.response_code.is_failure or answer.schedules is None:
            await self.client.request("v2g.evse.set_schedules", result=1, tuples=[_tuple(1, [(0, 0, 0.0)])],
                                      energy_to_be_delivered_Wh=None, tariffs=[])
            return
        self._apply_limits(answer)
        # the module answers ChargeParameterDiscovery once it has 0x6C: give it the station's
        # limits first, so the EV does not see the 0x62 defaults (issue #12 item 9)
        await self._send_update()
        limit = max(1, min(20, d.max_entries or 20))
        tuples = []
        for t in answer.schedules.tuples:
            entries = t.entries[:limit]
            rows = []
            for i, e in enumerate(entries):
                nxt = entries[i + 1].start_s if i + 1 < len(entries) else None
                interval = (nxt - e.start_s) if nxt is not None else (e.duration_s if e.duration_s is not None else 86_400)
                rows.append((e.start_s, interval, e.pmax_W))
            tuples.append(_tuple(t.tuple_id, rows))
        energy = answer.dc.energy_to_be_delivered_Wh if answer.dc is not None else None
        await self.client.request("v2g.evse.set_schedules", result=0, tuples=tuples,
                                  energy_to_be_delivered_Wh=energy, tariffs=[])
        self.phase = "params"
        self.refresh_armed = True
        await self._send_update()

    def _apply_limits(self, answer) -> None:
        if answer.dc is not None:
            self.dc_update.update(max_voltage_V=answer.dc.max_voltage_V, max_current_A=answer.dc.max_current_A,
                                  max_power_W=answer.dc.max_power_W, status=E.EVSE_STATUS[answer.dc.status_code],
                                  isolation_level=E.ISOLATION[answer.dc.isolation])
        if answer.ac is not None:
            self.ac_update.update(max_current_A=answer.ac.max_current_A, rcd_error=answer.ac.rcd_error)

    async def _on_v2g_evse_dc_parameters_changed(self, d) -> None:
        self.ev_status = DCEVStatus(ev_ready=bool(d.ready), soc_pct=min(100, d.soc_pct),
                                    error_code=E.inverse(E.EV_ERRORS).get(d.error_code, E.EVErrorCode.NO_ERROR))
        self.targets = (d.target_voltage_V.value, d.target_current_A.value)
        self.ev_limits = (d.ev_max_voltage_V.value, d.ev_max_current_A.value,
                          None if d.ev_max_power_W is None else d.ev_max_power_W.value)
        self.ev_complete = d.charging_complete
        await self._step()

    async def _on_v2g_evse_ac_parameters_changed(self, d) -> None:
        await self._step()

    async def _on_v2g_evse_cable_check_requested(self, d) -> None:
        self.phase = "cable_check"
        answer = await self._until_finished(L.CableCheckRequest(ev_status=self.ev_status), d.timeout_ms)
        ok = answer is not None and not answer.response_code.is_failure and answer.isolation in _OK_ISOLATION
        if answer is not None:
            self.dc_update.update(isolation_level=E.ISOLATION[answer.isolation], status=E.EVSE_STATUS[answer.status_code])
            await self._send_update()
        await self.client.request("v2g.evse.set_cable_check_finished", status=0 if ok else 1)

    async def _on_v2g_evse_pre_charge_started(self, _d) -> None:
        self.phase = "precharge"
        await self._step()

    async def _on_v2g_evse_start_charging_requested(self, d) -> None:
        profile = tuple(ChargingProfileEntry(start_s=e.start_s, max_power_W=e.power_W.value) for e in d.profile)
        answer = await self._call(L.PowerDeliveryRequest(progress=ChargeProgress.START, tuple_id=d.tuple_id,
                                                         profile=profile, ev_status=self.ev_status if self.dc else None))
        if answer.response_code.is_failure:
            await self.client.request("v2g.evse.stop_charging")
            return
        self.phase = "charging"
        await self.client.request("v2g.evse.start_charging")

    async def _on_v2g_evse_stop_charging_requested(self, d) -> None:
        progress = ChargeProgress.RENEGOTIATE if d.renegotiation else ChargeProgress.STOP
        self.phase = "stopping"
        await self._call(L.PowerDeliveryRequest(progress=progress, ev_status=self.ev_status if self.dc else None))
        await self.client.request("v2g.evse.stop_charging")
        self._notified = EVSENotification.NONE

    async def _on_v2g_evse_welding_detection_started(self, _d) -> None:
        self.phase = "welding"
        await self._step()

    async def _on_v2g_evse_session_error(self, d) -> None:
        self.error_code = d.code
        log.warning("whitebeet: session error %d (%s)", d.code, E.EVSE_SESSION_ERRORS.get(d.code, "unknown code"))
        try:
            await self.client.request("v2g.evse.stop_charging", accept=tuple(range(256)))
        except HciError:
            pass

    async def _on_v2g_evse_session_stopped(self, d) -> None:
        paused = d.closure == 1
        if self.in_session:
            await self._call(L.SessionStopRequest(kind=ChargingSession.PAUSE if paused else ChargingSession.TERMINATE))
        code = self.error_code
        try:
            await self.client.request("v2g.evse.stop_listen")
        except HciError as exc:
            log.warning("whitebeet: stop listen failed: %s", exc)
        if code is not None:
            await self._end_session(E.cause_for_evse_error(code), E.EVSE_SESSION_ERRORS.get(code, f"error {code}"))
        else:
            await self._end_session(StopCause.EV_STOP, "", paused=paused)

    async def _on_v2g_evse_metering_receipt_status(self, d) -> None:
        log.info("whitebeet: metering receipt verified=%s", d.verified)


def _tuple(tuple_id: int, rows) -> dict:
    return {"tuple_id": tuple_id, "entries": [
        {"start_s": s, "interval_s": iv, "power_W": schedule_power(p, f"0x6C tuple {tuple_id} entry {i + 1}")}
        for i, (s, iv, p) in enumerate(rows)]}
