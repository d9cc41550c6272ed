"""Enumerations of IEC 61851-1, ISO 15118-2/-20 and DIN 70121 used across freev2g.

Values follow the standards' schema names (charging-domain.md 3.4, 7). Where the WHITE beet HCI
numbers them differently, the whitebeet plugin maps them; these are the domain names.
"""
from __future__ import annotations

from enum import Enum, IntEnum


class CPState(str, Enum):
    """IEC 61851-1 control pilot states (charging-domain.md 1.2)."""

    A = "A"  # +12 V, no EV
    B = "B"  # +9 V, EV connected, not ready
    C = "C"  # +6 V, EV ready
    D = "D"  # +3 V, EV ready, ventilation required
    E = "E"  # 0 V, short / no supply
    F = "F"  # -12 V, EVSE not available
    DF = "DF"  # diode fault (negative plateau too high)

    @property
    def vehicle_connected(self) -> bool:
        return self in (CPState.B, CPState.C, CPState.D)

    @property
    def vehicle_ready(self) -> bool:
        return self in (CPState.C, CPState.D)


class Protocol(str, Enum):
    """High-level protocols, as negotiated by supportedAppProtocol (charging-domain.md 2.6)."""

    DIN70121 = "din"
    ISO15118_2 = "iso2"
    ISO15118_20 = "iso20"

    @property
    def namespace(self) -> str:
        return {
            Protocol.DIN70121: "urn:din:70121:2012:MsgDef",
            Protocol.ISO15118_2: "urn:iso:15118:2:2013:MsgDef",
            Protocol.ISO15118_20: "urn:iso:std:iso:15118:-20:DC",
        }[self]


class EnergyTransferMode(str, Enum):
    """ISO 15118-2 EnergyTransferMode plus the -20 services (AC, DC, AC_BPT, DC_BPT)."""

    AC_SINGLE_PHASE_CORE = "AC_single_phase_core"
    AC_THREE_PHASE_CORE = "AC_three_phase_core"
    DC_CORE = "DC_core"
    DC_EXTENDED = "DC_extended"
    DC_COMBO_CORE = "DC_combo_core"
    DC_UNIQUE = "DC_unique"
    AC_BPT = "AC_BPT"
    DC_BPT = "DC_BPT"

    @property
    def is_dc(self) -> bool:
        return self.value.startswith("DC")

    @property
    def is_ac(self) -> bool:
        return self.value.startswith("AC")

    @property
    def is_bidirectional(self) -> bool:
        return self in (EnergyTransferMode.AC_BPT, EnergyTransferMode.DC_BPT)

    @property
    def phases(self) -> int:
        return 1 if self is EnergyTransferMode.AC_SINGLE_PHASE_CORE else 3


class PaymentOption(str, Enum):
    EXTERNAL_PAYMENT = "ExternalPayment"  # EIM
    CONTRACT = "Contract"  # Plug & Charge


class EVSEProcessing(str, Enum):
    FINISHED = "Finished"
    ONGOING = "Ongoing"
    ONGOING_WAITING_FOR_CUSTOMER = "Ongoing_WaitingForCustomerInteraction"


class IsolationLevel(str, Enum):
    INVALID = "Invalid"
    VALID = "Valid"
    WARNING = "Warning"
    FAULT = "Fault"
    NO_IMD = "No_IMD"


class EVSEStatusCode(str, Enum):
    NOT_READY = "EVSE_NotReady"
    READY = "EVSE_Ready"
    SHUTDOWN = "EVSE_Shutdown"
    UTILITY_INTERRUPT = "EVSE_UtilityInterruptEvent"
    ISOLATION_MONITORING_ACTIVE = "EVSE_IsolationMonitoringActive"
    EMERGENCY_SHUTDOWN = "EVSE_EmergencyShutdown"
    MALFUNCTION = "EVSE_Malfunction"


class EVSENotification(str, Enum):
    NONE = "None"
    STOP_CHARGING = "StopCharging"
    RENEGOTIATION = "ReNegotiation"
    PAUSE = "Pause"  # ISO 15118-20 EVSENotification (ISO15118_ev pause_from_charger)


class EVErrorCode(str, Enum):
    NO_ERROR = "NO_ERROR"
    RESS_TEMPERATURE_INHIBIT = "FAILED_RESSTemperatureInhibit"
    EV_SHIFT_POSITION = "FAILED_EVShiftPosition"
    CONNECTOR_LOCK_FAULT = "FAILED_ChargerConnectorLockFault"
    RESS_MALFUNCTION = "FAILED_EVRESSMalfunction"
    CURRENT_DIFFERENTIAL = "FAILED_ChargingCurrentdifferential"
    VOLTAGE_OUT_OF_RANGE = "FAILED_ChargingVoltageOutOfRange"
    SYSTEM_INCOMPATIBILITY = "FAILED_ChargingSystemIncompatibility"
    NO_DATA = "NoData"


class ChargeProgress(str, Enum):
    START = "Start"
    STOP = "Stop"
    RENEGOTIATE = "Renegotiate"
    STANDBY = "Standby"  # -20 only


class ChargingSession(str, Enum):
    TERMINATE = "Terminate"
    PAUSE = "Pause"


class ResponseCode(str, Enum):
    """ISO 15118-2 response codes (charging-domain.md 3.4) plus DIN's extras."""

    OK = "OK"
    OK_NEW_SESSION = "OK_NewSessionEstablished"
    OK_OLD_SESSION_JOINED = "OK_OldSessionJoined"
    FAILED = "FAILED"
    FAILED_SEQUENCE_ERROR = "FAILED_SequenceError"
    FAILED_SERVICE_ID_INVALID = "FAILED_ServiceIDInvalid"
    FAILED_UNKNOWN_SESSION = "FAILED_UnknownSession"
    FAILED_SERVICE_SELECTION_INVALID = "FAILED_ServiceSelectionInvalid"
    FAILED_PAYMENT_SELECTION_INVALID = "FAILED_PaymentSelectionInvalid"
    FAILED_CERTIFICATE_EXPIRED = "FAILED_CertificateExpired"
    FAILED_SIGNATURE_ERROR = "FAILED_SignatureError"
    FAILED_NO_CERTIFICATE_AVAILABLE = "FAILED_NoCertificateAvailable"
    FAILED_CERT_CHAIN_ERROR = "FAILED_CertChainError"
    FAILED_CHALLENGE_INVALID = "FAILED_ChallengeInvalid"
    FAILED_CONTRACT_CANCELED = "FAILED_ContractCanceled"
    FAILED_WRONG_CHARGE_PARAMETER = "FAILED_WrongChargeParameter"
    FAILED_POWER_DELIVERY_NOT_APPLIED = "FAILED_PowerDeliveryNotApplied"
    FAILED_TARIFF_SELECTION_INVALID = "FAILED_TariffSelectionInvalid"
    FAILED_CHARGING_PROFILE_INVALID = "FAILED_ChargingProfileInvalid"
    FAILED_METERING_SIGNATURE_NOT_VALID = "FAILED_MeteringSignatureNotValid"
    FAILED_NO_CHARGE_SERVICE_SELECTED = "FAILED_NoChargeServiceSelected"
    FAILED_WRONG_ENERGY_TRANSFER_MODE = "FAILED_WrongEnergyTransferMode"
    FAILED_CONTACTOR_ERROR = "FAILED_ContactorError"
    FAILED_CERTIFICATE_NOT_ALLOWED = "FAILED_CertificateNotAllowedAtThisEVSE"
    FAILED_CERTIFICATE_REVOKED = "FAILED_CertificateRevoked"
    FAILED_EVSE_PRESENT_VOLTAGE_TOO_LOW = "FAILED_EVSEPresentVoltageToLow"  # DIN

    @property
    def is_failure(self) -> bool:
        return self.value.startswith("FAILED")


class ControlMode(str, Enum):
    """ISO 15118-20 control modes."""

    SCHEDULED = "Scheduled"
    DYNAMIC = "Dynamic"


class StopCause(str, Enum):
    """Why a session (or its power flow) ended. Written to the journal with every stop."""

    EV_STOP = "ev_stop"
    EVSE_STOP = "evse_stop"
    REMOTE_STOP = "remote_stop"
    LOCAL_STOP = "local_stop"
    EV_UNPLUGGED = "ev_unplugged"
    CP_FAULT = "cp_fault"
    LINK_TIMEOUT = "link_timeout"
    LINK_LOST = "link_lost"
    SEQUENCE_ERROR = "sequence_error"
    IMD_FAULT = "imd_fault"
    OVER_VOLTAGE = "over_voltage"
    OVER_CURRENT = "over_current"  # AC: the EV drew more than signalled (soft over-current)
    POWER_SUPPLY_FAULT = "power_supply_fault"
    CONNECTOR_LOCK_FAULT = "connector_lock_fault"
    CABLE_CHECK_FAILED = "cable_check_failed"
    PRECHARGE_FAILED = "precharge_failed"
    AUTHORIZATION_REJECTED = "authorization_rejected"
    AUTHORIZATION_TIMEOUT = "authorization_timeout"
    EV_FAULT = "ev_fault"
    SOC_REACHED = "soc_reached"
    PROCESS_SHUTDOWN = "process_shutdown"
    WELDING_DETECTED = "welding_detected"
    ISOLATION_FAULT = "isolation_fault"
    POWER_METER_FAULT = "power_meter_fault"
    CABLE_LIVE = "cable_live"
    PROCESS_CRASH = "process_crash"
    OPERATOR_STOP = "operator_stop"
    OTHER = "other"


class ChargeMode(str, Enum):
    """EvseManager `charge_mode` (seed 003)."""

    AC = "AC"
    DC = "DC"


class RateUnit(str, Enum):
    """Charging-rate units of OCPP/OCPI profiles: W total, or A per phase."""

    W = "W"
    A = "A"
