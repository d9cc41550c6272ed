"""Transports carry one framing-protocol frame per datagram (whitebeet-hci.md 1.2, 1.3, 8.1)."""
from .base import Transport, TransportClosed
from .memory import memory_pair

__all__ = ["Transport", "TransportClosed", "memory_pair"]
