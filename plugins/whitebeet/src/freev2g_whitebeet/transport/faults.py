"""A transport wrapper that damages outgoing frames on purpose: drop, duplicate, corrupt,
truncate, reorder (fault tests and benchmarks). Deterministic: a plan of (frame index -> fault)
or a seeded rate."""
from __future__ import annotations

import random

from .base import Transport

FAULTS = ("drop", "duplicate", "corrupt", "truncate", "reorder")


class FaultyTransport:
    def __init__(self, inner: Transport, *, plan: dict[int, str] | None = None, rate: float = 0.0,
                 faults: tuple[str, ...] = FAULTS, seed: int = 1):
        for f in (plan or {}).values():
            if f not in FAULTS:
                raise ValueError(f"unknown fault {f!r}; use one of {', '.join(FAULTS)}")
        self.inner = inner
        self.plan = dict(plan or {})
        self.rate = rate
        self.faults = faults
        self._rng = random.Random(seed)
        self._held: bytes | None = None
        self.sent = 0
        self.applied: list[tuple[int, str]] = []

    def _fault_for(self, index: int) -> str | None:
        if index in self.plan:
            return self.plan[index]
        if self.rate and self._rng.random() < self.rate:
            return self._rng.choice(self.faults)
        return None

    async def send(self, frame: bytes) -> None:
        index = self.sent
        self.sent += 1
        fault = self._fault_for(index)
        if fault:
            self.applied.append((index, fault))
        out: list[bytes] = []
        if fault == "drop":
            pass
        elif fault == "duplicate":
            out = [frame, frame]
        elif fault == "corrupt":
            b = bytearray(frame)
            b[min(6, len(b) - 3)] ^= 0x5A
            out = [bytes(b)]
        elif fault == "truncate":
            out = [frame[: max(1, len(frame) // 2)]]
        elif fault == "reorder":
            self._held = frame
        else:
            out = [frame]
        for f in out:
            await self.inner.send(f)
            if self._held is not None and fault != "reorder":
                held, self._held = self._held, None
                await self.inner.send(held)

    async def recv(self) -> bytes:
        return await self.inner.recv()

    async def close(self) -> None:
        await self.inner.close()
