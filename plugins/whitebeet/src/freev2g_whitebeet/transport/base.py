"""The transport seam: one HCI frame per send/recv (Ethernet: one frame per Ethernet frame,
whitebeet-hci.md 1.2; SPI: one frame per data exchange, 1.3)."""
from __future__ import annotations

from typing import Protocol, runtime_checkable


class TransportClosed(ConnectionError):
    """The transport was closed (locally or by the peer)."""


@runtime_checkable
class Transport(Protocol):
    async def send(self, frame: bytes) -> None:
        """Send one complete framing frame."""

    async def recv(self) -> bytes:
        """Next received frame bytes (one datagram). Raises TransportClosed."""

    async def close(self) -> None: ...
