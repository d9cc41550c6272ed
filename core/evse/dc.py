"""DC charging (IEC 61851-23, charging-domain.md 5): cable check (cable_check.py), precharge,
current demand, welding detection, J2847/2 and -20 BPT discharge.

Charge-loop answers come from cached values (`psu.read()` is a synchronous cached reading) and
setpoints are written by a background task, so the 25 ms answer budget never waits on I/O (10).
"""
from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING

from attrs import frozen

from ..boards import BoardError
from ..link import (
    CableCheckAnswer,
    CableCheckRequest,
    DCChargeLoopAnswer,
    DCChargeLoopRequest,
    PreChargeAnswer,
    PreChargeRequest,
    WeldingDetectionAnswer,
)
from ..model.enums import (
    EVErrorCode,
    EVSENotification,
    EVSEProcessing,
    EVSEStatusCode,
    IsolationLevel,
    ResponseCode,
    StopCause,
)
from ..model.params import DCEVStatus
from .cable_check import CableCheck, CableCheckFailed
from .metering import read_supply
from .safety import emergency_ov_limit_V
from .states import EvseState

if TYPE_CHECKING:  # pragma: no cover
    from .manager import EvseManager

log = logging.getLogger(__name__)


def ev_status_fault(status: DCEVStatus) -> str | None:
    """What is wrong with the EV's DC_EVStatus (None: ready, no error). ISO 15118-20 has no
    EVErrorCode; its links pass a ready status without error."""
    if status.error_code is not EVErrorCode.NO_ERROR:
        return f"EV error {status.error_code.value}"
    if not status.ev_ready:
        return "EV not ready"
    return None


@frozen
class DcLimits:
    max_voltage_V: float
    min_voltage_V: float
    max_current_A: float
    min_current_A: float
    max_power_W: float
    max_discharge_current_A: float = 0.0
    max_discharge_power_W: float = 0.0


class DcCharging(CableCheck):
    def __init__(self, manager: "EvseManager"):
        self.m = manager
        self._cable_task: asyncio.Task | None = None
        self._cable_result: CableCheckFailed | bool | None = None
        self._cp_wait_since: float | None = None
        self._writer: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._target: tuple[str, float, float] | None = None
        self._applied_mode: str | None = None
        self.imd_running = False
        self.discharging = False
        self._warned_no_cable_voltage = False

    # ------------------------------------------------------------------ limits

    @property
    def bidirectional(self) -> bool:
        psu = self.m.psu
        return psu is not None and psu.capabilities().max_import_current_A > 0

    def limits(self, *, raw: bool = False) -> DcLimits:
        """Rated output: [dc] config capped by the supply's capabilities, then (unless raw) the
        schedule / policy power limit."""
        r = self.m.dc_rating
        max_v, min_v, max_i, min_i, max_p = r.max_voltage_V, r.min_voltage_V, r.max_current_A, r.min_current_A, r.max_power_W
        dis_i = r.max_discharge_current_A or math.inf
        dis_p = r.max_discharge_power_W or math.inf
        psu = self.m.psu
        if psu is not None:
            c = psu.capabilities()
            max_v, min_v = min(max_v, c.max_export_voltage_V), max(min_v, c.min_export_voltage_V)
            max_i, min_i = min(max_i, c.max_export_current_A), max(min_i, c.min_export_current_A)
            max_p = min(max_p, c.max_export_power_W)
            dis_i, dis_p = min(dis_i, c.max_import_current_A), min(dis_p, c.max_import_power_W or c.max_import_current_A * max_v)
        else:
            dis_i = dis_p = 0.0
        # max_current_export_A counts on the grid side of the supply, per phase (as EVerest's
        # board capabilities do): discharge power <= A x nominal V x phases; 0 = no discharge.
        cfg = self.m.config
        dis_p = min(dis_p, cfg.max_current_export_A * cfg.ac_nominal_voltage * self.m.phases)
        if dis_p <= 0.0:
            dis_i = 0.0
        if not raw and self.m.limit_W != math.inf:
            max_p = min(max_p, self.m.limit_W)
        return DcLimits(max_v, min_v, max_i, min_i, max_p, 0.0 if dis_i == math.inf else dis_i, 0.0 if dis_p == math.inf else dis_p)

    # ------------------------------------------------------------------ setpoints

    def set_target(self, mode: str, voltage_V: float, current_A: float) -> None:
        """Remember the newest setpoint; the writer task applies it (never awaited here)."""
        if self.m.psu is None or not self.m.energy_on:
            return
        s = self.m.session
        if mode in ("export", "import") and current_A != 0.0 and (s is None or not s.power_delivery_started):
            # Defence in depth (issue #10 item 2): no current outside PowerDelivery(Start)..(Stop),
            # whatever the link lets through.
            log.error("evse %s: %.1f A asked without PowerDelivery(Start); holding 0 A", self.m.evse_index, current_A)
            current_A = 0.0
        self._target = (mode, voltage_V, current_A)
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._writer is None or self._writer.done():
            self._writer = self.m.spawn(self._write_setpoints())
        self._wake.set()

    async def _write_setpoints(self) -> None:
        assert self._wake is not None
        psu = self.m.psu
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._target is None:
                continue
            mode, voltage_V, current_A = self._target
            try:
                if mode != self._applied_mode:
                    await psu.set_mode(mode)
                    self._applied_mode = mode
                await psu.set_voltage_current(voltage_V, abs(current_A))
            except Exception as exc:  # noqa: BLE001 - any driver error: setpoints no longer applied
                self.m.spawn(self.m.stop(StopCause.POWER_SUPPLY_FAULT, f"power supply: {exc}", fault=True))
                return

    def zero_current(self) -> None:
        if self._target is not None:
            mode, voltage_V, _ = self._target
            self.set_target(mode, voltage_V, 0.0)

    def cancel(self) -> None:
        """Called by power_off: drop setpoints, stop the writer and a running cable check."""
        self._target = None
        self._applied_mode = None
        self.discharging = False
        for task in (self._writer, self._cable_task):
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
        self._writer = None
        if self.imd_running and self.m.imd is not None:
            self.imd_running = False
            self.m.spawn(self._stop_imd())

    def disarm_hardware_ov(self) -> None:
        """Called by power_off only once supply OFF and contactor open are confirmed (5.6)."""
        self._hardware_ov_limit(None)

    async def _stop_imd(self) -> None:
        try:
            await self.m.imd.stop()
        except BoardError as exc:
            log.error("evse %s: IMD stop failed: %s", self.m.evse_index, exc)

    def reset_session(self) -> None:
        self._cable_task = None
        self._cable_result = None
        self._cp_wait_since = None

    # ------------------------------------------------------------------ EV status (issue #10 item 3)

    def _ev_fault(self, status: DCEVStatus, where: str) -> bool:
        """EVReady=false or an EVErrorCode: stop and de-energise (as in the charge loop)."""
        problem = ev_status_fault(status)
        if problem is None:
            return False
        s = self.m.session
        if s is not None and not s.finished and not s.stopping:
            self.m.spawn(self.m.stop(StopCause.EV_FAULT, f"{where}: {problem}", fault=True))
        return True

    def cable_check(self, req: CableCheckRequest) -> CableCheckAnswer:
        if self._ev_fault(req.ev_status, "CableCheckReq"):
            return CableCheckAnswer(processing=EVSEProcessing.FINISHED, isolation=IsolationLevel.INVALID,
                                    status_code=EVSEStatusCode.SHUTDOWN, response_code=ResponseCode.FAILED)
        return super().cable_check(req)

    # ------------------------------------------------------------------ precharge (5.4)

    def negotiated_max_V(self, ev_max_V: float | None) -> float:
        lim = self.limits().max_voltage_V
        return min(lim, ev_max_V) if ev_max_V else lim

    def arm_over_voltage(self, ev_max_V: float | None) -> None:
        """Software watch at the negotiated max; a hardware monitor (if the supply driver has
        one) at the Table 103 emergency limit (5.6)."""
        negotiated = self.negotiated_max_V(ev_max_V)
        self.m.ov.arm(negotiated)
        self._hardware_ov_limit(emergency_ov_limit_V(negotiated))

    def _hardware_ov_limit(self, limit_V: float | None) -> None:
        """Optional driver method `set_over_voltage_limit` (sync or async)."""
        set_limit = getattr(self.m.psu, "set_over_voltage_limit", None)
        if set_limit is None:
            return
        try:
            result = set_limit(limit_V)
        except Exception as exc:  # noqa: BLE001 - never break a power path on it
            log.error("evse %s: setting the hardware over-voltage limit failed: %r", self.m.evse_index, exc)
            return
        if hasattr(result, "__await__"):
            self.m.spawn(result)

    def precharge(self, req: PreChargeRequest) -> PreChargeAnswer:
        m = self.m
        s = m.session
        faulted = self._ev_fault(req.ev_status, "PreChargeReq")
        if faulted:
            self.zero_current()  # the stop it started opens the contactor next
        if faulted or s is None or s.finished or s.stopping or not s.cable_check_passed or not m.energy_on:
            present = read_supply(m.psu).voltage_V if m.psu is not None else 0.0
            return PreChargeAnswer(present_voltage_V=present, status_code=EVSEStatusCode.SHUTDOWN,
                                   response_code=ResponseCode.FAILED)
        s.soc_pct = req.ev_status.soc_pct
        if m.state is not EvseState.PRECHARGE:
            m.set_state(EvseState.PRECHARGE, "PreChargeReq")
            self.arm_over_voltage(s.ev_max_voltage_V)
        target_V = min(req.target_voltage_V, self.negotiated_max_V(s.ev_max_voltage_V))
        current_A = min(max(0.0, req.target_current_A), m.tunables.precharge_current_A)
        self.set_target("precharge", target_V, current_A)
        return PreChargeAnswer(present_voltage_V=round(read_supply(m.psu).voltage_V if m.psu else 0.0, 1))

    # ------------------------------------------------------------------ power delivery

    async def power_on(self) -> ResponseCode:
        m = self.m
        s = m.session
        if s is None or s.finished or s.stopping or not s.cable_check_passed or not m.energy_on:
            return ResponseCode.FAILED_POWER_DELIVERY_NOT_APPLIED
        voltage_V = read_supply(m.psu).voltage_V if m.psu is not None else 0.0
        self.arm_over_voltage(s.ev_max_voltage_V)
        self.set_target("export", voltage_V, 0.0)
        return ResponseCode.OK

    async def power_down(self) -> None:
        """PowerDelivery(Stop): current to 0, then supply off and contactors open (3.1 #14)."""
        m = self.m
        self.zero_current()
        waited = 0.0
        try:
            while m.psu is not None and abs(read_supply(m.psu).current_A) > 1.0 and waited < m.tunables.power_off_settle_s:
                await m.clock.sleep(0.05)
                waited += 0.05
        finally:
            await m.power_off()  # also when the reading failed

    # ------------------------------------------------------------------ current demand

    def loop(self, req: DCChargeLoopRequest) -> DCChargeLoopAnswer:
        """CurrentDemandRes / DC_ChargeLoopRes from cached values (25 ms budget)."""
        m = self.m
        s = m.session
        r = read_supply(m.psu) if m.psu is not None else None
        present_V, present_A = (r.voltage_V, r.current_A) if r else (0.0, 0.0)
        e_imp = m.meter_reading()[0]
        lim = self.limits()
        if s is None or s.finished or not m.energy_on or not s.power_delivery_started:
            # Before PowerDelivery(Start) or after PowerDelivery(Stop): no current (item 2).
            return DCChargeLoopAnswer(present_voltage_V=present_V, present_current_A=present_A,
                                      evse_max_current_A=0.0, evse_max_power_W=0.0,
                                      status_code=EVSEStatusCode.SHUTDOWN, notification=EVSENotification.STOP_CHARGING,
                                      meter_Wh=e_imp, response_code=ResponseCode.FAILED_SEQUENCE_ERROR
                                      if s is not None and not s.finished and not s.power_delivery_started
                                      else ResponseCode.OK)
        s.soc_pct = req.ev_status.soc_pct
        if req.ev_max_voltage_V and req.ev_max_voltage_V != s.ev_max_voltage_V:
            s.ev_max_voltage_V = req.ev_max_voltage_V
            self.arm_over_voltage(s.ev_max_voltage_V)
        ev_faulted = not req.ev_status.ev_ready or req.ev_status.error_code is not EVErrorCode.NO_ERROR
        if ev_faulted:
            m.spawn(m.stop(StopCause.EV_FAULT, f"EV status {req.ev_status.error_code.value}", fault=True))
        max_V = self.negotiated_max_V(req.ev_max_voltage_V or s.ev_max_voltage_V)
        target_V = max(0.0, min(req.target_voltage_V, max_V))
        status = EVSEStatusCode.READY
        notification = m.notification
        hold = m.evse_paused or s.requested_stop is not None or ev_faulted
        want = req.target_current_A
        if want >= 0 or not self.discharge_allowed():
            want = max(0.0, want)
            cap_I = min(lim.max_current_A, lim.max_power_W / max(target_V, 1.0), req.ev_max_current_A or math.inf)
            if req.ev_max_power_W:
                cap_I = min(cap_I, req.ev_max_power_W / max(target_V, 1.0))
            current = 0.0 if hold else min(want, cap_I)
            mode = "export"
            self.discharging = False
        else:
            cap_I = min(lim.max_discharge_current_A, lim.max_discharge_power_W / max(present_V, 1.0))
            current = 0.0 if hold else -min(-want, cap_I)
            mode = "import"
            self.discharging = True
            if s.min_soc_pct is not None and s.soc_pct <= s.min_soc_pct:
                current, status, notification = 0.0, EVSEStatusCode.SHUTDOWN, EVSENotification.STOP_CHARGING
        if m.state in (EvseState.PRECHARGE, EvseState.RENEGOTIATING, EvseState.PREPARING):
            m.set_state(EvseState.CHARGING, "CurrentDemandReq")
        self.set_target(mode, target_V if mode == "export" else 0.0, current)
        if hold and s.requested_stop is not None:
            notification = EVSENotification.STOP_CHARGING
        sign = -1.0 if mode == "import" else 1.0
        return DCChargeLoopAnswer(
            present_voltage_V=round(present_V, 1),
            present_current_A=round(present_A, 1),
            evse_max_current_A=round(sign * (0.0 if hold else (lim.max_current_A if mode == "export" else lim.max_discharge_current_A)), 1),
            evse_max_voltage_V=round(max_V, 1),
            evse_max_power_W=round(sign * (0.0 if hold else (lim.max_power_W if mode == "export" else lim.max_discharge_power_W)), 1),
            current_limit_achieved=abs(want) > cap_I,
            voltage_limit_achieved=req.target_voltage_V >= max_V,
            power_limit_achieved=mode == "export" and want * target_V >= lim.max_power_W,
            status_code=status,
            notification=notification,
            notification_max_delay_s=m.tunables.renegotiation_max_delay_s if notification is EVSENotification.RENEGOTIATION else 0,
            meter_Wh=e_imp,
        )

    def discharge_allowed(self) -> bool:
        """J2847/2 (8) on ISO 15118-2, or ISO 15118-20 DC_BPT, with a bidirectional supply, and
        not refused by the user: ChargingPreferences (OCPI) with discharge_allowed false for this
        EVSE keep the power flow one-way (uplinks.md 3.4)."""
        s = self.m.session
        if s is None or not self.bidirectional:
            return False
        prefs = self.m.schedules.preferences(self.m.evse_index)
        if prefs is not None and not prefs.discharge_allowed:
            return False
        return s.j2847_mode is not None or (s.bpt is not None and s.protocol is not None and s.protocol.value == "iso20")

    # ------------------------------------------------------------------ welding detection (5.5)

    def welding(self) -> WeldingDetectionAnswer:
        m = self.m
        if m.state is not EvseState.WELDING:
            m.set_state(EvseState.WELDING, "WeldingDetectionReq")
        voltage_V = self.cable_voltage_V()
        if voltage_V == math.inf:
            voltage_V = self.limits(raw=True).max_voltage_V  # reading failed: report live, never safe
        elif voltage_V is None:
            if not self._warned_no_cable_voltage:
                self._warned_no_cable_voltage = True
                log.warning("evse %s: no cable-side voltage reading (IMD/bsp cable_voltage_V): welding detection "
                            "reports the supply side and cannot see a welded EV contactor", m.evse_index)
            voltage_V = m.psu.read().voltage_V if m.psu is not None else 0.0
        return WeldingDetectionAnswer(present_voltage_V=round(voltage_V, 1))

    def cable_voltage_V(self) -> float | None:
        """DC voltage on the cable side of the EVSE contactor from the optional driver method
        `cable_voltage_V()` of the IMD or the bsp (core/boards.py); None when neither has it.
        A failing reading counts as live (inf) so nothing treats the cable as safe (5.5)."""
        for board in (self.m.imd, self.m.bsp):
            read = getattr(board, "cable_voltage_V", None) if board is not None else None
            if read is None:
                continue
            try:
                return float(read())
            except Exception as exc:  # noqa: BLE001
                log.error("evse %s: cable voltage reading failed: %r", self.m.evse_index, exc)
                return math.inf
        return None
