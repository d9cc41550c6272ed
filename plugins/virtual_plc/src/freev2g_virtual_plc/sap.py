"""supportedAppProtocol negotiation (charging-domain.md 2.6)."""
from __future__ import annotations

from freev2g.model.enums import EnergyTransferMode, Protocol

from .messages.common import PROTOCOL_VERSIONS, AppProtocol, SapResponseCode, SupportedAppProtocolRes

ISO20_AC_NAMESPACE = "urn:iso:std:iso:15118:-20:AC"


def namespace_for(protocol: Protocol, mode: EnergyTransferMode | None = None) -> str:
    if protocol is Protocol.ISO15118_20 and mode is not None and mode.is_ac:
        return ISO20_AC_NAMESPACE
    return protocol.namespace


def protocol_of(namespace: str) -> Protocol | None:
    if namespace == ISO20_AC_NAMESPACE:
        return Protocol.ISO15118_20
    return next((p for p in Protocol if p.namespace == namespace), None)


def ev_offer(protocols: tuple[Protocol, ...], mode: EnergyTransferMode) -> tuple[AppProtocol, ...]:
    """The EV's AppProtocol list: priority 1 = first in the EV's order."""
    return tuple(
        AppProtocol(
            protocol_namespace=namespace_for(p, mode),
            version_major=PROTOCOL_VERSIONS[p][0],
            version_minor=PROTOCOL_VERSIONS[p][1],
            schema_id=i + 1,
            priority=i + 1,
        )
        for i, p in enumerate(protocols)
    )


def negotiate(
    offered: tuple[AppProtocol, ...], supported: tuple[Protocol, ...]
) -> tuple[SupportedAppProtocolRes, Protocol | None]:
    """SECC side: lowest priority number whose namespace we support with the same major
    version wins; equal minor -> OK, other minor -> OK with minor deviation; none -> failed."""
    for entry in sorted(offered, key=lambda e: e.priority):
        protocol = protocol_of(entry.protocol_namespace)
        if protocol is None or protocol not in supported:
            continue
        major, minor = PROTOCOL_VERSIONS[protocol]
        if entry.version_major != major:
            continue
        code = SapResponseCode.OK if entry.version_minor == minor else SapResponseCode.OK_MINOR_DEVIATION
        return SupportedAppProtocolRes(response_code=code, schema_id=entry.schema_id), protocol
    return SupportedAppProtocolRes(response_code=SapResponseCode.FAILED), None
