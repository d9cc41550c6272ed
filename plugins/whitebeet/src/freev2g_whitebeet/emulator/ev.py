"""EV-role emulator: V2G EV-mode commands (0xA0-0xAE) and the bridge from an EV-role link (the
module's EVCC: a virtual_plc "ev" link) to EV-mode notifications (whitebeet-hci.md 5.7, 5.8, 8.4).

`handler(event)` is what the EVCC link awaits: it turns each link event into the notification the
real module sends and waits for the host's command where the module needs one (0xAA, 0xAB, 0xAC,
0xAE). The host's 0xA2/0xA3 (0xA5/0xA6) values are what the EVCC sends in its requests.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from attrs import define

from freev2g import link as L
from freev2g.model.enums import CPState, EVErrorCode, EVSENotification, PaymentOption, StopCause
from freev2g.model.params import ACEVChargeParameter, DCEVChargeParameter, DCEVStatus

from .. import hci_enums as E
from ..messages import Result
from .core import EmulatorCore, Reply
from .ev_notes import ac_changed, empty_view, schedule_tuples, update_view

log = logging.getLogger(__name__)
_LEVELS = {0: CPState.B, 1: CPState.C, 2: CPState.D}
_ERROR_FOR_CAUSE = {StopCause.SEQUENCE_ERROR: 8, StopCause.AUTHORIZATION_REJECTED: 1}


@define(kw_only=True)
class EvEmulatorConfig:
    slac_timeout_s: float = 50.0  # module keeps matching armed (7.8)
    host_timeout_s: float = 60.0  # wait for 0xAA / 0xAB / 0xAC / 0xAE
    profile_wait_s: float = 5.0  # wait for 0xA8 after 0xC3 (else the first tuple, 5.7.9)
    precharge_tolerance_V: float = 10.0  # 0xC7 once present voltage is within target +- this (8.4 #8)
    max_tuples: int = 1  # 0xC3 carries 1..3 tuples; FreeV2G parses exactly one (5.8, 8.4 #4)
    host_power_max_W: float | None = None  # cap 0xC3 powers for a host with a 16-bit power field (5.7.9)
    ev_mac: str = "00:01:01:63:77:31"


class EvV2gModule:
    def __init__(self, core: EmulatorCore, link, board, config: EvEmulatorConfig | None = None):
        self.core = core
        self.link = link  # EvLink (virtual "ev"): open(handler), start_session, abort, close, matched
        self.board = board  # the EV end of the cable: set_cp_state, pwm_duty_pct
        self.config = config or EvEmulatorConfig()
        self.configuration = None
        self.dc_params = None
        self.ac_params = None
        self.dc_update = None
        self.ac_update = None
        self.profile = None
        self.session_active = False
        self.sessions_completed = 0
        self.matching_armed = False
        self.evse_view = empty_view()
        self._waits: dict[str, asyncio.Future] = {}
        self._flags: dict[str, Any] = {}
        self._tasks: set[asyncio.Task] = set()
        self._register()
        core.cp_listeners.append(self._cp_changed)

    # ---- host commands ------------------------------------------------------------------
    def _register(self) -> None:
        c = self.core

        def store(attr):
            async def h(p):
                setattr(self, attr, p)
            return h

        c.on("v2g.ev.set_configuration", store("configuration"))
        c.on("v2g.ev.set_dc_parameters", self._set_dc)
        c.on("v2g.ev.set_ac_parameters", self._set_ac)
        c.on("v2g.ev.update_dc_parameters", store("dc_update"))
        c.on("v2g.ev.update_ac_parameters", store("ac_update"))
        c.on("v2g.ev.get_configuration", lambda _p: self._get("configuration"))
        c.on("v2g.ev.get_dc_parameters", lambda _p: self._get("dc_params"))
        c.on("v2g.ev.get_ac_parameters", lambda _p: self._get("ac_params"))
        c.on("v2g.ev.set_charging_profile", self._set_profile)
        c.on("v2g.ev.start_session", self._start_session)
        for name in ("v2g.ev.start_cable_check", "v2g.ev.start_pre_charging", "v2g.ev.start_charging"):
            c.on(name, self._answer(name))
        c.on("v2g.ev.stop_charging", self._stop_charging)
        c.on("v2g.ev.stop_session", self._stop_session)
        c.on("slac.start_matching", self._start_matching)
        c.on("cp.get_duty_cycle", self._duty)

    async def _get(self, attr: str):
        value = getattr(self, attr)
        if value is None:
            raise Reply(Result.UNEXPECTED, f"{attr} not set")
        return value

    async def _set_dc(self, p):
        self.dc_params, self.dc_update = p, None

    async def _set_ac(self, p):
        self.ac_params, self.ac_update = p, None

    async def _set_profile(self, p):
        if not self.session_active:
            raise Reply(Result.MODULE_SPECIFIC_11, "no session")
        self.profile = p
        self._release("v2g.ev.set_charging_profile", p)

    def _answer(self, name: str):
        async def h(p):
            if not self.session_active:
                raise Reply(Result.MODULE_SPECIFIC_11, f"{name}: no session")
            self._release(name, p)
        return h

    async def _note_dc(self, source=None, **kw) -> None:
        self.evse_view = update_view(self.evse_view, source, **kw)
        await self.core.notify("v2g.ev.dc_parameters_changed", **self.evse_view)

    def _release(self, name: str, value: Any) -> bool:
        fut = self._waits.get(name)
        if fut is None or fut.done():
            self._flags[name] = value if value is not None else True
            return name == "v2g.ev.set_charging_profile"
        fut.set_result(value if value is not None else True)
        return True

    async def _duty(self, _p):
        cp = self.core.state.cp
        duty = self.board.pwm_duty_pct() if self.board is not None else 100.0
        return {"duty_permille": int(round(duty * 10)) if cp.started and duty > 0 else 1000}

    def _cp_changed(self) -> None:
        cp = self.core.state.cp
        if cp.mode != 0 or self.board is None:
            return
        self.board.set_cp_state(_LEVELS.get(cp.resistor_level, CPState.B) if cp.started else CPState.A)

    async def _start_matching(self, _p):
        slac = self.core.state.slac
        if not slac.started:
            raise Reply(Result.MODULE_SPECIFIC_10, "SLAC not started")
        slac.matching = self.matching_armed = True
        self._spawn(self._watch_matching())

    async def _watch_matching(self) -> None:
        slac = self.core.state.slac
        try:
            await self.core.clock.wait_for(self.link.matched.wait(), self.config.slac_timeout_s)
        except TimeoutError:
            slac.matching = self.matching_armed = False
            await self.core.notify("slac.matching_failed")
            return
        slac.matching, slac.matched = False, True
        await self.core.notify("slac.matching_successful")

    async def _start_session(self, _p):
        if self.core.state.v2g_mode != 0:
            raise Reply(Result.UNEXPECTED, "V2G mode is not EV")
        if self.configuration is None or (self.dc_params is None and self.ac_params is None):
            raise Reply(Result.MODULE_SPECIFIC_10, "configuration or charging parameters missing")
        if self.session_active:
            raise Reply(Result.UNEXPECTED, "session already running")
        self.session_active = True
        self._flags.clear()
        self.evse_view = empty_view()
        self.profile = None
        self._spawn(self._run_session())

    async def _run_session(self) -> None:
        try:
            ok = await self.link.start_session(self.session_request())
        except Exception as exc:  # noqa: BLE001 - the host must hear the end of the session
            log.warning("emulator (EV): session start failed: %s", exc)
            ok = False
            await self._on_EvSessionFinished(L.EvSessionFinished(cause=StopCause.OTHER, detail=str(exc)))
        if not ok:
            log.info("emulator (EV): session refused")

    async def _stop_charging(self, p):
        if not self.session_active:
            raise Reply(Result.UNEXPECTED, "no session")
        self._flags["renegotiate" if p.renegotiation else "stop"] = True

    async def _stop_session(self, p):
        if not self.session_active:
            raise Reply(Result.UNEXPECTED, "no session")  # 8.4 #11: FreeV2G ignores this error
        self._release("v2g.ev.stop_session", True)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wait_host(self, name: str, timeout_s: float | None = None) -> Any:
        if name in self._flags:
            return self._flags.pop(name)
        fut = self._waits[name] = asyncio.get_running_loop().create_future()
        try:
            return await self.core.clock.wait_for(fut, self.config.host_timeout_s if timeout_s is None else timeout_s)
        finally:
            self._waits.pop(name, None)

    async def _host_or_abort(self, name: str) -> Any:
        try:
            return await self._wait_host(name)
        except TimeoutError:
            log.warning("emulator (EV): host did not send %s in time; stopping the session", name)
            await self.link.abort(StopCause.LINK_TIMEOUT, f"host did not send {name}")
            raise

    # ---- the EV's request values (0xA0/0xA2/0xA3, 0xA5/0xA6) -----------------------------
    def session_request(self) -> L.EvSessionRequest:
        cfg = self.configuration
        modes = [E.inverse(E.MODES)[m] for m in cfg.energy_transfer_modes if m in E.inverse(E.MODES)]
        if not modes:
            raise ValueError("0xA0: no known energy transfer mode")
        mode = modes[0]
        protocols = tuple(E.inverse(E.PROTOCOLS)[p] for p in cfg.protocols if p in E.inverse(E.PROTOCOLS))
        payment = E.inverse(E.PAYMENTS).get(cfg.payment_methods[0], PaymentOption.EXTERNAL_PAYMENT)
        mac = ":".join(f"{b:02x}" for b in cfg.ev_id)
        dc = ac = None
        if mode.is_dc and self.dc_params is not None:
            d = self.dc_params
            dc = DCEVChargeParameter(
                status=self.ev_status(), ev_max_current_A=self._dc("max_current_A"), ev_max_voltage_V=self._dc("max_voltage_V"),
                ev_max_power_W=self._dc("max_power_W"), ev_energy_capacity_Wh=max(0.0, cfg.battery_capacity_Wh.value),
                ev_energy_request_Wh=max(0.0, d.energy_request_Wh.value), full_soc_pct=min(100, d.full_soc_pct),
                bulk_soc_pct=min(100, d.bulk_soc_pct), departure_time_s=d.departure_time_s)
        if not mode.is_dc and self.ac_params is not None:
            a, u = self.ac_params, self.ac_update or self.ac_params
            ac = ACEVChargeParameter(e_amount_Wh=max(0.0, a.energy_request_Wh.value), ev_max_voltage_V=max(0.0, u.max_voltage_V.value),
                                     ev_max_current_A=max(0.0, u.max_current_A.value),
                                     ev_min_current_A=max(0.0, u.min_current_A.value), departure_time_s=a.departure_time_s)
        return L.EvSessionRequest(protocols=protocols, mode=mode, payment=payment, ev_mac=mac, dc=dc, ac=ac)

    def _dc(self, key: str) -> float:
        src = self.dc_update if self.dc_update is not None else self.dc_params
        return max(0.0, getattr(src, key).value) if src is not None else 0.0

    def ev_status(self) -> DCEVStatus:
        src = self.dc_update if self.dc_update is not None else self.dc_params
        if src is None:
            return DCEVStatus()
        return DCEVStatus(ev_ready=True, soc_pct=min(100, src.soc_pct),
                          error_code=E.inverse(E.EV_ERRORS).get(src.status, EVErrorCode.NO_ERROR))

    # ---- link events -> notifications ---------------------------------------------------
    async def handler(self, event: L.LinkEvent) -> Any:
        method = getattr(self, "_on_" + type(event).__name__, None)
        return None if method is None else await method(event)

    async def _on_EvSessionStarted(self, e: L.EvSessionStarted):
        r = self.session_request()
        await self.core.notify("v2g.ev.session_started", protocol=E.PROTOCOLS.get(e.protocol, 1),
                               session_id=bytes.fromhex(e.iso_session_id.rjust(16, "0"))[:8], evse_id=e.evse_id[:37],
                               payment_method=E.PAYMENTS.get(r.payment, 0), mode=E.MODES[r.mode])

    async def _on_EvChargeParametersNeeded(self, e):
        if self._flags.pop("renegotiate", False):
            await self.core.notify("v2g.ev.charging_stopped")  # the power flow stops for the renegotiation
        return self.session_request()

    async def _on_EvseParametersReceived(self, e: L.EvseParametersReceived):
        r = self.session_request()
        tuples = schedule_tuples(e.schedules, self.config.max_tuples, self.config.host_power_max_W)
        self.profile = None
        await self.core.notify("v2g.ev.schedule_received", tuples=tuples)
        if r.mode.is_dc and e.dc is not None:
            await self._note_dc(e.dc)
        if e.ac is not None:
            await self.core.notify("v2g.ev.ac_parameters_changed", **ac_changed(e.ac))
        if not r.mode.is_dc or e.renegotiation:  # next: PowerDelivery(Start) (8.4 #6 AC, 7.7)
            await self.core.notify("v2g.ev.charging_ready")
            await self._host_or_abort("v2g.ev.start_charging")
            if e.renegotiation:
                await self.core.notify("v2g.ev.charging_started")
        else:
            try:
                await self._wait_host("v2g.ev.set_charging_profile", self.config.profile_wait_s)
            except TimeoutError:
                pass
        p = self.profile
        first = e.schedules.tuples[0].tuple_id if e.schedules and e.schedules.tuples else 1
        from freev2g.model.schedule import ChargingProfileEntry

        profile = tuple(ChargingProfileEntry(start_s=x.start_s, max_power_W=x.power_W.value) for x in p.entries) if p else ()
        return L.ScheduleSelection(tuple_id=p.tuple_id if p else first, profile=profile)

    async def _on_CableCheckReady(self, e):
        await self.core.notify("v2g.ev.cable_check_ready")
        await self._host_or_abort("v2g.ev.start_cable_check")

    async def _on_CableCheckStatus(self, e: L.CableCheckStatus):
        if e.processing.value == "Finished":
            self._flags["isolation"] = e.isolation
            await self._note_dc(isolation=e.isolation)
            await self.core.notify("v2g.ev.cable_check_finished")

    async def _on_PreChargeStatus(self, e: L.PreChargeStatus):
        if e.present_voltage_V is None:
            await self.core.notify("v2g.ev.pre_charging_ready")
            await self._host_or_abort("v2g.ev.start_pre_charging")
        else:
            target = self._dc("target_voltage_V")
            await self._note_dc(present_V=e.present_voltage_V, isolation=self._flags.get("isolation"))
            if abs(e.present_voltage_V - target) <= self.config.precharge_tolerance_V and not self._flags.get("ready"):
                self._flags["ready"] = True
                await self.core.notify("v2g.ev.charging_ready")
        done = "v2g.ev.start_charging" in self._flags
        return L.PreChargeTargets(target_voltage_V=self._dc("target_voltage_V"), target_current_A=self._dc("target_current_A"),
                                  ev_status=self.ev_status(), done=done and e.present_voltage_V is not None)

    async def _on_PowerDeliveryStarted(self, e):
        self._flags.pop("v2g.ev.start_charging", None)
        await self.core.notify("v2g.ev.charging_started")

    async def _on_EvChargeLoopStatus(self, e: L.EvChargeLoopStatus):
        last = e.dc or e.ac
        if e.dc is not None:
            await self._note_dc(e.dc)
        if e.ac is not None and e.ac.evse_max_current_A is not None and self._flags.get("ac_A") != e.ac.evse_max_current_A:
            self._flags["ac_A"] = e.ac.evse_max_current_A
            await self.core.notify("v2g.ev.ac_parameters_changed", nominal_voltage_V=230.0,
                                   max_current_A=e.ac.evse_max_current_A, rcd_error=e.ac.rcd_error)
        if last is not None and last.notification is not EVSENotification.NONE and not self._flags.get("noted"):
            self._flags["noted"] = True
            await self.core.notify("v2g.ev.notification_received",
                                   notification_type=1 if last.notification is EVSENotification.RENEGOTIATION else 0,
                                   max_delay_s=min(0xFFFF, int(last.notification_max_delay_s)))
        if e.dc is None and e.ac is None:
            self._flags.pop("noted", None)
        reneg = "renegotiate" in self._flags
        stop = bool(self._flags.pop("stop", False))
        if reneg:
            self._flags.pop("noted", None)
        return L.EvLoopTargets(
            ev_status=self.ev_status(), target_voltage_V=self._dc("target_voltage_V"),
            target_current_A=self._dc("target_current_A"), ev_max_voltage_V=self._dc("max_voltage_V") or None,
            ev_max_current_A=self._dc("max_current_A") or None, ev_max_power_W=self._dc("max_power_W") or None,
            stop=stop, renegotiate=reneg)

    async def _on_PowerDeliveryStopped(self, e):
        await self.core.notify("v2g.ev.charging_stopped")
        if self.session_request().mode.is_dc:
            await self.core.notify("v2g.ev.post_charging_ready")

    async def _on_WeldingDetectionStatus(self, e: L.WeldingDetectionStatus):
        await self._note_dc(present_V=e.present_voltage_V, present_A=0.0)
        return "v2g.ev.stop_session" in self._flags

    async def _on_EvSessionFinished(self, e: L.EvSessionFinished):
        if not self.session_active:
            return
        self.session_active = False
        self._flags.clear()
        for fut in self._waits.values():
            if not fut.done():
                fut.cancel()
        if e.cause not in (StopCause.EV_STOP, StopCause.EVSE_STOP, StopCause.SOC_REACHED):
            await self.core.notify("v2g.ev.session_error", code=_ERROR_FOR_CAUSE.get(e.cause, 8))
        await self.core.notify("v2g.ev.session_stopped")
        self.sessions_completed += 1
