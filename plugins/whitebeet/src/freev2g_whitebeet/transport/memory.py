"""An in-memory transport pair for unit tests and in-process emulation (no wire)."""
from __future__ import annotations

import asyncio

from .base import TransportClosed

_CLOSED = object()


class MemoryTransport:
    def __init__(self, name: str):
        self.name = name
        self._inbox: asyncio.Queue = asyncio.Queue()
        self.peer: MemoryTransport | None = None
        self._closed = False
        self.sent_frames = 0

    async def send(self, frame: bytes) -> None:
        if self._closed or self.peer is None or self.peer._closed:
            raise TransportClosed(f"{self.name}: closed")
        self.sent_frames += 1
        self.peer._inbox.put_nowait(bytes(frame))

    async def recv(self) -> bytes:
        if self._closed and self._inbox.empty():
            raise TransportClosed(f"{self.name}: closed")
        item = await self._inbox.get()
        if item is _CLOSED:
            self._closed = True
            raise TransportClosed(f"{self.name}: closed")
        return item

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._inbox.put_nowait(_CLOSED)
            if self.peer is not None and not self.peer._closed:
                self.peer._inbox.put_nowait(_CLOSED)


def memory_pair() -> tuple[MemoryTransport, MemoryTransport]:
    """(host end, module end)."""
    host, module = MemoryTransport("host"), MemoryTransport("module")
    host.peer, module.peer = module, host
    return host, module
