"""Ethernet transport (whitebeet-hci.md 1.2, 8.1 #1-2): one framing frame per Ethernet frame,
EtherType 0x6003, control header 00 04 + size. Frames are built and parsed by the C core; the
socket is scapy's Linux L2 socket bound to EtherType 0x6003, read through the asyncio loop.

Host side: frames are accepted only from the module's MAC (FreeV2G filters the same way); the
module MAC is given, or discovered by a broadcast System Get MAC address whose answer names it.
Module side (emulator): frames addressed to its MAC or to broadcast are accepted and answers go
to the sender.
"""
from __future__ import annotations

import asyncio
import logging

from freev2g.framing import EncapsulationError, FramingError, build_hci_ethernet, encode_frame, parse_hci_ethernet, Frame

from .base import TransportClosed

log = logging.getLogger(__name__)
BROADCAST = b"\xff" * 6
DEFAULT_MODULE_MAC = "00:01:01:63:77:33"  # 1.2: FreeV2G's default


def mac_bytes(mac: str | bytes) -> bytes:
    if isinstance(mac, bytes):
        if len(mac) != 6:
            raise ValueError(f"MAC needs 6 bytes, got {mac!r}")
        return mac
    parts = mac.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError(f"MAC address {mac!r} is not of the form aa:bb:cc:dd:ee:ff")
    try:
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise ValueError(f"MAC address {mac!r} is not hexadecimal") from None


def mac_str(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def interface_mac(iface: str) -> bytes:
    with open(f"/sys/class/net/{iface}/address") as f:
        return mac_bytes(f.read().strip())


class EthernetTransport:
    """`peer_mac` None on the module side: answer whoever sent the last frame."""

    def __init__(self, iface: str, *, own_mac: bytes | None = None, peer_mac: bytes | None = None,
                 module_side: bool = False, rt_priority: int | None = None):
        from scapy.arch.linux import L2Socket
        from scapy.layers import l2  # noqa: F401  registers Ethernet (ARPHRD 1): no "Unable to guess type"

        from .realtime import use_realtime_priority

        self.realtime = use_realtime_priority(rt_priority)

        self.iface = iface
        self.own_mac = own_mac or interface_mac(iface)
        self.peer_mac = peer_mac
        self.module_side = module_side
        self._sock = L2Socket(iface=iface, type=0x6003, promisc=module_side)
        self._sock.ins.setblocking(False)
        self._queue: asyncio.Queue = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._sock.ins.fileno(), self._readable)
        self._closed = False
        self.dropped = 0
        self.last_src: bytes | None = None
        self.tap = None  # callable(raw_ethernet_bytes, outgoing: bool) for capture
        self._receiver = None  # (on_frame, on_error): direct delivery, see set_receiver()

    def set_receiver(self, on_frame, on_error) -> None:
        """Deliver frames from the socket's reader callback straight to `on_frame` (bytes), errors
        to `on_error`, instead of through recv(). Saves a queue and a task wake-up per frame: the
        round-trip tail of the queue path (bench/bench_whitebeet.py) came from those hops."""
        self._receiver = (on_frame, on_error)
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if isinstance(item, Exception):
                on_error(item)
            elif item is not None:
                on_frame(item)

    def _readable(self) -> None:
        while True:
            try:
                data = self._sock.ins.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if self._receiver is not None:
                    self._receiver[1](exc)
                else:
                    self._queue.put_nowait(exc)
                return
            self._on_ethernet(data)

    def _on_ethernet(self, data: bytes) -> None:
        try:
            eth = parse_hci_ethernet(data)
        except (EncapsulationError, FramingError) as exc:
            self.dropped += 1
            log.debug("%s: dropped non-HCI frame: %s", self.iface, exc)
            return
        if eth.src == self.own_mac:
            return  # our own transmission
        if self.module_side:
            if eth.dst not in (self.own_mac, BROADCAST):
                return
            self.peer_mac = eth.src
        elif self.peer_mac is not None and eth.src != self.peer_mac:
            return
        self.last_src = eth.src
        if self.tap is not None:
            self.tap(data, False)
        if self._receiver is not None:
            try:
                self._receiver[0](eth.frame)
            except Exception:  # noqa: BLE001 - a bad frame must not stop the reader callback
                log.exception("%s: frame receiver failed", self.iface)
            return
        self._queue.put_nowait(eth.frame)

    async def send(self, frame: bytes) -> None:
        if self._closed:
            raise TransportClosed(f"{self.iface}: closed")
        dst = self.peer_mac or BROADCAST
        data = build_hci_ethernet(dst, self.own_mac, frame)
        if self.tap is not None:
            self.tap(data, True)
        try:
            self._sock.outs.send(data)
        except OSError as exc:
            raise TransportClosed(f"{self.iface}: send failed: {exc}") from exc

    async def recv(self) -> bytes:
        if self._closed:
            raise TransportClosed(f"{self.iface}: closed")
        item = await self._queue.get()
        if item is None or isinstance(item, Exception):
            raise TransportClosed(f"{self.iface}: {item or 'closed'}")
        return item

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._loop.remove_reader(self._sock.ins.fileno())
            except (ValueError, OSError):
                pass
            self._sock.close()
            self._queue.put_nowait(None)


async def discover_module_mac(iface: str, *, timeout_s: float = 2.0) -> bytes:
    """Broadcast System Get MAC address (0x10/0x45) and take the sender of the first answer."""
    t = EthernetTransport(iface)
    try:
        await t.send(encode_frame(0x10, 0x45, 1, b"", checksum=True))
        async with asyncio.timeout(timeout_s):
            while True:
                raw = await t.recv()
                try:
                    frame = Frame.from_bytes(raw)
                except FramingError:
                    continue
                if (frame.module_id, frame.sub_id, frame.request_id) == (0x10, 0x45, 1):
                    return t.last_src
    finally:
        await t.close()
