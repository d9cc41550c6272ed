"""SDP, the SECC Discovery Protocol (charging-domain.md 2.4, 4.4; exi.md 6).

The EVCC sends a V2GTP datagram of payload type 0x9000 (2 bytes: security, transport) from its
link-local address to ff02::1 port 15118 on one interface, and re-sends every 250 ms, at most 50
times; the SECC answers unicast with 0x9001 (20 bytes: its IPv6 address, TCP port, security,
transport). The V2GTP header is checked by the C core (freev2g.framing); every bad datagram is
dropped and counted by reason, and never stops the server.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import struct
from collections import Counter
from enum import IntEnum
from typing import Any, Callable

from attrs import define, field, frozen
from freev2g.framing import (
    FramingError,
    V2gtpLengthError,
    V2gtpPayloadType,
    V2gtpPayloadTypeError,
    V2gtpVersionError,
    build_v2gtp,
    parse_v2gtp,
)

from .iface import Interface

log = logging.getLogger(__name__)

SDP_PORT = 15118
SDP_MULTICAST = "ff02::1"
SDP_MAX_DATAGRAM = 64  # an SDP message is 10 or 28 bytes; more is garbage
DYNAMIC_PORTS = range(49152, 65536)  # the announced TCP port (Josev accepts only these)


class Security(IntEnum):
    TLS = 0x00
    NO_TLS = 0x10


class Transport(IntEnum):
    TCP = 0x00
    UDP = 0x10  # reserved; no V2G connection runs over UDP


class SdpError(ValueError):
    """A datagram that is not a valid SDP message; `reason` is a short key for counting."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _byte_enum(enum: type[IntEnum], value: int, what: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise SdpError(f"bad_{what}", f"SDP {what} byte {value:#04x} is none of "
                       f"{', '.join(f'{m.value:#04x} ({m.name})' for m in enum)}") from None


_REASONS = {V2gtpVersionError: "v2gtp_version", V2gtpPayloadTypeError: "v2gtp_payload_type",
            V2gtpLengthError: "v2gtp_length"}


def _unpack(datagram: bytes, payload_type: V2gtpPayloadType, size: int) -> bytes:
    try:
        header, payload = parse_v2gtp(datagram, max_length=SDP_MAX_DATAGRAM)
    except FramingError as exc:
        reason = _REASONS.get(type(exc), "truncated")
        raise SdpError(reason, f"bad V2GTP header in a {len(datagram)}-byte datagram: {exc}") from None
    if header.payload_type != payload_type:
        raise SdpError("payload_type", f"V2GTP payload type {int(header.payload_type):#06x}, "
                       f"expected {payload_type:#06x} ({payload_type.name})")
    if len(payload) != size:
        raise SdpError("length", f"{payload_type.name} payload has {len(payload)} bytes, expected {size}")
    return payload


@frozen
class SdpRequest:
    security: Security
    transport: Transport = Transport.TCP

    def to_bytes(self) -> bytes:
        return build_v2gtp(V2gtpPayloadType.SDP_REQUEST, bytes((self.security, self.transport)))

    @classmethod
    def from_bytes(cls, datagram: bytes) -> SdpRequest:
        payload = _unpack(datagram, V2gtpPayloadType.SDP_REQUEST, 2)
        return cls(_byte_enum(Security, payload[0], "security"), _byte_enum(Transport, payload[1], "transport"))


@frozen
class SdpResponse:
    address: str  # the SECC's IPv6 (link-local) address, no scope suffix
    port: int
    security: Security
    transport: Transport = Transport.TCP

    def to_bytes(self) -> bytes:
        body = ipaddress.IPv6Address(self.address).packed + struct.pack(
            ">HBB", self.port, self.security, self.transport)
        return build_v2gtp(V2gtpPayloadType.SDP_RESPONSE, body)

    @classmethod
    def from_bytes(cls, datagram: bytes) -> SdpResponse:
        payload = _unpack(datagram, V2gtpPayloadType.SDP_RESPONSE, 20)
        port, security, transport = struct.unpack(">HBB", payload[16:])
        if port not in DYNAMIC_PORTS:
            raise SdpError("port", f"SDP response announces TCP port {port}, outside 49152..65535")
        return cls(str(ipaddress.IPv6Address(payload[:16])), port,
                   _byte_enum(Security, security, "security"), _byte_enum(Transport, transport, "transport"))


def _udp6_socket(iface: Interface, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.name.encode())
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, iface.index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    sock.setblocking(False)
    if port:
        group = ipaddress.IPv6Address(SDP_MULTICAST).packed + struct.pack("@I", iface.index)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
        sock.bind(("::", port, 0, 0))
    else:
        sock.bind((iface.link_local, 0, 0, iface.index))
    return sock


@define
class SdpStats:
    received: int = 0
    answered: int = 0
    dropped: Counter = field(factory=Counter)  # reason -> count
    last_error: str = ""


class SdpServer(asyncio.DatagramProtocol):
    """SECC side. `answer(request, sender)` returns the SdpResponse to send, or None to stay
    silent (e.g. a request for a transport it does not offer).
    `bind` creates the socket at once, in the calling thread's network namespace."""

    def __init__(self, iface: Interface, answer: Callable[[SdpRequest], SdpResponse | None]) -> None:
        self.iface = iface
        self.answer = answer
        self.stats = SdpStats()
        self.transport: asyncio.DatagramTransport | None = None
        self.requests: asyncio.Queue[tuple[SdpRequest, Any]] = asyncio.Queue()
        self._sock: socket.socket | None = None
        self.deferred = False  # True: an answer of None is given later through respond()

    @classmethod
    def bind(cls, iface: Interface, answer: Callable[[SdpRequest], SdpResponse | None],
             port: int = SDP_PORT) -> SdpServer:
        """Create the UDP socket now (in the calling thread's network namespace); then `start()`."""
        server = cls(iface, answer)
        server._sock = _udp6_socket(iface, port)
        return server

    async def start(self) -> SdpServer:
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: self, sock=self._sock)
        return self

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.stats.received += 1
        try:
            if len(data) > SDP_MAX_DATAGRAM:
                raise SdpError("oversized", f"{len(data)}-byte datagram, an SDP request has 10")
            request = SdpRequest.from_bytes(data)
            response = self.answer(request)
        except SdpError as exc:
            self._drop(exc.reason, f"from {addr[0]}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - a bad policy answer must not stop the server
            self._drop("answer_failed", f"from {addr[0]}: answering failed: {exc!r}")
            return
        self.requests.put_nowait((request, addr))
        if response is None and self.deferred:
            return  # answered later with respond()
        if response is None:
            self._drop("not_offered", f"from {addr[0]}: {request} is not offered")
            return
        self.transport.sendto(response.to_bytes(), addr)  # type: ignore[union-attr]
        self.stats.answered += 1

    def respond(self, response: SdpResponse, addr: Any) -> None:
        """Answer a request taken from `requests` (deferred mode)."""
        self.transport.sendto(response.to_bytes(), addr)  # type: ignore[union-attr]
        self.stats.answered += 1

    def _drop(self, reason: str, message: str) -> None:
        self.stats.dropped[reason] += 1
        self.stats.last_error = message
        log.warning("SDP server on %s: dropped a datagram %s", self.iface.name, message)

    def error_received(self, exc: Exception) -> None:
        self._drop("socket_error", str(exc))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        elif self._sock is not None:
            self._sock.close()


class SdpTimeout(TimeoutError):
    pass


class _ClientProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.inbox.put_nowait((data, addr))


@frozen(kw_only=True)
class SdpClientOptions:
    """EVCC SDP behaviour; retry values from charging-domain.md 2.4 / 4.4 (EcoG-io)."""

    retry_s: float = 0.25
    max_requests: int = 50
    group: str = SDP_MULTICAST
    port: int = SDP_PORT


class SdpClient:
    """EVCC side: `discover(request)` multicasts the request until a valid response arrives."""

    def __init__(self, iface: Interface, options: SdpClientOptions | None = None, *, clock: Any = None) -> None:
        self.iface = iface
        self.options = options or SdpClientOptions()
        self.clock = clock
        self.stats = SdpStats()
        self.sent = 0
        self._sock = _udp6_socket(iface, 0)  # now: in the caller's network namespace

    async def discover(self, request: SdpRequest) -> SdpResponse:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(_ClientProtocol, sock=self._sock)
        dest = self.iface.sockaddr(self.options.group, self.options.port)
        try:
            for _ in range(self.options.max_requests):
                try:
                    self._sock.sendto(request.to_bytes(), dest)
                    self.sent += 1
                except OSError as exc:  # e.g. no multicast route yet while the link comes up
                    self.stats.dropped["send_failed"] += 1
                    self.stats.last_error = f"sending to {self.options.group}%{self.iface.name}: {exc}"
                    log.warning("SDP client: %s", self.stats.last_error)
                response = await self._answer(proto, self.options.retry_s)
                if response is not None:
                    return response
            raise SdpTimeout(f"SDP on {self.iface.name}: no valid answer to {self.options.max_requests} requests "
                             f"({self.options.retry_s:g} s apart; {self.stats.received} datagrams received, "
                             f"dropped {dict(self.stats.dropped)}; last error: {self.stats.last_error or 'none'})")
        finally:
            transport.close()

    async def _answer(self, proto: _ClientProtocol, timeout_s: float) -> SdpResponse | None:
        wait_for = self.clock.wait_for if self.clock is not None else asyncio.wait_for
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (left := deadline - loop.time()) > 0:
            try:
                data, addr = await wait_for(proto.inbox.get(), left)
            except (TimeoutError, asyncio.TimeoutError):
                return None
            self.stats.received += 1
            try:
                response = SdpResponse.from_bytes(data)
            except SdpError as exc:
                self.stats.dropped[exc.reason] += 1
                self.stats.last_error = f"from {addr[0]}: {exc}"
                log.warning("SDP client on %s: dropped %s", self.iface.name, self.stats.last_error)
                continue
            self.stats.answered += 1
            return response
        return None


@frozen(kw_only=True)
class SeccSdpPolicy:
    """What the SECC answers (charging-domain.md 2.4): a TLS request gets the TLS port when TLS
    is offered, else the TCP port with "no TLS" (the EV decides); a no-TLS request gets the TCP
    port, else the TLS port with "TLS" (TLS enforced). UDP transport is never offered."""

    address: str
    tcp_port: int | None = None
    tls_port: int | None = None

    def __call__(self, request: SdpRequest) -> SdpResponse | None:
        if request.transport is not Transport.TCP:
            return None
        tls = SdpResponse(self.address, self.tls_port, Security.TLS) if self.tls_port else None
        tcp = SdpResponse(self.address, self.tcp_port, Security.NO_TLS) if self.tcp_port else None
        return (tls or tcp) if request.security is Security.TLS else (tcp or tls)


class SdpRefused(ConnectionError):
    """The SECC offers a security the EVCC is configured not to accept."""


def evcc_accepts(response: SdpResponse, *, allow_tls: bool, allow_no_tls: bool) -> SdpResponse:
    """The EVCC's decision on an SDP answer; raises SdpRefused naming what was offered."""
    if response.security is Security.TLS and not allow_tls:
        raise SdpRefused(f"SECC [{response.address}]:{response.port} offers only TLS, TLS is not configured")
    if response.security is Security.NO_TLS and not allow_no_tls:
        raise SdpRefused(f"SECC [{response.address}]:{response.port} offers only TCP without TLS; "
                         "this EVCC requires TLS (ISO 15118-20 always does)")
    return response
