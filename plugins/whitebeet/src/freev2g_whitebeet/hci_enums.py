"""HCI numbers <-> freev2g domain enums (whitebeet-hci.md 4.2, 4.3). The HCI orders some enums
differently from the ISO schema (EVSE status: Ready first); all mapping lives here."""
from __future__ import annotations

from freev2g.model.enums import (
    CPState, EnergyTransferMode, EVErrorCode, EVSEStatusCode, IsolationLevel, PaymentOption, Protocol, StopCause,
)

PROTOCOLS = {Protocol.DIN70121: 0, Protocol.ISO15118_2: 1}
MODES = {
    EnergyTransferMode.DC_CORE: 0,
    EnergyTransferMode.DC_EXTENDED: 1,
    EnergyTransferMode.DC_COMBO_CORE: 2,
    EnergyTransferMode.DC_UNIQUE: 3,
    EnergyTransferMode.AC_SINGLE_PHASE_CORE: 4,
    EnergyTransferMode.AC_THREE_PHASE_CORE: 5,
}
PAYMENTS = {PaymentOption.EXTERNAL_PAYMENT: 0, PaymentOption.CONTRACT: 1}
EV_ERRORS = {
    EVErrorCode.NO_ERROR: 0,
    EVErrorCode.RESS_TEMPERATURE_INHIBIT: 1,
    EVErrorCode.EV_SHIFT_POSITION: 2,
    EVErrorCode.CONNECTOR_LOCK_FAULT: 3,
    EVErrorCode.RESS_MALFUNCTION: 4,
    EVErrorCode.CURRENT_DIFFERENTIAL: 5,
    EVErrorCode.VOLTAGE_OUT_OF_RANGE: 6,
    EVErrorCode.SYSTEM_INCOMPATIBILITY: 7,
}
EVSE_STATUS = {
    EVSEStatusCode.READY: 0,
    EVSEStatusCode.NOT_READY: 1,
    EVSEStatusCode.SHUTDOWN: 2,
    EVSEStatusCode.UTILITY_INTERRUPT: 3,
    EVSEStatusCode.ISOLATION_MONITORING_ACTIVE: 4,
    EVSEStatusCode.EMERGENCY_SHUTDOWN: 5,
    EVSEStatusCode.MALFUNCTION: 6,
}
ISOLATION = {
    IsolationLevel.INVALID: 0,
    IsolationLevel.VALID: 1,
    IsolationLevel.WARNING: 2,
    IsolationLevel.FAULT: 3,
    IsolationLevel.NO_IMD: 4,
}
CP_STATES = [CPState.A, CPState.B, CPState.C, CPState.D, CPState.E, CPState.F]

# 0x8E EVSE session error codes (4.2) -> stop cause
EVSE_SESSION_ERRORS = {
    0: "unspecified", 1: "sequence error", 2: "service id invalid", 3: "unknown session",
    4: "service selection invalid", 5: "payment selection invalid", 6: "certificate expired",
    7: "signature error", 8: "no certificate available", 9: "certificate chain error",
    10: "challenge invalid", 11: "contract cancelled", 12: "wrong charge parameter",
    13: "power delivery not applied", 14: "tariff selection invalid", 15: "charging profile invalid",
    16: "present voltage too low", 17: "metering signature not valid", 18: "no charge service selected",
    19: "wrong energy transfer type", 20: "contactor error", 21: "certificate not allowed at this EVSE",
    22: "certificate revoked", 23: "charge parameter timeout reached",
}
EV_SESSION_ERRORS = {
    1: "selected payment option unavailable", 2: "selected energy transfer mode unavailable",
    3: "wrong charge parameter", 4: "power delivery not applied", 5: "charging profile invalid",
    6: "contactor error", 7: "EVSE present voltage too low", 8: "unspecified",
}


def cause_for_evse_error(code: int) -> StopCause:
    if code == 1:
        return StopCause.SEQUENCE_ERROR
    if code == 23:
        return StopCause.LINK_TIMEOUT
    return StopCause.OTHER


def evse_error_for_cause(cause: StopCause) -> int | None:
    """Session error code the emulator reports for a session that ended this way (None: normal)."""
    if cause in (StopCause.EV_STOP, StopCause.EVSE_STOP, StopCause.REMOTE_STOP, StopCause.LOCAL_STOP,
                 StopCause.SOC_REACHED):
        return None
    if cause is StopCause.SEQUENCE_ERROR:
        return 1
    if cause is StopCause.LINK_TIMEOUT:
        return 23
    return 0


def inverse(table: dict) -> dict:
    return {v: k for k, v in table.items()}


def lookup(table: dict, key, what: str):
    try:
        return table[key]
    except KeyError:
        raise ValueError(f"{what}: {key!r} has no WHITE beet HCI code") from None

EVSE_STATUS_DEFAULT = EVSEStatusCode.NOT_READY
