"""EV-role host driver: the module's EV-mode notifications (5.8) -> EvLink events for the
EvController, its answers -> EV-mode commands (5.7), following whitebeet-hci.md 7.5-7.7.
Implements freev2g.link.EvLink.

`start_session()` runs SLAC if not matched (wait for 5 % duty, Start matching, 0x28/0x80),
configures the module (0x40 mode 0, 0xA0, 0xA2 / 0xA5) and sends 0xA9; it returns True on 0xC0
Session started. A dispatcher task then handles the notifications in order and a loop task asks
the EvController for its loop targets every `ev_loop_period_s` while charging (0xA3 / 0xA6,
0xAD on stop / renegotiation). Loss of the module (closed transport, module restarted: V2G mode
no longer EV) ends the session with EvSessionFinished(LINK_LOST).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from freev2g import link as L
from freev2g.model.enums import EVSENotification, EVSEProcessing, IsolationLevel, StopCause
from freev2g.model.params import EVSEOffer
from freev2g.model.schedule import PMaxScheduleEntry, SAScheduleList, SAScheduleTuple

from .. import hci_enums as E
from ..client import HciClient, HciError, Notification
from ..messages import Result
from .common import HostOptions, shutdown, startup, why_failed
from .ev_loop import EvChargeLoop
from .ev_values import dc_evse_parameters, ev_setup_commands, profile_entries

log = logging.getLogger(__name__)


class WhitebeetEvLink(EvChargeLoop):
    def __init__(self, client: HciClient, *, clock, options: HostOptions | None = None, owns_client: bool = True):
        self.client = client
        self.clock = clock
        self.options = options or HostOptions()
        self.owns_client = owns_client
        self.handler = None
        self.firmware_version: str | None = None
        self.matched = False
        self.duty_permille = 1000
        self.sessions = 0
        self._queue: asyncio.Queue[Notification | None] = asyncio.Queue()
        self._slac: asyncio.Future | None = None
        self._started: asyncio.Future | None = None
        self._tasks: list[asyncio.Task] = []
        self._loop_task: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._reset()

    def _reset(self) -> None:
        self.in_session = False
        self.request: L.EvSessionRequest | None = None
        self.phase = "idle"  # idle|setup|parameters|cable_check|precharge|charging|stopping|welding
        self.schedules: SAScheduleList | None = None
        self.evse_dc = None  # last 0xC1 data
        self.evse_ac = None  # last 0xC2 data
        self.params_reported = False
        self.renegotiating = False
        self.charging_ready = False
        self.precharge_done = False
        self.start_sent = False
        self.stop_sent = False
        self.session_stop_sent = False
        self.notification = EVSENotification.NONE
        self.notification_delay_s = 0
        self.error_code: int | None = None
        self.evse_stopped = False  # 0xCC type 0 seen: the session ends by the EVSE's wish
        self._ticks = 0
        self.requests = {"stop": False, "pause": False, "renegotiate": False}
        self.expect: tuple[frozenset[str], float, str] | None = None  # notifications a command must bring

    # ---- EvLink ---------------------------------------------------------------------------
    async def open(self, handler) -> None:
        self.handler = handler
        self.client.subscribe(self._queue.put_nowait)
        self.client.on_lost(lambda exc: self._queue.put_nowait(None))
        await self.client.start()
        self.firmware_version = await startup(self.client)
        await self.client.request("network.set_port_mirror_state", on=int(self.options.port_mirror))
        await self.client.request("cp.set_mode", mode=0)  # 7.5 step 1
        # a resend after a lost answer finds the module already started: that is the wanted state
        await self.client.request("cp.start", accept=(Result.OK, Result.UNEXPECTED))
        await self.client.request("cp.set_resistor_level", level=0)
        await self.client.request("slac.set_validation", enabled=0)
        await self.client.request("slac.start", mode=0, accept=(Result.OK, Result.UNEXPECTED))
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._dispatch(), name="whitebeet-ev-dispatch"),
                       loop.create_task(self._watchdog(), name="whitebeet-ev-watchdog")]

    async def start_session(self, request: L.EvSessionRequest) -> bool:
        if self.handler is None:
            raise RuntimeError("whitebeet EV link: start_session() before open()")
        if self.in_session:
            raise RuntimeError("whitebeet EV link: a session is already running")
        self._reset()
        self.request = request
        try:
            if not self.matched:
                why = await self._match()
                if why is not None:
                    return await self._refused(StopCause.LINK_TIMEOUT, why)
            self._started = asyncio.get_running_loop().create_future()
            self.in_session = True
            self.phase = "setup"
            await self.client.request("v2g.set_mode", mode=0)  # 7.5 step 4
            for name, fields in ev_setup_commands(request):
                await self.client.request(name, **fields)
            await self.client.request("v2g.ev.start_session", accept=(Result.OK, Result.UNEXPECTED))
            try:
                return await self.clock.wait_for(asyncio.shield(self._started), self.options.ev_session_setup_s)
            except TimeoutError:
                await self._best_effort("v2g.ev.stop_session")
                await self._finish(StopCause.LINK_TIMEOUT, "no Session started (0xC0) from the module")
                return False
        except HciError as exc:
            await self._finish(StopCause.LINK_LOST, f"module: {exc}")
            return False
        except ValueError as exc:  # a request the module cannot express (e.g. ISO 15118-20 only)
            await self._finish(StopCause.OTHER, str(exc))
            return False

    async def stop_charging(self, *, renegotiate: bool = False, pause: bool = False) -> None:
        self.requests["renegotiate" if renegotiate else "pause" if pause else "stop"] = True

    async def abort(self, cause: StopCause, detail: str = "") -> None:
        if not self.in_session:
            return
        for name, fields in (("v2g.ev.stop_charging", {"renegotiation": False}), ("v2g.ev.stop_session", {})):
            await self._best_effort(name, **fields)
        await self._finish(cause, detail or f"aborted by the EV ({cause.value})")

    async def close(self) -> None:
        await self.abort(StopCause.PROCESS_SHUTDOWN, "link closed")
        for t in [*self._tasks, self._loop_task]:
            if t is not None:
                t.cancel()
                try:
                    await t
                except (asyncio.CancelledError, Exception):  # noqa: BLE001
                    pass
        self._tasks, self._loop_task = [], None
        if self.client.connected:
            await self._best_effort("cp.set_resistor_level", level=0)
            await shutdown(self.client)
        if self.owns_client:
            await self.client.close()

    # ---- helpers ----------------------------------------------------------------------------
    async def _call(self, event: L.LinkEvent) -> Any:
        async with self._lock:
            return await self.handler(event)

    async def _best_effort(self, name: str, **fields) -> None:
        try:
            await self.client.request(name, accept=tuple(range(256)), **fields)
        except HciError as exc:
            log.warning("whitebeet: %s failed: %s", name, exc)

    async def _refused(self, cause: StopCause, detail: str) -> bool:
        self.in_session = True
        await self._finish(cause, detail)
        return False

    async def _finish(self, cause: StopCause, detail: str = "", paused: bool = False) -> None:
        if not self.in_session:
            return
        self.in_session = False
        if self._loop_task is not None and self._loop_task is not asyncio.current_task():
            self._loop_task.cancel()
        self._loop_task = None
        if self._started is not None and not self._started.done():
            self._started.set_result(False)
        log.info("whitebeet EV session finished: %s %s", cause.value, detail)
        try:
            await self._call(L.EvSessionFinished(cause=cause, detail=detail, paused=paused))
        except Exception:  # noqa: BLE001
            log.exception("whitebeet: EvSessionFinished handler failed")

    # ---- dispatcher -------------------------------------------------------------------------
    async def _dispatch(self) -> None:
        while True:
            note = await self._queue.get()
            if note is None:
                self.matched = False
                await self._finish(StopCause.LINK_LOST, "connection to the module lost")
                if self._slac is not None and not self._slac.done():
                    self._slac.set_result(False)
                continue
            if self.expect is not None and note.name in self.expect[0]:
                self.expect = None
            method = getattr(self, "_on_" + note.name.replace(".", "_"), None)
            if method is None:
                continue
            try:
                await method(note.data)
            except HciError as exc:
                log.warning("whitebeet: %s: %s", note.name, exc)
                await self._finish(StopCause.LINK_LOST, await why_failed(self.client, exc, expected_mode=0))
            except Exception as exc:  # noqa: BLE001 - keep the dispatcher alive, stop the session safely
                log.exception("whitebeet: handling %s failed", note.name)
                await self._stop_module()
                await self._finish(StopCause.OTHER, f"{note.name}: {exc}")

    async def _stop_module(self) -> None:
        if self.in_session:
            await self._best_effort("v2g.ev.stop_charging", renegotiation=False)
            await self._best_effort("v2g.ev.stop_session")

    async def _on_slac_matching_successful(self, _d) -> None:
        if self._slac is not None and not self._slac.done():
            self._slac.set_result(True)

    async def _on_slac_matching_failed(self, _d) -> None:
        self.matched = False
        if self._slac is not None and not self._slac.done():
            self._slac.set_result(False)

    async def _on_v2g_ev_session_started(self, d) -> None:
        if not self.in_session:
            return
        self.sessions += 1
        protocol = E.inverse(E.PROTOCOLS).get(d.protocol, L.Protocol.ISO15118_2)
        mode = E.inverse(E.MODES).get(d.mode)
        offer = EVSEOffer(evse_id=d.evse_id, energy_transfer_modes=(mode,) if mode else (),
                          payment_options=(E.inverse(E.PAYMENTS).get(d.payment_method, L.PaymentOption.EXTERNAL_PAYMENT),))
        self.phase = "parameters"
        await self._call(L.EvSessionStarted(protocol=protocol, iso_session_id=d.session_id.hex().upper(),
                                            evse_id=d.evse_id, offer=offer))
        if self._started is not None and not self._started.done():
            self._started.set_result(True)
        await self._maybe_report_parameters()

    async def _on_v2g_ev_schedule_received(self, d) -> None:
        tuples = []
        for t in d.tuples:
            n = len(t.entries)
            tuples.append(SAScheduleTuple(t.tuple_id, tuple(
                PMaxScheduleEntry(e.start_s, e.power_W.value, e.interval_s if i == n - 1 else None)
                for i, e in enumerate(t.entries))))
        self.schedules = SAScheduleList(tuple(tuples))
        self.params_reported = False
        await self._maybe_report_parameters()

    async def _on_v2g_ev_dc_parameters_changed(self, d) -> None:
        self.evse_dc = d
        if self.phase == "precharge":
            await self._precharge_step()
        elif self.phase == "welding":
            await self._welding_step()
        else:
            await self._maybe_report_parameters()

    async def _on_v2g_ev_ac_parameters_changed(self, d) -> None:
        self.evse_ac = d
        await self._maybe_report_parameters()

    async def _maybe_report_parameters(self) -> None:
        """0xC3 + 0xC1/0xC2 after 0xC0 -> EvseParametersReceived; the answer -> 0xA8 (5.7.9)."""
        r = self.request
        if (not self.in_session or self.params_reported or self.schedules is None or self.phase == "setup"
                or r is None or (self.evse_dc if r.mode.is_dc else self.evse_ac) is None):
            return
        self.params_reported = True
        ac = None
        if not r.mode.is_dc:
            from freev2g.model.params import ACEVSEChargeParameter

            ac = ACEVSEChargeParameter(nominal_voltage_V=self.evse_ac.nominal_voltage_V.value,
                                       max_current_A=self.evse_ac.max_current_A.value, rcd_error=self.evse_ac.rcd_error)
        selection = await self._call(L.EvseParametersReceived(
            ac=ac, dc=dc_evse_parameters(self.evse_dc) if r.mode.is_dc else None, schedules=self.schedules,
            renegotiation=self.renegotiating))
        chosen = next((t for t in self.schedules.tuples if t.tuple_id == selection.tuple_id), self.schedules.tuples[0])
        await self.client.request("v2g.ev.set_charging_profile", tuple_id=chosen.tuple_id,
                                  entries=profile_entries(selection.profile, chosen))
        was_renegotiating, self.renegotiating = self.renegotiating, False
        if self.charging_ready and (not r.mode.is_dc or was_renegotiating):
            await self._start_charging()

    async def _on_v2g_ev_cable_check_ready(self, _d) -> None:
        self.phase = "cable_check"
        await self._call(L.CableCheckReady())  # the EV switches to CP C/D first (3.6)
        self._expect("Cable check finished (0xC5)", "cable_check_finished", "session_stopped")
        await self.client.request("v2g.ev.start_cable_check")

    async def _on_v2g_ev_cable_check_finished(self, _d) -> None:
        iso = self.evse_dc.isolation if self.evse_dc is not None else None
        await self._call(L.CableCheckStatus(processing=EVSEProcessing.FINISHED,
                                            isolation=E.inverse(E.ISOLATION).get(iso, IsolationLevel.VALID)))

    async def _on_v2g_ev_pre_charging_ready(self, _d) -> None:
        self.phase = "precharge"
        targets = await self._call(L.PreChargeStatus(present_voltage_V=None))
        await self._send_dc_update(targets.target_voltage_V, targets.target_current_A, targets.ev_status)
        self._expect("Charging ready (0xC7)", "charging_ready", "session_stopped")
        await self.client.request("v2g.ev.start_pre_charging")

    async def _precharge_step(self) -> None:
        targets = await self._call(L.PreChargeStatus(present_voltage_V=self.evse_dc.present_voltage_V.value))
        await self._send_dc_update(targets.target_voltage_V, targets.target_current_A, targets.ev_status)
        self.precharge_done = targets.done
        if self.precharge_done and self.charging_ready:
            await self._start_charging()

    async def _on_v2g_ev_charging_ready(self, _d) -> None:
        self.charging_ready = True
        r = self.request
        if r is not None and r.mode.is_dc and self.phase == "precharge":
            if self.evse_dc is not None:
                await self._precharge_step()
        elif self.params_reported and (r is None or not r.mode.is_dc or self.phase == "parameters"):
            await self._start_charging()  # AC, or DC after a renegotiation (no new pre-charge, 7.7)

    async def _start_charging(self) -> None:
        if self.start_sent:
            return
        self.start_sent = True
        self._expect("Charging started (0xC8)", "charging_started", "session_stopped")
        await self.client.request("v2g.ev.start_charging")

    async def _on_v2g_ev_charging_started(self, _d) -> None:
        self.phase = "charging"
        self.stop_sent = False
        await self._call(L.PowerDeliveryStarted())
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(self._charge_loop(), name="whitebeet-ev-loop")

    async def _on_v2g_ev_notification_received(self, d) -> None:
        """7.7: the EV hears the EVSE's wish now (not at the next loop period); on a stop it
        answers with 0xAD, on a renegotiation with 0xAD(renegotiation) through its loop targets."""
        self.notification = EVSENotification.RENEGOTIATION if d.notification_type == 1 else EVSENotification.STOP_CHARGING
        self.notification_delay_s = d.max_delay_s
        self.evse_stopped = self.evse_stopped or d.notification_type == 0
        if self.phase == "charging":
            await self._loop_step()

    async def _on_v2g_ev_charging_stopped(self, _d) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            self._loop_task = None
        if self.renegotiating:
            self.phase = "parameters"
            self.charging_ready = self.precharge_done = self.start_sent = False
            return
        self.phase = "welding" if self.request is not None and self.request.mode.is_dc else "stopping"
        await self._call(L.PowerDeliveryStopped())
        if self.phase == "stopping":  # AC: the module ends the session by itself (7.6)
            self._expect("Session stopped (0xCB)", "session_stopped")

    async def _on_v2g_ev_post_charging_ready(self, _d) -> None:
        self.phase = "welding"
        await self._welding_step()

    async def _welding_step(self) -> None:
        if self.session_stop_sent:
            return
        voltage = self.evse_dc.present_voltage_V.value if self.evse_dc is not None else 0.0
        if await self._call(L.WeldingDetectionStatus(present_voltage_V=voltage)):
            self.session_stop_sent = True
            self._expect("Session stopped (0xCB)", "session_stopped")
            await self.client.request("v2g.ev.stop_session", accept=tuple(range(256)))

    async def _on_v2g_ev_session_error(self, d) -> None:
        self.error_code = d.code
        log.warning("whitebeet: EV session error %d (%s)", d.code, E.EV_SESSION_ERRORS.get(d.code, "unknown code"))

    async def _on_v2g_ev_session_stopped(self, _d) -> None:
        code = self.error_code
        if code is not None:
            await self._finish(StopCause.OTHER, f"module session error {code}: {E.EV_SESSION_ERRORS.get(code, 'unknown')}")
        elif self.evse_stopped:
            await self._finish(StopCause.EVSE_STOP, "EVSE asked to stop (0xCC)")
        elif self.requests["pause"]:
            await self._finish(StopCause.EV_STOP, "pause: the HCI has no pause, the session was terminated")
        else:
            await self._finish(StopCause.EV_STOP, "")
