"""Link "iso15118": the virtual link's SECC/EVCC session logic on a real network interface.

The session logic is freev2g_virtual_plc's (VirtualEvseLink / VirtualEvLink through their
public `cable=` seam); this module gives it a Cable whose V2G connections are TCP or TLS on
the interface (WireServer / connect) after real SDP (SdpServer / UDP multicast), with the
payload codec in between (codec.py).

* Data link: on Ethernet (a veth pair, a plain cable) there is no PLC modem and so no SLAC.
  The EVCC's SLAC requests are answered by its own side at once ("modem joined"); the SECC
  side counts an EV as matched when its first SDP request arrives while matching is allowed
  (EvseManager's start_matching), and then reports MatchingStarted / LinkUp as after SLAC.
* Payload: real EXI in V2GTP 0x8001 (SAP, DIN, -2) and 0x8002..0x8004 (-20), through the
  virtual link's EXI bridge (BridgePayloadCodec: one ExiSession per connection). A field the
  bridge cannot put into EXI is lost on the wire (logged once); nothing private is sent.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import attrs
from attrs import field, frozen

from .codec import BridgePayloadCodec, CodecPipe
from .iface import Interface, in_netns
from .medium import WireServer, connect, connect_socket
from .sdp import SdpRequest, SdpResponse, SdpServer, SeccSdpPolicy, Security, evcc_accepts, _udp6_socket
from .tls import TlsConfig

log = logging.getLogger(__name__)
UNKNOWN_EV_MAC = "00:00:00:00:00:00"  # no SLAC on Ethernet: LinkUp cannot name the EV's MAC


class WireOptionsError(ValueError):
    pass


def _security(value: str) -> str:
    if value not in ("tcp", "tls"):
        raise WireOptionsError(f"link.options.security: expected 'tcp' or 'tls', got {value!r}")
    return value


@frozen(kw_only=True)
class WireOptions:
    iface: str
    netns: str | None = None  # open the sockets in this network namespace (ip netns); tests, tools
    security: str = field(default="tcp", converter=_security)  # EV: what SDP asks; SECC: offer TLS too
    tls: TlsConfig | None = None
    allow_no_tls: bool = True  # EV: go on when the SECC answers "no TLS" to a TLS request
    link_local_timeout_s: float = 10.0

    @classmethod
    def split(cls, config: dict[str, Any] | None) -> tuple[WireOptions, dict[str, Any]]:
        """(wire options, the rest for freev2g_virtual_plc's LinkOptions)."""
        raw = dict(config or {})
        mine = {a.name for a in attrs.fields(cls)}
        wire = {k: raw.pop(k) for k in list(raw) if k in mine}
        if "iface" not in wire:
            raise WireOptionsError("link.options.iface: the iso15118 link needs the network interface name")
        if isinstance(wire.get("tls"), dict):
            try:
                wire["tls"] = TlsConfig(**wire["tls"])
            except TypeError as exc:
                raise WireOptionsError(f"link.options.tls: {exc}") from None
        opts = cls(**wire)
        if opts.security == "tls" and opts.tls is None:
            raise WireOptionsError("link.options.tls: security = 'tls' needs a [link.options.tls] table")
        return opts, raw


class _EvDataLink:
    """EV side: SLAC answered locally (no modem on Ethernet), SDP over UDP multicast."""

    def __init__(self, cable: WireCable) -> None:
        self.cable = cable
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False
        self._transport: Any = None

    async def send(self, message: Any) -> None:
        from freev2g_virtual_plc.messages import common as m

        if isinstance(message, m.SlacParmReq):
            self.inbox.put_nowait(m.SlacParmCnf(run_id=message.run_id))
        elif isinstance(message, m.StartAttenCharInd):
            self.inbox.put_nowait(m.AttenCharInd(run_id=message.run_id))
        elif isinstance(message, m.SlacMatchReq):
            self.inbox.put_nowait(m.SlacMatchCnf(run_id=message.run_id, nid=secrets.token_hex(7),
                                                 nmk=secrets.token_hex(16)))
        elif isinstance(message, m.SdpReq):
            await self._send_sdp()

    async def _send_sdp(self) -> None:
        from freev2g_virtual_plc.messages import common as m

        iface = self.cable.iface
        if self._transport is None:
            with in_netns(self.cable.options.netns):
                sock = _udp6_socket(iface, 0)
            loop = asyncio.get_running_loop()
            inbox = self.inbox

            class _Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: Any) -> None:
                    try:
                        res = SdpResponse.from_bytes(data)
                    except ValueError as exc:
                        log.warning("iso15118 link (EV): dropped an SDP answer from %s: %s", addr[0], exc)
                        return
                    inbox.put_nowait(res)

            self._transport, _ = await loop.create_datagram_endpoint(_Proto, sock=sock)
        security = Security.TLS if self.cable.options.security == "tls" else Security.NO_TLS
        try:
            self._transport.sendto(SdpRequest(security).to_bytes(), iface.sockaddr("ff02::1", 15118))
        except OSError as exc:
            log.warning("iso15118 link (EV): SDP request not sent: %s", exc)

    async def recv(self) -> Any:
        from freev2g_virtual_plc.messages import common as m

        item = await self.inbox.get()
        if isinstance(item, SdpResponse):
            self.cable.sdp_answer = item
            return m.SdpRes(address=item.address, port=item.port, security=item.security, transport=item.transport)
        return item

    async def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.Event().wait()


class _EvseDataLink:
    """SECC side: an SDP request from an unmatched EV stands in for SLAC (see module doc)."""

    def __init__(self, cable: WireCable) -> None:
        self.cable = cable
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False
        self.matched = False
        self._last: tuple[SdpRequest, Any] | None = None

    async def recv(self) -> Any:
        from freev2g_virtual_plc.messages import common as m

        while True:
            if not self.inbox.empty():
                return self.inbox.get_nowait()
            request, addr = await self.cable.sdp.requests.get()
            self._last = (request, addr)
            if self.matched:
                return m.SdpReq(security=request.security, transport=request.transport)
            return m.SlacParmReq(run_id=secrets.token_hex(8), ev_mac=UNKNOWN_EV_MAC)

    async def send(self, message: Any) -> None:
        from freev2g_virtual_plc.messages import common as m

        if isinstance(message, m.SlacParmCnf):
            self.inbox.put_nowait(m.StartAttenCharInd(run_id=message.run_id))
        elif isinstance(message, m.AttenCharInd):
            self.inbox.put_nowait(m.SlacMatchReq(run_id=message.run_id, ev_mac=UNKNOWN_EV_MAC))
        elif isinstance(message, m.SlacMatchCnf):
            self.matched = True
        elif isinstance(message, m.SdpRes) and self._last is not None:
            request, addr = self._last
            response = self.cable.policy(request)
            if response is not None:
                self.cable.sdp.respond(response, addr)

    async def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        await asyncio.Event().wait()


class WireCable:
    """freev2g_virtual_plc's Cable on an interface: `start()` waits for the link-local address
    and opens the sockets (SECC: SDP server, TCP and, with TLS, a TLS server)."""

    def __init__(self, role: str, options: WireOptions) -> None:
        self.role, self.options = role, options
        self.iface: Interface | None = None
        self.sdp: SdpServer | None = None
        self.servers: dict[str, WireServer] = {}
        self.policy: SeccSdpPolicy | None = None
        self.sdp_answer: SdpResponse | None = None
        self._dl: Any = None
        self._accepted: asyncio.Queue[Any] = asyncio.Queue()
        self.media: list[Any] = []  # every V2G connection (WireMedium), for counters and tests
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        if self.iface is not None:
            return
        with in_netns(self.options.netns):
            pass  # checks the namespace exists before waiting
        self.iface = await _wait_in(self.options)
        if self.role == "ev":
            self._dl = _EvDataLink(self)
            return
        tls = self.options.tls.server_context() if self.options.tls else None
        with in_netns(self.options.netns):
            self.servers["tcp"] = WireServer.open(self.iface)
            if tls is not None:
                self.servers["tls"] = WireServer.open(self.iface, tls=tls)
            self.sdp = SdpServer.bind(self.iface, lambda request: None)
        self.sdp.deferred = True
        self.policy = SeccSdpPolicy(address=self.iface.link_local, tcp_port=self.servers["tcp"].port,
                                    tls_port=self.servers["tls"].port if "tls" in self.servers else None)
        for server in self.servers.values():
            await server.start()
            self._tasks.append(asyncio.ensure_future(self._accept(server)))
        await self.sdp.start()
        self._dl = _EvseDataLink(self)

    async def _accept(self, server: WireServer) -> None:
        while True:
            medium = await server.accept()
            self.media.append(medium)
            self._accepted.put_nowait(CodecPipe(medium, BridgePayloadCodec(f"iso15118 link (EVSE) {medium.name}")))

    def data_link(self, role: str) -> Any:
        return self._dl

    def port(self) -> int:
        return self.servers["tcp"].port if self.servers else 0

    async def connect(self, port: int) -> CodecPipe:
        answer = self.sdp_answer
        if answer is None:
            raise ConnectionError("iso15118 link (EV): connect before an SDP answer")
        evcc_accepts(answer, allow_tls=self.options.tls is not None, allow_no_tls=self.options.allow_no_tls)
        tls = self.options.tls.client_context() if answer.security is Security.TLS else None
        with in_netns(self.options.netns):
            sock = connect_socket(self.iface)  # type: ignore[arg-type]
        medium = await connect(self.iface, answer.address, answer.port, tls=tls, sock=sock)  # type: ignore[arg-type]
        self.media.append(medium)
        return CodecPipe(medium, BridgePayloadCodec(f"iso15118 link (EV) {medium.name}"))

    async def accept(self) -> CodecPipe:
        return await self._accepted.get()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.sdp is not None:
            self.sdp.close()
        for server in self.servers.values():
            await server.close()
        if self._dl is not None:
            await self._dl.close()


async def _wait_in(options: WireOptions) -> Interface:
    """wait_link_local inside the namespace: each poll switches in and out (no await inside)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + options.link_local_timeout_s
    from .iface import InterfaceError, resolve_interface

    while True:
        try:
            with in_netns(options.netns):
                return resolve_interface(options.iface)
        except InterfaceError:
            if loop.time() >= deadline:
                raise
        await asyncio.sleep(0.05)


def make_evse_link(config: dict[str, Any] | None, context: Any) -> Any:
    from freev2g_virtual_plc.options import LinkOptions
    from freev2g_virtual_plc.secc.link import VirtualEvseLink

    wire, rest = WireOptions.split(config)
    return VirtualEvseLink(LinkOptions.from_config(rest), context, cable=WireCable("evse", wire))


def make_ev_link(config: dict[str, Any] | None, context: Any) -> Any:
    from freev2g_virtual_plc.evcc.link import VirtualEvLink
    from freev2g_virtual_plc.options import LinkOptions

    wire, rest = WireOptions.split(config)
    return VirtualEvLink(LinkOptions.from_config(rest), context, cable=WireCable("ev", wire))
