"""Live HCI frame log and pcap (whitebeet-hci.md 1.2, 2): scapy's PcapWriter for the file,
the C core for decoding, the message tables for names and fields."""
from __future__ import annotations

import asyncio
from typing import Callable

from freev2g.framing import EncapsulationError, Frame, FramingError, parse_hci_ethernet

from .codec import HciCodecError
from .messages import Kind, catalogue
from .transport.ethernet import mac_str


def describe(eth_bytes: bytes) -> str:
    """One log line for one Ethernet frame carrying HCI."""
    try:
        eth = parse_hci_ethernet(eth_bytes)
        frame = Frame.from_bytes(eth.frame)
    except (EncapsulationError, FramingError) as exc:
        return f"undecodable frame: {exc}"
    head = f"{mac_str(eth.src)} > {mac_str(eth.dst)} 0x{frame.module_id:02X}/0x{frame.sub_id:02X} rid={frame.request_id}"
    cat = catalogue()
    try:
        spec = cat.from_module(frame.module_id, frame.sub_id)
    except HciCodecError as exc:
        return f"{head} {exc}"
    try:
        if spec.kind is not Kind.COMMAND:
            body = spec.decode(frame.payload)
        else:
            try:
                body = spec.decode(frame.payload)
                head += " request"
            except HciCodecError:
                body = spec.decode_response(frame.payload)
                head += " response"
    except HciCodecError as exc:
        body = f"malformed: {exc}"
    return f"{head} {spec.name} {body}"


async def capture(iface: str, *, pcap_path: str | None, count: int, echo: Callable[[str], None]) -> None:
    from scapy.arch.linux import L2Socket
    from scapy.layers.l2 import Ether
    from scapy.utils import PcapWriter

    from .transport import scapy_layer  # noqa: F401  (binds the HCI layer to EtherType 0x6003)

    sock = L2Socket(iface=iface, type=0x6003, promisc=True)
    sock.ins.setblocking(False)
    writer = PcapWriter(pcap_path, append=False, sync=True) if pcap_path else None
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def readable():
        while True:
            try:
                queue.put_nowait(sock.ins.recv(65535))
            except (BlockingIOError, InterruptedError):
                return

    loop.add_reader(sock.ins.fileno(), readable)
    seen = 0
    try:
        while not count or seen < count:
            data = await queue.get()
            seen += 1
            echo(describe(data))
            if writer is not None:
                writer.write(Ether(data))
    finally:
        loop.remove_reader(sock.ins.fileno())
        sock.close()
        if writer is not None:
            writer.close()
