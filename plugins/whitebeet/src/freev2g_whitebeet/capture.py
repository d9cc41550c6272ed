"""Live HCI frame log and pcap (whitebeet-hci.md 1.2, 2): the C core decodes the frames, the
message tables give names and fields, scapy's PcapWriter writes the file.

The socket is AF_PACKET with ETH_P_ALL, filtered to EtherType 0x6003 here: a socket bound to
0x6003 alone does not see what this machine sends itself, so a capture on the host's own
interface showed only the module's half of the dialogue.

Command or response: an HCI response has the module, sub-id and request id of its command and
comes from the other side, so the direction decides (a 1-byte `00` answer decodes as a
`cp.set_mode` command as well as an OK response). The module's MAC is learnt from the first
response or notification (or given), after which its frames are responses. A frame seen before
either is a command when it decodes as one.
"""
from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any, Callable

from freev2g.framing import EncapsulationError, Frame, FramingError, parse_hci_ethernet

from .codec import HciCodecError
from .messages import NOTIFICATION_REQUEST_ID, Kind, Module, Result, catalogue
from .transport.ethernet import mac_str

ETH_P_ALL = 0x0003
ETHERTYPE_HCI = b"\x60\x03"
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1


def fields_text(value: Any) -> str:
    """Field names and values of a decoded record (attrs) or a dict; '' for none."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={v!r}" for k, v in value.items())
    names = getattr(type(value), "__attrs_attrs__", None)
    if names is None:
        return repr(value)
    return ", ".join(f"{a.name}={getattr(value, a.name)!r}" for a in names)


def _result_name(code: int) -> str:
    try:
        return Result(code).name
    except ValueError:
        return "module specific"


class FrameDescriber:
    """One log line per HCI Ethernet frame, telling commands, responses and notifications apart
    (module docstring). Keeps the commands still waiting for their response."""

    def __init__(self, module_mac: bytes | None = None):
        self.module_mac = module_mac
        self._pending: dict[tuple[int, int, int], bytes] = {}  # (module, sub, rid) -> sender
        self._cat = catalogue()

    def describe(self, eth_bytes: bytes) -> str:
        try:
            eth = parse_hci_ethernet(eth_bytes)
            frame = Frame.from_bytes(eth.frame)
        except (EncapsulationError, FramingError) as exc:
            return f"undecodable frame: {exc}"
        module, sub, rid = frame.module_id, frame.sub_id, frame.request_id
        head = f"{mac_str(eth.src)} > {mac_str(eth.dst)} 0x{module:02X}/0x{sub:02X} rid={rid}"
        kind = self._kind(eth.src, module, sub, rid)
        if kind == "response":
            self.module_mac = eth.src
            self._pending.pop((module, sub, rid), None)
        elif kind == "command":
            self._pending[(module, sub, rid)] = eth.src
        else:
            self.module_mac = eth.src
        try:
            return f"{head} {self._body(kind, module, sub, bytes(frame.payload))}"
        except HciCodecError as exc:
            return f"{head} {kind} {exc}"

    def _kind(self, src: bytes, module: int, sub: int, rid: int) -> str:
        if module == Module.FRAMING_ERROR:
            return "framing error report"
        spec = self._cat.module_message(module, sub)
        if spec is not None and (spec.kind is Kind.REPLY or rid == NOTIFICATION_REQUEST_ID):
            return spec.kind.value
        sender = self._pending.get((module, sub, rid))
        if sender is not None and sender != src:
            return "response"
        if self.module_mac is not None:
            return "response" if src == self.module_mac else "command"
        return "command"

    def _body(self, kind: str, module: int, sub: int, payload: bytes) -> str:
        if kind == "framing error report":
            return f"module reports a framing error 0x{sub:02X}"
        if kind in (Kind.NOTIFICATION.value, Kind.REPLY.value):
            spec = self._cat.module_message(module, sub)
            return f"{kind} {spec.name} {fields_text(spec.decode(payload, strict=False))}".rstrip()
        spec = self._cat.command(module, sub)
        if kind == "command":
            return f"command {spec.name} {fields_text(spec.decode(payload, strict=False))}".rstrip()
        resp = spec.decode_response(payload, strict=False)
        text = f"response {spec.name} result 0x{resp.code:02X} ({_result_name(resp.code)})"
        return f"{text} {fields_text(resp.data)}".rstrip()


def describe(eth_bytes: bytes) -> str:
    """One line for one frame seen on its own (no dialogue state)."""
    return FrameDescriber().describe(eth_bytes)


def open_capture_socket(iface: str, *, promisc: bool = True) -> socket.socket:
    """AF_PACKET / ETH_P_ALL on `iface`: incoming and outgoing frames of every EtherType."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.bind((iface, 0))
        if promisc:  # frames between the module and another host on a mirrored port
            mreq = struct.pack("iHH8s", socket.if_nametoindex(iface), PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def capture(iface: str, *, pcap_path: str | None, count: int, echo: Callable[[str], None],
                  module_mac: bytes | None = None) -> None:
    from scapy.layers.l2 import Ether
    from scapy.utils import PcapWriter

    from .transport import scapy_layer  # noqa: F401  (binds the HCI layer to EtherType 0x6003)

    sock = open_capture_socket(iface)
    writer = PcapWriter(pcap_path, append=False, sync=True) if pcap_path else None
    describer = FrameDescriber(module_mac)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def readable():
        while True:
            try:
                data = sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            if data[12:14] == ETHERTYPE_HCI:
                queue.put_nowait(data)

    loop.add_reader(sock.fileno(), readable)
    echo(f"capturing HCI (EtherType 0x6003) on {iface}, both directions")
    seen = 0
    try:
        while not count or seen < count:
            data = await queue.get()
            seen += 1
            echo(describer.describe(data))
            if writer is not None:
                writer.write(Ether(data))
    finally:
        loop.remove_reader(sock.fileno())
        sock.close()
        if writer is not None:
            writer.close()
