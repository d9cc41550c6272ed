"""WireMedium: one V2G connection (TCP or TLS, IPv6 link-local) carrying V2GTP payloads.

It implements the Medium protocol of freev2g_virtual_plc.medium (send/recv/close/wait_closed/
closed) with `V2gtpMessage` items (or plain bytes for send: payload type 0x8001); it does not
know the messages inside (ARCHITECTURE.md "The wire"). A framing error from the peer ends the
connection: `recv` raises the V2gtpFrameError once, then MediumClosed.

`WireServer` listens on the interface's link-local address on a port in 49152..65535 (what SDP
announces) and hands out one WireMedium per accepted connection; a connection that fails (bad
TLS handshake, garbage) never stops the server. Sockets are created when `open`/`connect` is
called, in the calling thread's network namespace (see iface.in_netns).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import random
import socket
import ssl
from typing import Any

from .iface import Interface
from .sdp import DYNAMIC_PORTS
from .v2gtp import DEFAULT_MAX_PAYLOAD, V2gtpFrameError, V2gtpMessage, check_stream_type, read_message

log = logging.getLogger(__name__)


def _medium_closed(message: str, by_peer: bool) -> Exception:
    try:  # the Medium protocol's error type, when the virtual link is installed
        from freev2g_virtual_plc.medium import MediumClosed
    except ImportError:  # pragma: no cover - the wire works without it
        return ConnectionError(message)
    return MediumClosed(message, by_peer=by_peer)


class WireMedium:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 max_payload: int = DEFAULT_MAX_PAYLOAD, name: str = "v2g") -> None:
        self.reader, self.writer = reader, writer
        self.max_payload = max_payload
        self.name = name
        self.bytes_in = 0
        self.messages_in = 0
        self.messages_out = 0
        self.types_in: collections.Counter[int] = collections.Counter()  # payload type -> messages
        self.types_out: collections.Counter[int] = collections.Counter()
        self.error: V2gtpFrameError | None = None
        self.last_in: V2gtpMessage | None = None
        self.last_out: V2gtpMessage | None = None
        self._closed = False
        self._by_peer = False
        self._gone = asyncio.Event()
        self.tap: Any = None  # freev2g.v2g_traffic.ConnectionTap: (outgoing, payload_type, payload)

    def open_tap(self, traffic: Any, *, role: str) -> Any:
        """Start logging this connection's messages to `traffic` (a TrafficLog); returns the tap."""
        from freev2g.v2g_traffic import endpoints_of

        ev, evse = endpoints_of(self.writer.get_extra_info("sockname"), self.peer, role=role)
        self.tap = traffic.connection(role=role, ev=ev, evse=evse, tls=self.tls is not None)
        return self.tap

    @property
    def peer(self) -> Any:
        return self.writer.get_extra_info("peername")

    @property
    def tls(self) -> tuple[str, str] | None:
        """(TLS version, cipher suite) of a TLS connection, else None."""
        obj = self.writer.get_extra_info("ssl_object")
        return (obj.version(), obj.cipher()[0]) if obj is not None else None

    @property
    def peer_certificate(self) -> dict | None:
        obj = self.writer.get_extra_info("ssl_object")
        return obj.getpeercert() if obj is not None else None

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, message: V2gtpMessage | bytes) -> None:
        if not isinstance(message, V2gtpMessage):
            message = V2gtpMessage(message)
        if self._closed:
            raise _medium_closed(f"{self.name}: send on a closed connection", self._by_peer)
        check_stream_type(message.payload_type)
        if len(message.payload) > self.max_payload:
            raise V2gtpFrameError(f"{self.name}: payload of {len(message.payload)} bytes exceeds "
                                  f"max_payload {self.max_payload}")
        self.last_out = message
        self.writer.write(message.to_bytes())
        try:
            await self.writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            await self._shut(by_peer=True)
            raise _medium_closed(f"{self.name}: {exc}", True) from None
        self.messages_out += 1
        self.types_out[message.payload_type] += 1
        if self.tap is not None:
            self.tap(True, message.payload_type, message.payload)

    async def recv(self) -> V2gtpMessage:
        if self._closed:
            raise _medium_closed(f"{self.name}: closed", self._by_peer)
        try:
            msg = await read_message(self.reader, max_payload=self.max_payload, offset=self.bytes_in)
        except V2gtpFrameError as exc:
            self.error = exc
            log.warning("%s: %s; closing the connection", self.name, exc)
            await self._shut(by_peer=False)
            raise
        except (ConnectionError, ssl.SSLError) as exc:
            await self._shut(by_peer=True)
            raise _medium_closed(f"{self.name}: {exc}", True) from None
        if msg is None:
            await self._shut(by_peer=True)
            raise _medium_closed(f"{self.name}: closed by the peer", True)
        self.bytes_in += 8 + len(msg.payload)
        self.messages_in += 1
        self.types_in[msg.payload_type] += 1
        self.last_in = msg
        if self.tap is not None:
            self.tap(False, msg.payload_type, msg.payload)
        return msg

    async def _shut(self, *, by_peer: bool) -> None:
        if self._closed:
            return
        self._closed, self._by_peer = True, by_peer
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)
        except (ConnectionError, ssl.SSLError, asyncio.TimeoutError, TimeoutError):
            pass
        self._gone.set()

    async def close(self) -> None:
        await self._shut(by_peer=False)

    async def wait_closed(self) -> None:
        await self._gone.wait()


def _listen_socket(iface: Interface, port: int | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    candidates = [port] if port else random.sample(DYNAMIC_PORTS, 50)
    for p in candidates:
        try:
            sock.bind((iface.link_local, p, 0, iface.index))
            break
        except OSError as exc:
            last = exc
    else:
        sock.close()
        raise OSError(f"cannot listen on [{iface.link_local}%{iface.name}] port {port or '49152..65535'}: {last}")
    sock.listen(8)
    sock.setblocking(False)
    return sock


class WireServer:
    """SECC side: `open()` listens; `accept()` returns the next connection as a WireMedium."""

    def __init__(self, iface: Interface, *, tls: ssl.SSLContext | None = None,
                 max_payload: int = DEFAULT_MAX_PAYLOAD, name: str = "") -> None:
        self.iface, self.tls, self.max_payload = iface, tls, max_payload
        self.name = name or ("tls" if tls else "tcp")
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._pending: asyncio.Queue[WireMedium | None] = asyncio.Queue()
        self._sock: socket.socket | None = None

    @classmethod
    def open(cls, iface: Interface, *, tls: ssl.SSLContext | None = None, port: int | None = None,
             max_payload: int = DEFAULT_MAX_PAYLOAD) -> WireServer:
        """Create and bind the listening socket now (call `start()` from the event loop)."""
        server = cls(iface, tls=tls, max_payload=max_payload)
        server._sock = _listen_socket(iface, port)
        server.port = server._sock.getsockname()[1]
        return server

    async def start(self) -> WireServer:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._on_client, sock=self._sock, ssl=self.tls,
                ssl_handshake_timeout=5.0 if self.tls else None)
        return self

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self._pending.put_nowait(WireMedium(reader, writer, max_payload=self.max_payload,
                                            name=f"{self.name} [{peer[0]}]:{peer[1]}"))

    async def accept(self) -> WireMedium:
        medium = await self._pending.get()
        if medium is None:
            raise _medium_closed(f"{self.name} server closed", False)
        return medium

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        elif self._sock is not None:
            self._sock.close()
        self._pending.put_nowait(None)


def connect_socket(iface: Interface) -> socket.socket:
    """An unconnected TCP socket in the current network namespace (for `connect`)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.bind((iface.link_local, 0, 0, iface.index))
    return sock


async def connect(iface: Interface, address: str, port: int, *, tls: ssl.SSLContext | None = None,
                  max_payload: int = DEFAULT_MAX_PAYLOAD, sock: socket.socket | None = None,
                  timeout_s: float = 5.0) -> WireMedium:
    """EVCC side: open the V2G connection to the address and port SDP announced."""
    sock = sock or connect_socket(iface)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.sock_connect(sock, iface.sockaddr(address, port)), timeout_s)
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(sock=sock, ssl=tls, server_hostname="" if tls else None), timeout_s)
    except BaseException:
        sock.close()
        raise
    return WireMedium(reader, writer, max_payload=max_payload, name=f"{'tls' if tls else 'tcp'} [{address}]:{port}")
