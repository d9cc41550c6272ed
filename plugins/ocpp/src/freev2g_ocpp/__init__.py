"""freev2g-ocpp: the OCPP uplink (station side of OCPP 1.6, 2.0.1 and 2.1).

uplinks.md section 1 (the `ocpp` library and how SCALE data travels) and section 3 (smart
charging into the SAScheduleList).
"""
from __future__ import annotations

from .config import OcppConfig, OcppConfigError
from .uplink import OcppUplink

VENDOR_ID = "eu.scale-project"

__all__ = ["OcppConfig", "OcppConfigError", "OcppUplink", "VENDOR_ID"]
