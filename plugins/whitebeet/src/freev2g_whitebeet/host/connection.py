"""One connection to one module, shared by the bsp board and the link of a station.

Options (board or link table): transport = "ethernet" (default) | "memory"; iface; mac (module
MAC, else discovered, 1.2); rt_priority (SCHED_RR 1..99 for the process, transport/realtime.py);
response_timeout_s; timeout_retries; dialect keys (messages/dialect.py).
"memory" takes the module-side partner from `shared["whitebeet_memory_transport"]` (tests).
"""
from __future__ import annotations

import asyncio
from typing import Any

from attrs import fields

from ..client import ClientConfig, HciClient
from ..messages import Dialect, catalogue
from ..transport.ethernet import EthernetTransport, discover_module_mac, mac_bytes

SHARED_KEY = "whitebeet_connection"
_CLIENT_KEYS = {f.name for f in fields(ClientConfig)}
_DIALECT_KEYS = {f.name for f in fields(Dialect)}


class ModuleConnection:
    def __init__(self, options: dict[str, Any], *, clock, shared: dict | None = None):
        self.options = dict(options)
        self.clock = clock
        self.shared = shared if shared is not None else {}
        self.client: HciClient | None = None
        self._lock = asyncio.Lock()
        self.module_mac: bytes | None = None

    async def ready(self) -> HciClient:
        async with self._lock:
            if self.client is None:
                self.client = HciClient(await self._transport(), clock=self.clock,
                                        cat=catalogue(Dialect(**{k: v for k, v in self.options.items() if k in _DIALECT_KEYS})),
                                        config=ClientConfig(**{k: v for k, v in self.options.items() if k in _CLIENT_KEYS}))
                await self.client.start()
            return self.client

    async def _transport(self):
        kind = self.options.get("transport", "ethernet")
        if kind == "memory":
            return self.shared["whitebeet_memory_transport"]
        if kind != "ethernet":
            raise ValueError(f"whitebeet transport {kind!r} unknown; use 'ethernet' or 'memory'")
        iface = self.options.get("iface")
        if not iface:
            raise ValueError("whitebeet: option 'iface' (host Ethernet interface) is required")
        mac = self.options.get("mac")
        self.module_mac = mac_bytes(mac) if mac else await discover_module_mac(iface)
        return EthernetTransport(iface, peer_mac=self.module_mac, rt_priority=self.options.get("rt_priority"))

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None


def connection_for(options: dict[str, Any], *, clock, shared: dict) -> ModuleConnection:
    conn = shared.get(SHARED_KEY)
    if conn is None:
        conn = shared[SHARED_KEY] = ModuleConnection(options, clock=clock, shared=shared)
    return conn
