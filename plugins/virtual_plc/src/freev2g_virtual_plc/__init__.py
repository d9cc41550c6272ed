"""freev2g software link "virtual": an ISO 15118 link without hardware.

Simulated SLAC matching and SDP driven by the control pilot, supportedAppProtocol negotiation
and SECC/EVCC message sequencing for DIN 70121, ISO 15118-2 and ISO 15118-20 over a medium
that carries typed message objects (in-process) or JSON lines (unix socket).
"""
__version__ = "0.1.0"
