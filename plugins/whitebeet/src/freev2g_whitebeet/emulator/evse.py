"""EVSE-role emulator: V2G EVSE-mode commands (0x60-0x76) and the bridge from an EVSE-role link
(the module's SECC) to HCI notifications (whitebeet-hci.md 5.9, 5.10, 8.3).

`handler(event)` is what the SECC link awaits: it turns each link event into the notification
the real module sends and waits for the host's command where the module needs an answer.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from attrs import define

from freev2g import link as L
from freev2g.model.enums import (
    ChargeProgress, ChargingSession, EVSENotification, EVSEProcessing, IsolationLevel, ResponseCode,
)
from freev2g.model.params import ACEVSEChargeParameter, DCEVSEChargeParameter, EVSEOffer
from freev2g.model.schedule import PMaxScheduleEntry, SAScheduleList, SAScheduleTuple

from .. import hci_enums as E
from ..codec import schedule_power
from ..messages import Result
from .core import EmulatorCore, Reply
from .evse_values import ac_limits, dc_limits, is_hex, mode_selected_fields
from .evse_timing import _ONGOING, HostTiming

log = logging.getLogger(__name__)


@define(kw_only=True)
class EvseEmulatorConfig:
    authorization_timeout_ms: int = 60_000
    schedules_timeout_ms: int = 60_000
    cable_check_timeout_ms: int = 60_000
    power_delivery_timeout_ms: int = 10_000
    ongoing_slice_s: float = 1.0  # answer Ongoing to the EV while the host has not decided
    refresh_limit_s: float | None = 0.5  # 5.9.3: 0x63 at least every 500 ms (DC), None = off
    enforce_ac_refresh: bool = False  # 8.3: not against FreeV2G
    max_entries: int = 24


@define
class _Session:
    dc: bool = True
    pre_charge_notified: bool = False
    welding_notified: bool = False
    refresh_armed: bool = False
    last_refresh: float = 0.0
    closure: int = 0
    error_code: int | None = None
    ev_values: Any = None
    ev_max: tuple[float, float, float | None] | None = None  # the EV's own maxima (V, A, W)
    notification: EVSENotification = EVSENotification.NONE
    notification_delay_s: int = 0
    tuples: Any = None


class EvseV2gModule(HostTiming):
    def __init__(self, core: EmulatorCore, peer, config: EvseEmulatorConfig | None = None):
        self.core = core
        self.peer = peer  # start_matching(), open(handler, offer), abort(cause), close()
        self.config = config or EvseEmulatorConfig()
        self.listening = False
        self.configuration = None
        self.dc_params = None
        self.ac_params = None
        self.last_dc_update = None
        self.last_ac_update = None
        self.session: _Session | None = None
        self._waits: dict[str, asyncio.Future] = {}
        self._watchdog: asyncio.Task | None = None
        self.sessions_completed = 0
        self._ongoing: dict[str, asyncio.Task] = {}
        self._register()
        core.cp_listeners.append(self._cp_changed)

    # ---- host commands ------------------------------------------------------------------
    def _register(self) -> None:
        c = self.core

        def store(attr):
            async def h(p):
                if attr in ("configuration", "dc_params", "ac_params") and self.listening:
                    raise Reply(Result.MODULE_SPECIFIC_11, "configuration while listening")
                setattr(self, attr, p)
                if attr == "last_dc_update" and self.session:
                    self.session.last_refresh = self.core.clock.monotonic()
                if attr == "last_ac_update" and self.session:
                    self.session.last_refresh = self.core.clock.monotonic()

            return h

        c.on("v2g.evse.set_configuration", store("configuration"))
        c.on("v2g.evse.set_dc_parameters", store("dc_params"))
        c.on("v2g.evse.set_ac_parameters", store("ac_params"))
        c.on("v2g.evse.update_dc_parameters", store("last_dc_update"))
        c.on("v2g.evse.update_ac_parameters", store("last_ac_update"))
        c.on("v2g.evse.get_configuration", self._get_configuration)
        c.on("v2g.evse.set_sdp_configuration", store("sdp"))
        c.on("v2g.evse.start_listen", self._start_listen)
        c.on("v2g.evse.stop_listen", self._stop_listen)
        c.on("v2g.evse.send_notification", self._send_notification)
        c.on("v2g.evse.set_meter_receipt_request", self._meter_receipt)
        c.on("v2g.evse.set_session_parameter_timeout", _noop)
        for name in ("v2g.evse.set_authorization_status", "v2g.evse.set_schedules", "v2g.evse.set_cable_check_finished",
                     "v2g.evse.start_charging", "v2g.evse.stop_charging"):
            c.on(name, self._answer(name))
        c.on("slac.start_matching", self._start_matching)

    async def _get_configuration(self, _p):
        if self.configuration is None:
            raise Reply(Result.UNEXPECTED, "not configured")
        return self.configuration

    def _answer(self, name: str):
        async def h(p):
            fut = self._waits.get(name)
            if fut is None or fut.done():
                if name == "v2g.evse.stop_charging":
                    return None  # FreeV2G sends it on errors too (7.4); harmless
                raise Reply(Result.MODULE_SPECIFIC_11, f"{name} not expected now")
            fut.set_result(p)

        return h

    async def _start_matching(self, _p):
        slac = self.core.state.slac
        if not slac.started:
            raise Reply(Result.MODULE_SPECIFIC_10, "SLAC not started")
        slac.matching = True
        await self.peer.start_matching()

    async def _start_listen(self, _p):
        if self.core.state.v2g_mode != 1:
            raise Reply(Result.UNEXPECTED, "V2G mode is not EVSE")
        if self.configuration is None:
            raise Reply(Result.MODULE_SPECIFIC_10, "no configuration")
        if self.listening:
            raise Reply(Result.UNEXPECTED, "already listening")
        self.listening = True
        cfg = self.configuration
        modes = tuple(E.inverse(E.MODES)[m] for m in cfg.energy_transfer_modes if m in E.inverse(E.MODES))
        offer = EVSEOffer(
            evse_id=cfg.evse_id_iso,
            evse_id_din=cfg.evse_id_din,
            energy_transfer_modes=modes,
            payment_options=tuple(E.inverse(E.PAYMENTS)[p] for p in cfg.payment_methods),
        )
        asyncio.get_running_loop().create_task(self.peer.open(self.handler, offer))

    async def _stop_listen(self, _p):
        # 8.2: answer 00 even when not listening (FreeV2G sends it at start-up and shutdown).
        if self.listening:
            self.listening = False
            await self.peer.close()

    async def _send_notification(self, p):
        if self.session is None:
            raise Reply(Result.MODULE_SPECIFIC_11, "no session")
        self.session.notification = EVSENotification.RENEGOTIATION if p.renegotiation else EVSENotification.STOP_CHARGING
        self.session.notification_delay_s = p.timeout_s

    async def _meter_receipt(self, _p):
        if self.session is None:
            raise Reply(Result.MODULE_SPECIFIC_11, "no session")
        asyncio.get_running_loop().create_task(self.core.notify("v2g.evse.metering_receipt_status", verified=True))

    def _cp_changed(self) -> None:
        self.peer.cp_changed(self.core.state.cp)

    # ---- link events -> notifications ---------------------------------------------------
    async def handler(self, event: L.LinkEvent) -> Any:
        method = getattr(self, "_on_" + type(event).__name__, None)
        if method is None:
            return None
        return await method(event)

    async def _on_LinkUp(self, e: L.LinkUp):
        self.core.state.slac.matched = True
        self.core.state.slac.matching = False
        await self.core.notify("slac.matching_successful")

    async def _on_MatchingFailed(self, e: L.MatchingFailed):
        self.core.state.slac.matching = False
        await self.core.notify("slac.matching_failed")

    async def _on_SessionSetup(self, e: L.SessionSetup):
        self.session = _Session()
        evcc = bytes.fromhex(e.evcc_id.replace(":", "")) if is_hex(e.evcc_id) else e.evcc_id.encode()[:20]
        await self.core.notify(
            "v2g.evse.session_started", protocol=E.PROTOCOLS.get(e.protocol, 1),
            session_id=bytes.fromhex(e.iso_session_id.rjust(16, "0"))[:8], evcc_id=evcc[:20],
        )

    async def _on_PaymentSelected(self, e: L.PaymentSelected):
        await self.core.notify("v2g.evse.payment_selected", method=E.PAYMENTS[e.option],
                               contract_certificate=b"", sub_ca_1=b"", sub_ca_2=b"", emaid=e.emaid or "")

    async def _on_AuthorizationRequest(self, e: L.AuthorizationRequest):
        p = await self._wait_or_ongoing("auth", "v2g.evse.authorization_requested",
                                        {"timeout_ms": self.config.authorization_timeout_ms},
                                        "v2g.evse.set_authorization_status", self.config.authorization_timeout_ms)
        if p is _ONGOING:
            return L.AuthorizationAnswer(processing=EVSEProcessing.ONGOING, accepted=False)
        if p is None:
            await self._host_timeout("authorization")
            return L.AuthorizationAnswer(processing=EVSEProcessing.FINISHED, accepted=False)
        return L.AuthorizationAnswer(processing=EVSEProcessing.FINISHED, accepted=p.status == 0)

    async def _on_ChargeParameterRequest(self, e: L.ChargeParameterRequest):
        s = self.session or _Session()
        self.session = s
        s.dc = e.mode.is_dc
        if "cpd" not in self._ongoing:
            await self.core.notify("v2g.evse.energy_transfer_mode_selected", **mode_selected_fields(e))
        p = await self._wait_or_ongoing("cpd", "v2g.evse.schedules_requested",
                                        {"timeout_ms": self.config.schedules_timeout_ms,
                                         "max_entries": e.max_entries or self.config.max_entries},
                                        "v2g.evse.set_schedules", self.config.schedules_timeout_ms)
        if p is _ONGOING:
            return L.ChargeParameterAnswer(processing=EVSEProcessing.ONGOING)
        if p is None:
            await self._host_timeout("schedules")
            return L.ChargeParameterAnswer(response_code=ResponseCode.FAILED)
        s.refresh_armed = True
        s.last_refresh = self.core.clock.monotonic()
        self._start_watchdog()
        if p.result != 0:
            return L.ChargeParameterAnswer(response_code=ResponseCode.FAILED)
        s.tuples = p.tuples
        schedules = SAScheduleList(tuple(
            SAScheduleTuple(t.tuple_id, tuple(
                PMaxScheduleEntry(en.start_s, en.power_W.value, en.interval_s if i == len(t.entries) - 1 else None)
                for i, en in enumerate(t.entries)))
            for t in p.tuples))
        if e.dc is not None:
            s.ev_max = (e.dc.ev_max_voltage_V, e.dc.ev_max_current_A, e.dc.ev_max_power_W)
            asyncio.get_running_loop().create_task(self._notify_ev_dc(e.dc.status, e.dc.ev_max_voltage_V,
                                                                      e.dc.ev_max_current_A, e.dc.ev_max_power_W, 0, 0))
        if e.ac is not None:
            await self.core.notify("v2g.evse.ac_parameters_changed", ev_max_voltage_V=e.ac.ev_max_voltage_V,
                                   ev_min_current_A=e.ac.ev_min_current_A, ev_max_current_A=e.ac.ev_max_current_A,
                                   energy_request_Wh=e.ac.e_amount_Wh)
        return L.ChargeParameterAnswer(schedules=schedules, dc=self._dc_limits() if s.dc else None,
                                       ac=None if s.dc else self._ac_limits())

    async def _notify_ev_dc(self, status, max_v, max_i, max_p, target_v, target_i, complete=False):
        values = dict(
            ev_max_voltage_V=max_v, ev_max_current_A=max_i, ev_max_power_W=max_p, ready=status.ev_ready,
            error_code=E.EV_ERRORS.get(status.error_code, 0), soc_pct=int(round(status.soc_pct)),
            target_voltage_V=target_v, target_current_A=target_i, full_soc_pct=None, bulk_soc_pct=None,
            charging_complete=complete, bulk_charging_complete=None, remaining_time_to_full_soc_s=None,
            remaining_time_to_bulk_soc_s=None,
        )
        s = self.session
        if s is not None and s.ev_values == values:
            return
        if s is not None:
            s.ev_values = values
        await self.core.notify("v2g.evse.dc_parameters_changed", **values)

    def _ev_max(self) -> tuple[float, float, float | None]:
        s = self.session
        if s is None or s.ev_max is None:
            log.warning("emulator: DC request before the EV sent its maxima (ChargeParameterDiscovery); 0x85 carries 0")
            return 0.0, 0.0, None
        return s.ev_max

    def _dc_limits(self) -> DCEVSEChargeParameter:
        return dc_limits(self.dc_params, self.last_dc_update)

    def _ac_limits(self) -> ACEVSEChargeParameter:
        return ac_limits(self.ac_params, self.last_ac_update)

    async def _on_CableCheckRequest(self, e: L.CableCheckRequest):
        p = await self._wait_or_ongoing("cable", "v2g.evse.cable_check_requested",
                                        {"timeout_ms": self.config.cable_check_timeout_ms},
                                        "v2g.evse.set_cable_check_finished", self.config.cable_check_timeout_ms)
        if p is _ONGOING:
            return L.CableCheckAnswer(processing=EVSEProcessing.ONGOING)
        if p is None:
            await self._host_timeout("cable check")
            return L.CableCheckAnswer(processing=EVSEProcessing.FINISHED, response_code=ResponseCode.FAILED)
        if p.status != 0:
            return L.CableCheckAnswer(processing=EVSEProcessing.FINISHED, isolation=IsolationLevel.FAULT,
                                      status_code=E.EVSEStatusCode.MALFUNCTION)
        iso = self._dc_limits().isolation
        return L.CableCheckAnswer(processing=EVSEProcessing.FINISHED,
                                  isolation=iso if iso != IsolationLevel.INVALID else IsolationLevel.VALID,
                                  status_code=E.EVSEStatusCode.READY)

    def _present(self) -> tuple[float, float]:
        u = self.last_dc_update
        return (u.present_voltage_V.value, u.present_current_A.value) if u is not None else (0.0, 0.0)

    async def _on_PreChargeRequest(self, e: L.PreChargeRequest):
        s = self.session
        if s is not None and not s.pre_charge_notified:
            s.pre_charge_notified = True
            await self.core.notify("v2g.evse.pre_charge_started")
        lim = self._dc_limits()
        # 0x85 fields 1-3 are the EV's maxima: PreChargeReq has none, they are still the EV's
        # from ChargeParameterDiscovery (never the EVSE's own limits).
        await self._notify_ev_dc(e.ev_status, *self._ev_max(), e.target_voltage_V, e.target_current_A)
        return L.PreChargeAnswer(present_voltage_V=self._present()[0], status_code=lim.status_code)

    async def _on_PowerDeliveryRequest(self, e: L.PowerDeliveryRequest):
        if e.progress is ChargeProgress.START:
            # exactly the EV's ChargingProfile; none sent -> no entries (never a made-up one)
            profile = [{"start_s": p.start_s, "power_W": schedule_power(p.max_power_W, f"0x89 profile entry {i + 1}")}
                       for i, p in enumerate(e.profile)]
            p = await self._ask("v2g.evse.start_charging_requested",
                                {"timeout_ms": self.config.power_delivery_timeout_ms,
                                 "tuple_id": e.tuple_id or 1, "profile": profile[:24]},
                                "v2g.evse.start_charging", self.config.power_delivery_timeout_ms)
            if p is None:
                await self._host_timeout("start charging")
                return L.PowerDeliveryAnswer(response_code=ResponseCode.FAILED)
            return L.PowerDeliveryAnswer(status_code=self._dc_limits().status_code)
        p = await self._ask("v2g.evse.stop_charging_requested",
                            {"timeout_ms": self.config.power_delivery_timeout_ms,
                             "renegotiation": e.progress is ChargeProgress.RENEGOTIATE},
                            "v2g.evse.stop_charging", self.config.power_delivery_timeout_ms)
        if self.session is not None:
            self.session.notification = EVSENotification.NONE
        if p is None:
            await self._host_timeout("stop charging")
        return L.PowerDeliveryAnswer()

    async def _on_DCChargeLoopRequest(self, e: L.DCChargeLoopRequest):
        lim = self._dc_limits()
        known_v, known_i, known_p = self._ev_max()  # CurrentDemandReq's maxima are optional
        ev_max = (known_v if e.ev_max_voltage_V is None else e.ev_max_voltage_V,
                  known_i if e.ev_max_current_A is None else e.ev_max_current_A,
                  known_p if e.ev_max_power_W is None else e.ev_max_power_W)
        if self.session is not None:
            self.session.ev_max = ev_max
        await self._notify_ev_dc(e.ev_status, *ev_max, e.target_voltage_V, e.target_current_A, e.charging_complete)
        v, i = self._present()
        s = self.session
        return L.DCChargeLoopAnswer(
            present_voltage_V=v, present_current_A=i, evse_max_current_A=lim.max_current_A,
            evse_max_voltage_V=lim.max_voltage_V, evse_max_power_W=lim.max_power_W,
            current_limit_achieved=e.target_current_A > lim.max_current_A,
            voltage_limit_achieved=e.target_voltage_V > lim.max_voltage_V,
            status_code=lim.status_code,
            notification=s.notification if s else EVSENotification.NONE,
            notification_max_delay_s=s.notification_delay_s if s else 0,
        )

    async def _on_ACChargeLoopRequest(self, e: L.ACChargeLoopRequest):
        lim = self._ac_limits()
        s = self.session
        return L.ACChargeLoopAnswer(evse_max_current_A=lim.max_current_A, rcd_error=lim.rcd_error,
                                    notification=s.notification if s else EVSENotification.NONE,
                                    notification_max_delay_s=s.notification_delay_s if s else 0)

    async def _on_WeldingDetectionRequest(self, e: L.WeldingDetectionRequest):
        s = self.session
        if s is not None and not s.welding_notified:
            s.welding_notified = True
            await self.core.notify("v2g.evse.welding_detection_started")
        return L.WeldingDetectionAnswer(present_voltage_V=self._present()[0])

    async def _on_SessionStopRequest(self, e: L.SessionStopRequest):
        if self.session is not None:
            self.session.closure = 1 if e.kind is ChargingSession.PAUSE else 0

    async def _on_SessionEnded(self, e: L.SessionEnded):
        s, self.session = self.session, None
        self._stop_watchdog()
        for task in self._ongoing.values():
            task.cancel()
        self._ongoing.clear()
        code = s.error_code if s is not None and s.error_code is not None else E.evse_error_for_cause(e.cause)
        if code is not None:
            await self.core.notify("v2g.evse.session_error", code=code)
        await self.core.notify("v2g.evse.session_stopped", closure=1 if e.paused else (s.closure if s else 0))
        self.sessions_completed += 1


async def _noop(_p):
    return None
