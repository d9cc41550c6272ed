"""What actually crossed the veth: a raw-socket capture in one namespace and its reading into
SDP datagrams and V2GTP messages per TCP direction (so a test can compare Josev's logs with the
wire, and see that a TLS session carries no plaintext V2GTP).

The capture runs as `ip netns exec NS python wire.py IFACE OUTFILE` (AF_PACKET, every frame);
it prints "ready" once the socket is bound and stops on SIGINT/SIGTERM. Output: one line per
frame, "<frame hex>" (IPv6 only; other frames are dropped).
"""
from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import attrs

ETH_P_ALL = 0x0003
ETH_P_IPV6 = 0x86DD
V2GTP_EXI = 0x8001
SDP_REQ, SDP_RES = 0x9000, 0x9001


@attrs.frozen
class Segment:
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    payload: bytes


@attrs.frozen
class Datagram:
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes


def _addr(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, raw)


def read_capture(path: Path) -> tuple[list[Segment], list[Datagram]]:
    """TCP segments with payload and UDP datagrams, in capture order."""
    segments, datagrams = [], []
    for line in path.read_text().split():
        frame = bytes.fromhex(line)
        if len(frame) < 54 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IPV6:
            continue
        ip = frame[14:]
        plen, nxt = struct.unpack_from("!HB", ip, 4)
        src, dst, l4 = _addr(ip[8:24]), _addr(ip[24:40]), ip[40:40 + plen]
        if nxt == 6 and len(l4) >= 20:
            sport, dport, seq = struct.unpack_from("!HHI", l4)
            data = l4[(l4[12] >> 4) * 4:]
            if data:
                segments.append(Segment(src, dst, sport, dport, seq, data))
        elif nxt == 17 and len(l4) >= 8:
            sport, dport = struct.unpack_from("!HH", l4)
            datagrams.append(Datagram(src, dst, sport, dport, l4[8:]))
    return segments, datagrams


def tcp_stream(segments: list[Segment], src: str) -> bytes:
    """The bytes `src` sent over TCP, in sequence order, retransmissions counted once."""
    by_seq: dict[int, bytes] = {}
    for s in segments:
        if s.src == src:
            by_seq.setdefault(s.seq, s.payload)
    return b"".join(by_seq[k] for k in sorted(by_seq))  # one connection per run here


def v2gtp_messages(stream: bytes) -> list[tuple[int, bytes]]:
    """(payload type, payload) of each V2GTP message; raises ValueError on a bad header."""
    out, pos = [], 0
    while pos < len(stream):
        if len(stream) - pos < 8:
            raise ValueError(f"offset {pos}: {len(stream) - pos} bytes left, a V2GTP header needs 8")
        version, inverse, ptype, length = struct.unpack_from("!BBHI", stream, pos)
        if version != 0x01 or inverse != 0xFE:
            raise ValueError(f"offset {pos}: not a V2GTP header ({stream[pos:pos + 2].hex()})")
        out.append((ptype, stream[pos + 8:pos + 8 + length]))
        pos += 8 + length
    return out


@attrs.define
class Capture:
    ns: str
    iface: str
    out: Path
    proc: subprocess.Popen | None = None

    def start(self) -> "Capture":
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, __file__, self.iface, str(self.out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        ready = self.proc.stdout.readline().strip()
        if ready != "ready":
            self.proc.wait(timeout=5)
            raise RuntimeError(f"capture on {self.iface} in {self.ns} did not start: {self.proc.stderr.read().strip()}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


def _capture_main(iface: str, out: str) -> int:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    sock.settimeout(0.1)
    print("ready", flush=True)
    with open(out, "w") as f:
        while not stop:
            try:
                frame = sock.recv(65535)
            except (TimeoutError, InterruptedError):
                continue
            if len(frame) > 14 and struct.unpack_from("!H", frame, 12)[0] == ETH_P_IPV6:
                f.write(frame.hex() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_capture_main(sys.argv[1], sys.argv[2]))
