"""Typed V2G messages: `common` (SAP, SLAC, SDP), `din`, `iso2`, `iso20` (one class per message)."""
from . import common, din, iso2, iso20

__all__ = ["common", "din", "iso2", "iso20"]
