"""Pure-Python HCI stream decoder: the benchmark baseline for bench_framing.py.

Not part of the product (the product has one codec: the C core). It follows the same rules as
the C decoder (whitebeet-hci.md 2.1/2.2/2.8: length field, no byte stuffing, checksum 0x00 =
not computed, resume after a rejected candidate's start marker) and keeps the same counters, so
tests/core/test_framing_props.py also uses it as an independent oracle for the C decoder.
It is written to be reasonably fast Python (bytearray.find, sum over slices), so the speed-up
figure is against a fair opponent.
"""
from __future__ import annotations

START, END = 0xC0, 0xC1


class BaselineDecoder:
    def __init__(self, max_payload: int = 4088, accept_zero_checksum: bool = True):
        self.max_payload = max_payload
        self.accept_zero_checksum = accept_zero_checksum
        self._buf = bytearray()
        self.stats = dict.fromkeys(
            ("bytes_in", "frames", "frame_bytes", "garbage_bytes", "bad_checksum", "too_long",
             "bad_end_marker", "unchecked"), 0)

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[int, int, int, bytes]]:
        """Returns (module_id, sub_id, request_id, payload) per complete valid frame."""
        buf = self._buf
        buf += data
        stats = self.stats
        stats["bytes_in"] += len(data)
        out = []
        pos, n = 0, len(buf)
        max_payload, accept_zero = self.max_payload, self.accept_zero_checksum
        while True:
            start = buf.find(START, pos)
            if start < 0:
                stats["garbage_bytes"] += n - pos
                pos = n
                break
            stats["garbage_bytes"] += start - pos
            pos = start
            if n - pos < 6:
                break
            length = (buf[pos + 4] << 8) | buf[pos + 5]
            if length > max_payload:
                reject = "too_long"
            else:
                end = pos + length + 8
                if end > n:
                    break
                checksum = buf[end - 2]
                if buf[end - 1] != END:
                    reject = "bad_end_marker"
                elif checksum == 0:
                    reject = None if accept_zero else "bad_checksum"
                else:
                    total = sum(buf[pos:end]) - checksum
                    while total >> 16:
                        total = (total & 0xFFFF) + (total >> 16)
                    total = (total & 0xFF) + (total >> 8)
                    total = (total & 0xFF) + (total >> 8)
                    expected = 0xFF if total == 0xFF else (~total & 0xFF)
                    reject = None if expected == checksum else "bad_checksum"
            if reject is not None:
                stats[reject] += 1
                stats["garbage_bytes"] += 1
                pos += 1
                continue
            out.append((buf[pos + 1], buf[pos + 2], buf[pos + 3], bytes(buf[pos + 6:end - 2])))
            stats["frames"] += 1
            stats["frame_bytes"] += end - pos
            if checksum == 0:
                stats["unchecked"] += 1
            pos = end
        del buf[:pos]
        return out
