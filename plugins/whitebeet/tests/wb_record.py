"""A host-side transport wrapper that decodes and keeps every notification the module sends
(name, fields), in arrival order. It forwards everything unchanged (a tap, not a fake)."""
from __future__ import annotations

from freev2g.framing import Frame
from freev2g_whitebeet.messages import catalogue


class NotificationTap:
    def __init__(self, inner):
        self.inner = inner
        self.cat = catalogue()
        self.notes: list[tuple[str, object]] = []

    def named(self, name: str) -> list:
        return [fields for n, fields in self.notes if n == name]

    async def send(self, frame: bytes) -> None:
        await self.inner.send(frame)

    async def recv(self) -> bytes:
        data = await self.inner.recv()
        f = Frame.from_bytes(data)
        if self.cat.is_unsolicited(f.module_id, f.sub_id):
            spec = self.cat.from_module(f.module_id, f.sub_id)
            self.notes.append((spec.name, spec.decode(bytes(f.payload))))
        return data

    async def close(self) -> None:
        await self.inner.close()
