"""EvseManager states, the per-session record, session ids and timing tunables.

State names follow EVerest's EvseManager (seed 003) where they exist. Tunables that the fact
sheet marks [verify] or [impl] are collected in `EvseTunables` so a deployment can change them
without code changes (charging-domain.md 1.4, 4.2, 5.1-5.6).
"""
from __future__ import annotations

import base64
import os
import uuid
from datetime import datetime
from enum import Enum
from typing import Any

import attrs
from attrs import define, field, frozen

from ..model.enums import EnergyTransferMode, PaymentOption, Protocol, StopCause
from ..model.params import ACEVChargeParameter, BPTEVParameter, DCEVChargeParameter
from ..model.schedule import SAScheduleList


class EvseState(str, Enum):
    IDLE = "Idle"  # CP A
    UNAVAILABLE = "Unavailable"
    WAITING_FOR_AUTH = "WaitingForAuthentication"
    PREPARING = "PrepareCharging"  # authorized, waiting for the EV (B2 / HLC setup)
    CABLE_CHECK = "CableCheck"
    PRECHARGE = "PreCharge"
    CHARGING = "Charging"
    RENEGOTIATING = "Renegotiating"
    PAUSED_EV = "ChargingPausedEV"
    PAUSED_EVSE = "ChargingPausedEVSE"
    SWITCHING_PHASES = "SwitchPhase"
    STOPPING = "StoppingCharging"
    WELDING = "WeldingDetection"
    FINISHED = "Finished"  # session closed, EV still plugged
    ERROR = "Error"  # stopped by a fault, EV still plugged


ENERGY_STATES = (EvseState.CABLE_CHECK, EvseState.PRECHARGE, EvseState.CHARGING, EvseState.RENEGOTIATING)


def new_session_id(kind: str = "UUID") -> str:
    """EvseManager `session_id_type`: UUID (36 chars), UUID_BASE64 (22), SHORT_BASE64 (16)."""
    if kind == "UUID":
        return str(uuid.uuid4())
    if kind == "UUID_BASE64":
        return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if kind == "SHORT_BASE64":
        return base64.urlsafe_b64encode(os.urandom(12)).decode()
    raise ValueError(f"evse.session_id_type must be UUID, UUID_BASE64 or SHORT_BASE64, got {kind!r}")


@frozen(kw_only=True)
class EvseTunables:
    """Timing and threshold values not covered by EvseManager keys ([verify]/[impl] facts)."""

    cable_check_current_A: float = 2.0  # 5.1 step 4 (EVerest 2 A)
    safe_voltage_V: float = 60.0  # 5.1 / 5.5
    lock_confirm_timeout_s: float = 5.0  # cable check waits this long for the lock to confirm [verify]
    unlock_discharge_timeout_s: float = 30.0  # after CP A: wait this long for the cable < 60 V, then stay locked [verify]
    isolation_fault_Ohm: float = 100_000.0  # 5.3, IEC 61851-23:2023
    cable_check_timeout_s: float = 35.0  # must finish before the 38 s SECC budget (4.2)
    cable_check_voltage_tolerance_V: float = 10.0  # 5.8 voltage accuracy
    short_circuit_current_A: float = 5.0  # 5.1 step 5
    precharge_current_A: float = 2.0  # 5.4 [verify]
    precharge_tolerance_V: float = 20.0  # 5.4 [verify]
    authorization_timeout_s: float = 50.0  # < 55 s V2G_SECC_Ongoing_Performance_Time (4.2)
    ac_contactor_wait_s: float = 3.0  # [V2G2-860]
    cp_detection_timeout_s: float = 1.5  # 4.2 V2G_SECC_CPState_Detection_Timeout
    evse_stop_grace_s: float = 5.0  # EVSE-initiated HLC stop: wait for the EV, then force
    ev_pause_off_s: float = 6.0  # 1.4: X2 -> X1 while EV stays in C: open after 6 s
    t_step_ef_s: float = 4.0  # 1.4 T_step_EF
    t_step_x1_s: float = 3.0  # 1.4 T_step_X1 [verify]
    v2h_min_soc_pct: float = 20.0  # 8 [impl]
    meter_interval_s: float = 10.0
    monitor_period_s: float = 0.05  # safety monitor tick while energy flows
    renegotiation_max_delay_s: int = 10
    power_off_settle_s: float = 1.0  # wait for current ~0 before opening DC contactors
    power_off_supply_timeout_s: float = 0.05  # supply OFF may take this long before the contactor opens anyway (1.4: 100 ms)


@define
class SessionContext:
    """Mutable record of the running session (one per plug-in)."""

    session_id: str
    started_at: datetime
    start_import_Wh: float = 0.0
    start_export_Wh: float = 0.0
    protocol: Protocol | None = None
    iso_session_id: str | None = None
    ev_id: str | None = None
    id_token: str | None = None
    authorized: bool | None = None  # None: not decided yet
    auth_method: PaymentOption = PaymentOption.EXTERNAL_PAYMENT
    auth_started_s: float | None = None
    emaid: str | None = None
    mode: EnergyTransferMode | None = None
    ev_dc: DCEVChargeParameter | None = None
    ev_ac: ACEVChargeParameter | None = None
    bpt: BPTEVParameter | None = None
    j2847_mode: str | None = None  # "V2H" | "V2G" when the EV selected the service
    j2847_cpd_rounds: int = 0
    min_soc_pct: float | None = None
    schedules: SAScheduleList | None = None
    tuple_id: int | None = None
    start_soc_pct: float | None = None
    soc_pct: float | None = None
    ev_max_voltage_V: float | None = None
    paused: bool = False
    requested_stop: StopCause | None = None  # EVSE-side stop asked for (remote/local/fault)
    requested_detail: str = ""
    finished: bool = False
    stopping: bool = False  # stop() is running: nothing may energise this session any more
    stop_fault: StopCause | None = None  # a fault that arrived while the stop was running
    cable_check_passed: bool = False
    power_delivery_started: bool = False
    renegotiation_pending: bool = False  # limits changed after the offer, before the charge loop
    extra: dict = field(factory=dict)

    @property
    def hlc(self) -> bool:
        return self.protocol is not None


def tunables_from_config(config: Any, base: EvseTunables | None = None) -> EvseTunables:
    """`base` (default tunables) with the values that are station-file keys taken from the
    [evse] config: isolation_fault_threshold_Ohm, lock_confirm_timeout_ms, unlock_discharge_timeout_ms."""
    return attrs.evolve(
        base or EvseTunables(),
        isolation_fault_Ohm=float(config.isolation_fault_threshold_Ohm),
        lock_confirm_timeout_s=config.lock_confirm_timeout_ms / 1000.0,
        unlock_discharge_timeout_s=config.unlock_discharge_timeout_ms / 1000.0,
    )
