"""A pcap file of one V2G connection, for Wireshark and its V2G dissectors.

The session log sees V2GTP messages, not packets (the kernel does the TCP, and TLS is already
decrypted at that point), so each message becomes one Ethernet/IPv6/TCP segment of a
synthesised TCP stream between the real endpoints: a three-way handshake first, sequence and
acknowledgement numbers that add up, a FIN at the end, valid IPv6 and TCP checksums. Before the
stream come the SDP request and response on UDP 15118 that name its port, so a dissector that
learns the V2G port from SDP finds it. A TLS connection is written as its plaintext (marked in
the SDP response's security byte as TLS, the TCP stream itself is clear).

Format: classic pcap (magic 0xa1b2c3d4, microseconds), link type 1 (Ethernet).
"""
from __future__ import annotations

import ipaddress
import struct
from datetime import datetime
from typing import BinaryIO

from attrs import frozen

LINKTYPE_ETHERNET = 1
ETH_P_IPV6 = 0x86DD
SDP_PORT = 15118
_TCP_SYN, _TCP_ACK, _TCP_PSH, _TCP_FIN = 0x02, 0x10, 0x08, 0x01


@frozen
class Endpoint:
    mac: str  # "02:00:00:00:00:01"
    address: str  # IPv6, link-local without the %scope
    port: int


def _mac(text: str) -> bytes:
    raw = bytes(int(x, 16) for x in text.split(":"))
    if len(raw) != 6:
        raise ValueError(f"pcap: bad MAC address {text!r}")
    return raw


def _ip6(text: str) -> bytes:
    return ipaddress.IPv6Address(text.split("%", 1)[0]).packed


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv6_packet(src: Endpoint, dst: Endpoint, next_header: int, l4: bytes) -> bytes:
    s, d = _ip6(src.address), _ip6(dst.address)
    pseudo = s + d + struct.pack("!I3xB", len(l4), next_header)
    csum_at = 16 if next_header == 6 else 6
    csum = _checksum(pseudo + l4) or (0xFFFF if next_header == 17 else 0)
    l4 = l4[:csum_at] + struct.pack("!H", csum) + l4[csum_at + 2:]
    ip = struct.pack("!IHBB", 6 << 28, len(l4), next_header, 64) + s + d
    return _mac(dst.mac) + _mac(src.mac) + struct.pack("!H", ETH_P_IPV6) + ip + l4


def _udp(src: Endpoint, dst: Endpoint, payload: bytes) -> bytes:
    l4 = struct.pack("!HHHH", src.port, dst.port, 8 + len(payload), 0) + payload
    return _ipv6_packet(src, dst, 17, l4)


def _tcp(src: Endpoint, dst: Endpoint, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    l4 = struct.pack("!HHIIBBHHH", src.port, dst.port, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                     5 << 4, flags, 65535, 0, 0) + payload
    return _ipv6_packet(src, dst, 6, l4)


def v2gtp_header(payload_type: int, length: int) -> bytes:
    return struct.pack("!BBHI", 0x01, 0xFE, payload_type, length)


class V2gPcap:
    """One TCP (or TLS, written clear) V2G connection between `ev` (the client) and `evse`."""

    def __init__(self, out: BinaryIO, *, ev: Endpoint, evse: Endpoint, tls: bool, when: datetime) -> None:
        self.out, self.ev, self.evse = out, ev, evse
        self._seq = {"ev": 1000, "evse": 5000}
        self._closed = False
        out.write(struct.pack("!IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        sdp_client = Endpoint(ev.mac, ev.address, 49152 + (ev.port % 16000))
        sdp_server = Endpoint(evse.mac, "ff02::1", SDP_PORT)
        security = 0x00 if tls else 0x10
        self._frame(when, _udp(sdp_client, sdp_server, v2gtp_header(0x9000, 2) + bytes([security, 0x00])))
        answer = _ip6(evse.address) + struct.pack("!H", evse.port) + bytes([security, 0x00])
        self._frame(when, _udp(Endpoint(evse.mac, evse.address, SDP_PORT), sdp_client,
                               v2gtp_header(0x9001, len(answer)) + answer))
        self._frame(when, _tcp(ev, evse, self._seq["ev"] - 1, 0, _TCP_SYN))
        self._frame(when, _tcp(evse, ev, self._seq["evse"] - 1, self._seq["ev"], _TCP_SYN | _TCP_ACK))
        self._frame(when, _tcp(ev, evse, self._seq["ev"], self._seq["evse"], _TCP_ACK))

    def _frame(self, when: datetime, frame: bytes) -> None:
        ts = when.timestamp()
        sec = int(ts)
        self.out.write(struct.pack("!IIII", sec, int(round((ts - sec) * 1e6)) % 1000000, len(frame), len(frame)))
        self.out.write(frame)

    def message(self, when: datetime, *, from_ev: bool, payload_type: int, payload: bytes) -> None:
        """One V2GTP message (header added here) as a TCP segment in its direction."""
        if self._closed:
            return
        data = v2gtp_header(payload_type, len(payload)) + payload
        me, peer = ("ev", "evse") if from_ev else ("evse", "ev")
        src, dst = (self.ev, self.evse) if from_ev else (self.evse, self.ev)
        self._frame(when, _tcp(src, dst, self._seq[me], self._seq[peer], _TCP_PSH | _TCP_ACK, data))
        self._seq[me] += len(data)
        self.out.flush()

    def close(self, when: datetime) -> None:
        if self._closed:
            return
        self._closed = True
        self._frame(when, _tcp(self.evse, self.ev, self._seq["evse"], self._seq["ev"], _TCP_FIN | _TCP_ACK))
        self._frame(when, _tcp(self.ev, self.evse, self._seq["ev"], self._seq["evse"] + 1, _TCP_FIN | _TCP_ACK))
        self._frame(when, _tcp(self.evse, self.ev, self._seq["evse"] + 1, self._seq["ev"] + 1, _TCP_ACK))
        self.out.flush()
