"""DC cable check (IEC 61851-23, charging-domain.md 5.1 and 5.6): with CP C (D with
ventilation) the contactor closes, the supply ramps to the test voltage under the over-voltage
watch, the IMD measures the isolation, then the output returns below 60 V. Runs as a background
task; CableCheckReq answers Ongoing until it has finished. Mixed into DcCharging.
"""
from __future__ import annotations

import logging

from ..boards import BoardError
from ..link import CableCheckAnswer, CableCheckRequest
from ..model.enums import CPState, EVSEProcessing, EVSEStatusCode, IsolationLevel, ResponseCode, StopCause
from .metering import SupplyReadError, read_supply
from .pilot import LockNotConfirmed
from .safety import cable_check_test_voltage_V, emergency_ov_limit_V, isolation_valid
from .states import EvseState

log = logging.getLogger(__name__)


class CableCheckFailed(Exception):
    def __init__(self, cause: StopCause, detail: str):
        super().__init__(detail)
        self.cause = cause
        self.detail = detail



class CableCheck:
    # ------------------------------------------------------------------ cable check (5.1)

    def cable_check(self, req: CableCheckRequest) -> CableCheckAnswer:
        m = self.m
        s = m.session
        ongoing = CableCheckAnswer(processing=EVSEProcessing.ONGOING, isolation=IsolationLevel.INVALID)
        if s is not None:
            s.soc_pct = req.ev_status.soc_pct
        if s is None or s.finished or s.stopping:
            faulted = s is not None and s.requested_stop is StopCause.IMD_FAULT
            return CableCheckAnswer(processing=EVSEProcessing.FINISHED,
                                    isolation=IsolationLevel.FAULT if faulted else IsolationLevel.INVALID,
                                    status_code=EVSEStatusCode.SHUTDOWN, response_code=ResponseCode.FAILED)
        if self._cable_task is None:
            if m.cp not in (CPState.C, CPState.D) or (m.cp is CPState.D and not m.config.has_ventilation):
                now = m.clock.monotonic()
                self._cp_wait_since = self._cp_wait_since if self._cp_wait_since is not None else now
                if now - self._cp_wait_since < m.tunables.cp_detection_timeout_s:
                    return ongoing
                m.spawn(m.stop(StopCause.CABLE_CHECK_FAILED, f"CP state {m.cp.value}, expected C/D", fault=True))
                return CableCheckAnswer(processing=EVSEProcessing.FINISHED, isolation=IsolationLevel.INVALID,
                                        status_code=EVSEStatusCode.SHUTDOWN, response_code=ResponseCode.FAILED)
            m.set_state(EvseState.CABLE_CHECK, "CableCheckReq")
            ev_max = s.ev_max_voltage_V or self.limits().max_voltage_V
            self._cable_result = None
            self._cable_task = m.spawn(self._run_cable_check(ev_max, m.power_ticket()))
            return ongoing
        result = self._cable_result
        if result is None:
            return ongoing
        if result is True:
            level = IsolationLevel.VALID if m.imd is not None else IsolationLevel.NO_IMD
            return CableCheckAnswer(processing=EVSEProcessing.FINISHED, isolation=level, status_code=EVSEStatusCode.READY)
        return CableCheckAnswer(processing=EVSEProcessing.FINISHED, isolation=IsolationLevel.FAULT,
                                status_code=EVSEStatusCode.SHUTDOWN, response_code=ResponseCode.FAILED)

    async def _run_cable_check(self, ev_max_V: float, ticket) -> None:
        m = self.m
        try:
            async with m.clock.timeout(m.tunables.cable_check_timeout_s):
                await self._cable_check_steps(ev_max_V, ticket)
        except CableCheckFailed as exc:
            self._cable_result = exc
        except TimeoutError:
            self._cable_result = CableCheckFailed(StopCause.CABLE_CHECK_FAILED, "cable check took too long")
        except SupplyReadError as exc:  # issue #10 item 12: named as the supply's fault
            self._cable_result = CableCheckFailed(StopCause.POWER_SUPPLY_FAULT, f"{exc} (in cable check)")
        except Exception as exc:  # noqa: BLE001 - any driver error fails the check (and stops)
            self._cable_result = CableCheckFailed(StopCause.CABLE_CHECK_FAILED, f"cable check error: {exc!r}")
        else:
            self._cable_result = True
            if m.session is not None:
                m.session.cable_check_passed = True
            return
        fail = self._cable_result
        log.error("evse %s: cable check failed: %s", m.evse_index, fail.detail)
        s = m.session
        if s is not ticket[1] or s is None or s.finished or s.stopping:
            m.spawn(m.power_off())  # that session's stop is already under way
            return
        m.spawn(m.stop(fail.cause, fail.detail, fault=True))

    async def _board(self, cause: StopCause, aw):
        try:
            return await aw
        except BoardError as exc:
            raise CableCheckFailed(cause, f"{cause.value}: {exc}") from exc

    async def _wait_below_safe(self, cause: StopCause, what: str, timeout_s: float = 10.0) -> float:
        """Wait for the CABLE side below the safe voltage (issue #10 item 7): the board's
        cable-side reading where it has one, the supply side otherwise (core/boards.py)."""
        m = self.m
        safe = m.tunables.safe_voltage_V
        waited = 0.0
        while True:
            if m.psu is not None:
                read_supply(m.psu)  # a failing supply is named as such (SupplyReadError)
            voltage, where = m.cable_side_V()
            if voltage < safe:
                return voltage
            if waited >= timeout_s:
                raise CableCheckFailed(cause, f"{what}: {where} at {voltage:.0f} V after {waited:.0f} s")
            await m.clock.sleep(0.1)
            waited += 0.1

    def _still_allowed(self, ticket) -> None:
        """Cable check energises only with CP C (D with ventilation) for the session that asked
        (5.1, 1.4); checked before the close and on every step after it."""
        m = self.m
        if not m.may_energise(ticket):
            raise CableCheckFailed(StopCause.CABLE_CHECK_FAILED, "session stopped during cable check")
        if m.lock is not None and not m.lock.is_locked():  # issue #10 item 6
            raise CableCheckFailed(StopCause.CONNECTOR_LOCK_FAULT, "connector not locked during cable check")
        if m.cp not in (CPState.C, CPState.D) or (m.cp is CPState.D and not m.config.has_ventilation):
            raise CableCheckFailed(StopCause.CABLE_CHECK_FAILED, f"CP left C/D (now {m.cp.value}) during cable check")

    async def _cable_check_steps(self, ev_max_V: float, ticket) -> None:
        m, t = self.m, self.m.tunables
        cfg = m.config
        psu, imd = m.psu, m.imd
        safe = t.safe_voltage_V
        PSU, IMD = StopCause.POWER_SUPPLY_FAULT, StopCause.IMD_FAULT
        await self._wait_below_safe(StopCause.CABLE_LIVE, f"cable live before cable check (not below {safe:.0f} V)")
        try:  # issue #10 item 6: no voltage on the output before the lock has confirmed locked
            await m.ensure_locked()
        except LockNotConfirmed as exc:
            raise CableCheckFailed(StopCause.CONNECTOR_LOCK_FAULT, f"{exc} (before cable check)") from exc
        self._still_allowed(ticket)
        if psu is not None:
            # 5.6: watch from the first volt: software limit test voltage + tolerance, hardware
            # limit from Table 103 for the test voltage.
            test_V = cable_check_test_voltage_V(ev_max_V, self.limits().max_voltage_V, cfg.dc_isolation_voltage_V)
            m.ov.arm(test_V + t.cable_check_voltage_tolerance_V)
            self._hardware_ov_limit(emergency_ov_limit_V(test_V))
        if not await self._board(StopCause.CP_FAULT, m.close_contactor(ticket=ticket)):
            raise CableCheckFailed(StopCause.CABLE_CHECK_FAILED, "stopped while closing contactors")
        if psu is None:
            return
        if m.session is not None:
            m.session.extra["cable_check_voltage_V"] = test_V
        await self._board(PSU, psu.set_mode("cable_check"))
        self._applied_mode = "cable_check"
        await self._board(PSU, psu.set_voltage_current(test_V, t.cable_check_current_A))
        waited = 0.0
        while True:  # ramp to the test voltage; a short circuit keeps the voltage down (5.1 step 5)
            self._still_allowed(ticket)
            r = read_supply(psu)
            if r.voltage_V > test_V + t.cable_check_voltage_tolerance_V:
                raise CableCheckFailed(StopCause.OVER_VOLTAGE, f"over-voltage in cable check: {r.voltage_V:.0f} V, test {test_V:.0f} V")
            if abs(r.voltage_V - test_V) <= t.cable_check_voltage_tolerance_V:
                break
            if waited >= 1.0 and r.voltage_V < safe and abs(r.current_A) >= t.cable_check_current_A * 0.9:
                raise CableCheckFailed(StopCause.CABLE_CHECK_FAILED, f"short circuit: {r.voltage_V:.0f} V at {r.current_A:.1f} A")
            if waited >= 10.0:
                raise CableCheckFailed(StopCause.CABLE_CHECK_FAILED, f"test voltage {test_V:.0f} V not reached ({r.voltage_V:.0f} V)")
            await m.clock.sleep(0.1)
            waited += 0.1
        if imd is not None:
            if cfg.cable_check_enable_imd_self_test:
                if not await self._board(IMD, imd.self_test(test_V)):
                    raise CableCheckFailed(IMD, f"IMD self-test at {test_V:.0f} V failed")
            await self._board(IMD, imd.start())
            self.imd_running = True
            reading = None
            for _ in range(max(1, cfg.cable_check_wait_number_of_imd_measurements)):
                reading = await self._board(IMD, imd.read())
                self._still_allowed(ticket)
            assert reading is not None
            if not isolation_valid(reading.resistance_F_Ohm, reading.resistance_N_Ohm, t.isolation_fault_Ohm):
                raise CableCheckFailed(
                    IMD,
                    f"isolation fault: {min(reading.resistance_F_Ohm, reading.resistance_N_Ohm):.0f} Ohm "
                    f"< {t.isolation_fault_Ohm:.0f} Ohm",
                )
        if cfg.cable_check_wait_below_60V_before_finish:
            await self._board(PSU, psu.set_mode("off"))
            self._applied_mode = "off"
            await self._wait_below_safe(StopCause.CABLE_CHECK_FAILED, f"not below {safe:.0f} V after cable check")
        else:
            await self._board(PSU, psu.set_voltage_current(0.0, 0.0))
