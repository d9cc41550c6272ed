"""Clocks: everything that waits takes one (ARCHITECTURE.md, Timing).

`Clock` is simulated time on top of the running asyncio loop: `speed` 1 is real time, N runs N
times faster (sleeps and timeouts are divided by N). `VirtualTimeEventLoop` is an asyncio loop
whose time jumps straight to the next timer whenever nothing is ready, so a whole charging
session runs "as fast as possible" with every timeout still enforced in simulated time. It is
for in-process work only: while real I/O or a worker thread is pending, time would still jump.
"""
from __future__ import annotations

import asyncio
import selectors
import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

T = TypeVar("T")


class Clock:
    """Simulated time derived from the running loop's clock."""

    def __init__(self, speed: float = 1.0, *, start_wall: datetime | None = None):
        if not speed > 0:
            raise ValueError(f"clock speed must be > 0, got {speed!r}")
        self.speed = float(speed)
        self._start_wall = start_wall or datetime.now(timezone.utc)
        # Simulated time is read off one time base at a time: the running loop's clock (a
        # VirtualTimeEventLoop's starts at 0) or, with no loop running, time.monotonic(). When
        # the base changes (a loop ends, another starts) the reading continues from the last
        # value instead of jumping by the difference of two unrelated clocks.
        self._base: object = None
        self._origin = 0.0
        self._last = 0.0
        self._anchored = False
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            pass  # fixed at the first reading
        else:
            self._anchor(loop, loop.time())

    def _anchor(self, base: object, now: float) -> None:
        self._base = base
        self._origin = now - self._last / self.speed
        self._anchored = True

    def monotonic(self) -> float:
        """Seconds of simulated time since this clock was first read."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            base, now = None, time.monotonic()
        else:
            base, now = loop, loop.time()
        if not self._anchored or base is not self._base:
            self._anchor(base, now)
        self._last = (now - self._origin) * self.speed
        return self._last

    def now(self) -> datetime:
        """Simulated wall-clock time (UTC)."""
        return self._start_wall + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    @asynccontextmanager
    async def timeout(self, seconds: float | None) -> AsyncIterator[None]:
        """asyncio.timeout in simulated seconds; raises TimeoutError on expiry."""
        async with asyncio.timeout(None if seconds is None else max(0.0, seconds) / self.speed):
            yield

    async def wait_for(self, aw: Awaitable[T], seconds: float | None) -> T:
        async with self.timeout(seconds):
            return await aw

    def call_later(self, seconds: float, callback: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, seconds) / self.speed, callback, *args)


class ManualClock(Clock):
    """A clock moved by hand, for pure logic tests (no loop needed for monotonic/now)."""

    def __init__(self, start: float = 0.0, *, start_wall: datetime | None = None):
        super().__init__(1.0, start_wall=start_wall)
        self._t = start

    def monotonic(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go backwards")
        self._t += seconds


class _VirtualSelector:
    """Wraps the loop's selector: poll real I/O without blocking, else jump virtual time."""

    def __init__(self, selector: selectors.BaseSelector, loop: "VirtualTimeEventLoop"):
        self._selector = selector
        self._loop = loop

    def select(self, timeout: float | None = None):
        events = self._selector.select(0)
        if events:
            return events
        if timeout is None:
            return self._selector.select(None)
        if timeout > 0:
            self._loop._virtual_time += timeout
        return []

    def __getattr__(self, name: str):
        return getattr(self._selector, name)


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """asyncio loop with virtual time: idle waits cost no real time."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual_time = 0.0
        self._selector = _VirtualSelector(self._selector, self)  # type: ignore[assignment]

    def time(self) -> float:
        return self._virtual_time


def run(main: Awaitable[T], *, virtual_time: bool = False) -> T:
    """asyncio.run, optionally on a VirtualTimeEventLoop."""
    if not virtual_time:
        return asyncio.run(main)  # type: ignore[arg-type]
    with asyncio.Runner(loop_factory=VirtualTimeEventLoop) as runner:
        return runner.run(main)  # type: ignore[arg-type]
