"""SPI handshake (whitebeet-hci.md 1.3) against a fake bus: the one allowed fake, there is no
SPI bus here. The fake plays the slave side by the manual's rules and checks every transfer."""
from __future__ import annotations

import pytest

from freev2g.clock import Clock
from freev2g.framing import Frame, encode_frame
from freev2g_whitebeet.transport.spi import SpiDesync, SpiTransport


class FakeSlave:
    def __init__(self):
        self.to_master: list[bytes] = []
        self.from_master: list[bytes] = []
        self.rx_ready = True
        self.expect_data_len = None
        self.pending = b""
        self.log: list[bytes] = []
        self.corrupt_size_reply = False

    def read(self, pin):
        if pin == 22:
            return self.rx_ready
        return bool(self.to_master)  # TX_PENDING

    def xfer(self, data: bytes) -> bytes:
        self.log.append(bytes(data))
        if self.expect_data_len is None:
            assert len(data) == 4 and data[:2] == b"\xaa\xaa"
            self.master_len = data[2] * 256 + data[3]
            self.pending = self.to_master.pop(0) if self.to_master else b""
            self.expect_data_len = 4 + max(self.master_len, len(self.pending))
            mark = b"\x00\x00" if self.corrupt_size_reply else b"\xaa\xaa"
            return mark + len(self.pending).to_bytes(2, "big")
        assert len(data) == self.expect_data_len, "both sides must use exactly 4 + max(lengths)"
        assert data[:4] == b"\x55\x55\x00\x00"
        if self.master_len:
            self.from_master.append(bytes(data[4:4 + self.master_len]))
        out = (b"\x55\x55\x00\x00" + self.pending).ljust(self.expect_data_len, b"\x00")
        self.expect_data_len = None
        return out


def test_manual_ping_trace_and_large_slave_frame(virtual_loop):
    async def main():
        slave = FakeSlave()
        big = encode_frame(0x10, 0x41, 7, bytes([0]) + bytes([250]) + b"x" * 250)  # 260 bytes: needs * 256
        slave.to_master.append(big)
        t = SpiTransport(slave, slave, clock=Clock())
        ping = encode_frame(0x0E, 0x00, 1, bytes([1, 2, 3, 4, 5]), checksum=False)
        await t.send(ping)
        got = await t.recv()
        await t.close()
        return slave, ping, big, got

    slave, ping, big, got = virtual_loop(main())
    assert slave.log[0] == bytes.fromhex("AA AA 00 0D")
    assert slave.log[1][:17] == bytes.fromhex("55 55 00 00 C0 0E 00 01 00 05 01 02 03 04 05 00 C1")
    assert slave.from_master == [ping]
    assert got == big and Frame.from_bytes(got).request_id == 7
    assert len(slave.log[1]) == 4 + len(big)


def test_waits_for_rx_ready_and_reports_desync(virtual_loop):
    async def main():
        slave = FakeSlave()
        slave.rx_ready = False
        t = SpiTransport(slave, slave, clock=Clock(), ready_timeout_s=0.05)
        await t.send(encode_frame(0x10, 0x41, 1, b""))
        with pytest.raises(SpiDesync, match="RX_READY stayed low"):
            await t.recv()
        assert slave.log == []  # never clocked while the module was not ready
        slave2 = FakeSlave()
        slave2.corrupt_size_reply = True
        t2 = SpiTransport(slave2, slave2, clock=Clock())
        await t2.send(encode_frame(0x10, 0x41, 1, b""))
        with pytest.raises(SpiDesync, match="expected aa aa"):
            await t2.recv()

    virtual_loop(main())
