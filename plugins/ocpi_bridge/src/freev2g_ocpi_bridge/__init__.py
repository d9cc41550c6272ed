"""freev2g OCPI 2.2.1 bridge: the CPO side of OCPI for a freev2g station.

Serves versions, credentials, sessions (with ChargingPreferences), chargingprofiles (receiver)
and cdrs; pushes Session objects and CDRs to registered eMSPs through a persistent sqlite
outbox. Facts: shared/spec/uplinks.md section 2 (OCPI) and 3.4 (mapping to ISO 15118-2).
"""
from __future__ import annotations

__version__ = "0.1.0"

OCPI_VERSION = "2.2.1"
