"""SPI transport, host = master (whitebeet-hci.md 1.3).

Each exchange is a 4-byte size-exchange frame (AA AA + u16 length each way) and then a data
frame of 4 + max(master, slave) bytes (55 55 00 00 + frame + zero padding). The slave length is
byte2 * 256 + byte3 (not FreeV2G's * 255). Transfers start only while RX_READY is high; a cycle
runs when the host has a frame queued or TX_PENDING is high. GPIO and the bus sit behind small
interfaces so the handshake is tested against a fake bus (there is no SPI bus here).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from .base import TransportClosed

log = logging.getLogger(__name__)
SIZE_MARK = b"\xaa\xaa"
DATA_MARK = b"\x55\x55\x00\x00"
MAX_FRAME = 1500  # per data exchange (1.3)


class SpiBus(Protocol):
    def xfer(self, data: bytes) -> bytes:
        """One full-duplex transfer with chip select asserted around it."""


class Gpio(Protocol):
    def read(self, pin: int) -> bool: ...


class SpiDesync(TransportClosed):
    """The SPI framing lost sync; the module must be reset (1.3 Recovery)."""


class SpidevBus:
    """spidev on /dev/spidevB.D, mode 0, 8-bit words, <= 8 MHz (1.3: use <= 8 MHz to be safe)."""

    def __init__(self, bus: int = 0, device: int = 0, speed_hz: int = 8_000_000):
        import spidev

        self._spi = spidev.SpiDev()
        self._spi.open(bus, device)
        self._spi.mode = 0
        self._spi.bits_per_word = 8
        self._spi.max_speed_hz = speed_hz

    def xfer(self, data: bytes) -> bytes:
        return bytes(self._spi.xfer2(list(data)))


class SysfsGpio:
    """Reads /sys/class/gpio/gpioN/value (pins exported as inputs beforehand)."""

    def read(self, pin: int) -> bool:
        with open(f"/sys/class/gpio/gpio{pin}/value") as f:
            return f.read().strip() == "1"


class SpiTransport:
    def __init__(self, bus: SpiBus, gpio: Gpio, *, clock, rx_ready_pin: int = 22, tx_pending_pin: int = 27,
                 poll_s: float = 0.001, ready_timeout_s: float = 1.0):
        self.bus, self.gpio, self.clock = bus, gpio, clock
        self.rx_ready_pin, self.tx_pending_pin = rx_ready_pin, tx_pending_pin
        self.poll_s, self.ready_timeout_s = poll_s, ready_timeout_s
        self._out: asyncio.Queue[bytes] = asyncio.Queue()
        self._in: asyncio.Queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="whitebeet-spi")
        self.exchanges = 0

    async def send(self, frame: bytes) -> None:
        if self._task.done():
            raise TransportClosed("spi: closed")
        if len(frame) > MAX_FRAME:
            raise ValueError(f"frame of {len(frame)} bytes exceeds {MAX_FRAME} bytes per SPI data exchange")
        self._out.put_nowait(bytes(frame))

    async def recv(self) -> bytes:
        item = await self._in.get()
        if isinstance(item, Exception):
            raise item
        return item

    async def close(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):  # noqa: BLE001
            pass
        self._in.put_nowait(TransportClosed("spi: closed"))

    async def _wait_ready(self) -> None:
        waited = 0.0
        while not self.gpio.read(self.rx_ready_pin):
            if waited >= self.ready_timeout_s:
                raise SpiDesync(f"spi: RX_READY stayed low for {self.ready_timeout_s} s")
            await self.clock.sleep(self.poll_s)
            waited += self.poll_s

    async def _run(self) -> None:
        try:
            while True:
                await self._wait_ready()
                if self._out.empty() and not self.gpio.read(self.tx_pending_pin):
                    await self.clock.sleep(self.poll_s)
                    continue
                await self.exchange()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.error("spi: %s", exc)
            self._in.put_nowait(exc if isinstance(exc, TransportClosed) else SpiDesync(str(exc)))

    async def exchange(self) -> None:
        """One size exchange + data exchange (1.3)."""
        frame = b"" if self._out.empty() else self._out.get_nowait()
        reply = self.bus.xfer(SIZE_MARK + len(frame).to_bytes(2, "big"))
        if reply[:2] != SIZE_MARK:
            raise SpiDesync(f"spi: size-exchange reply starts {reply[:2].hex(' ')}, expected aa aa")
        slave_len = reply[2] * 256 + reply[3]
        await self._wait_ready()
        total = 4 + max(len(frame), slave_len)
        data = self.bus.xfer((DATA_MARK + frame).ljust(total, b"\x00"))
        self.exchanges += 1
        if data[:4] != DATA_MARK:
            raise SpiDesync(f"spi: data-exchange reply starts {data[:4].hex(' ')}, expected 55 55 00 00")
        if slave_len and data[4] == 0xC0:
            self._in.put_nowait(bytes(data[4:4 + slave_len]))
