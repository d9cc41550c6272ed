"""Benchmark: host <-> emulator request/response round trip over a veth pair between two network
namespaces (needs root). Prints p50/p99 round-trip latency and sustained frames per second.
Target p99 <= 2 ms. Printed figures only, no assertions.

    python plugins/whitebeet/bench/bench_whitebeet.py [--requests 2000] [--rounds 3] [--rt-priority 0|20]

Each round runs the client once through the queue path (recv() + reader task, as before) and
once through the transport's direct receiver (set_receiver), so both see the same machine load.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid

MAC = "02:01:01:63:77:33"


class _QueuePath:
    """Hides set_receiver(): the client reads through recv() (queue + reader task), for A/B runs."""

    def __init__(self, inner):
        self.inner = inner

    async def send(self, frame):
        await self.inner.send(frame)

    async def recv(self):
        return await self.inner.recv()

    async def close(self):
        await self.inner.close()


async def client_side(iface: str, n: int, queue_path: bool = False, rt_priority: int = 0) -> dict:
    from freev2g.clock import Clock
    from freev2g_whitebeet.client import HciClient
    from freev2g_whitebeet.transport.ethernet import EthernetTransport, mac_bytes

    transport = EthernetTransport(iface, peer_mac=mac_bytes(MAC), rt_priority=rt_priority or None)
    client = HciClient(_QueuePath(transport) if queue_path else transport, clock=Clock())
    await client.start()
    for _ in range(50):  # warm-up (and wait for the emulator)
        try:
            await client.call("cp.get_state", timeout_s=0.5)
        except Exception:  # noqa: BLE001
            await asyncio.sleep(0.1)
    rtts = []
    for _ in range(n):
        t0 = time.perf_counter()
        await client.call("cp.get_state")
        rtts.append((time.perf_counter() - t0) * 1e3)
    rtts.sort()
    t0 = time.perf_counter()
    burst = 64
    done = 0
    while time.perf_counter() - t0 < 2.0:
        await asyncio.gather(*(client.call("system.get_firmware_version") for _ in range(burst)))
        done += burst
    elapsed = time.perf_counter() - t0
    path = ("queue + reader task" if queue_path else "direct receiver") + (
        f", SCHED_RR {rt_priority}" if transport.realtime else ", normal scheduling")
    print(f"[{path}] round trip over veth ({n} requests): p50 {rtts[len(rtts) // 2]:.3f} ms, "
          f"p99 {rtts[int(len(rtts) * 0.99) - 1]:.3f} ms, p99.9 {rtts[int(len(rtts) * 0.999) - 1]:.3f} ms, "
          f"max {rtts[-1]:.3f} ms, > 2 ms: {sum(r > 2.0 for r in rtts)} (target p99 <= 2 ms)")
    print(f"sustained: {done / elapsed:.0f} requests/s = {2 * done / elapsed:.0f} frames/s (64 in flight)")
    await client.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--client-iface")
    ap.add_argument("--rounds", type=int, default=1, help="alternate both receive paths this many times")
    ap.add_argument("--rt-priority", type=int, default=20,
                    help="SCHED_RR priority for host and emulator (0 = normal scheduling)")
    args = ap.parse_args()
    if args.client_iface:
        import gc

        gc.freeze()  # start-up objects (scapy) out of the collector's way
        for _ in range(args.rounds):
            for queue_path in (True, False):
                asyncio.run(client_side(args.client_iface, args.requests, queue_path, args.rt_priority))
        return
    if os.geteuid() != 0:
        print("bench_whitebeet: needs root for network namespaces; skipped")
        return
    tag = uuid.uuid4().hex[:6]
    hns, mns = f"wbbh{tag}", f"wbbm{tag}"
    run = lambda *a: subprocess.run(a, check=True)  # noqa: E731
    run("ip", "netns", "add", hns)
    run("ip", "netns", "add", mns)
    emu = None
    try:
        run("ip", "link", "add", hns, "netns", hns, "type", "veth", "peer", "name", mns, "netns", mns)
        for ns in (hns, mns):
            run("ip", "-n", ns, "link", "set", ns, "up")
        emu = subprocess.Popen(["ip", "netns", "exec", mns, sys.executable, "-m", "freev2g.cli", "whitebeet", "emulate",
                                "--iface", mns, "--role", "evse", "--mac", MAC,
                                *(["--rt-priority", str(args.rt_priority)] if args.rt_priority else [])], stdout=subprocess.DEVNULL)
        time.sleep(1.0)
        subprocess.run(["ip", "netns", "exec", hns, sys.executable, __file__, "--rt-priority", str(args.rt_priority), "--client-iface", hns,
                        "--requests", str(args.requests), "--rounds", str(args.rounds)], check=True)
    finally:
        if emu is not None:
            emu.terminate()
            emu.wait()
        subprocess.run(["ip", "netns", "del", hns])
        subprocess.run(["ip", "netns", "del", mns])


if __name__ == "__main__":
    main()
