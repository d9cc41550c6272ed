"""Factories registered by plugin.py (link "whitebeet" both roles, bsp board "whitebeet")."""
from __future__ import annotations

from typing import Any

from attrs import fields

from .common import HostOptions
from .connection import ModuleConnection, connection_for
from .control_pilot import WhitebeetControlPilot

_HOST_KEYS = {f.name for f in fields(HostOptions)}


def _connection(config: dict[str, Any], ctx) -> ModuleConnection:
    bsp = ctx.boards.get("bsp") if hasattr(ctx, "boards") else None
    if isinstance(bsp, WhitebeetControlPilot):
        return bsp.connection  # the bsp board and the link share one module connection
    return connection_for(config, clock=ctx.clock, shared=ctx.shared)


def make_control_pilot(config: dict[str, Any], ctx) -> WhitebeetControlPilot:
    conn = connection_for(config, clock=ctx.clock, shared=ctx.shared)
    kwargs = {"contactor_gpio": int(config.get("contactor_gpio", 20)),
              "max_current_A": float(config.get("max_current_A", 32.0))}
    if config.get("mirror_sim", True):  # a sim power stage (if any) follows CP duty and contactor
        from .cable import MirroredControlPilot

        # ev_from_module: the model's EV side follows the module's reports of the car; off
        # with --cable-socket, where the freev2g EV host drives it (host/cable.py)
        return MirroredControlPilot(conn, shared=ctx.shared, ev_from_module=bool(config.get("ev_from_module", True)),
                                    **kwargs)
    return WhitebeetControlPilot(conn, **kwargs)


def make_evse_link(config: dict[str, Any], ctx):
    from .evse import WhitebeetEvseLink

    conn = _connection(config, ctx)
    options = HostOptions(**{k: v for k, v in config.items() if k in _HOST_KEYS})
    return _Deferred(WhitebeetEvseLink, conn, ctx.clock, options)


def make_ev_link(config: dict[str, Any], ctx):
    from .ev import WhitebeetEvLink

    conn = connection_for(config, clock=ctx.clock, shared=ctx.shared)
    options = HostOptions(**{k: v for k, v in config.items() if k in _HOST_KEYS})
    return _DeferredEv(WhitebeetEvLink, conn, ctx.clock, options)


class _Deferred:
    """The link object the application holds; connects to the module on open()."""

    def __init__(self, cls, conn: ModuleConnection, clock, options: HostOptions):
        self._cls, self._conn, self._clock, self._options = cls, conn, clock, options
        self._link = None

    async def open(self, handler, offer) -> None:
        client = await self._conn.ready()
        self._link = self._cls(client, clock=self._clock, options=self._options, owns_client=False)
        await self._link.open(handler, offer)

    @property
    def link(self):
        if self._link is None:
            raise RuntimeError("whitebeet link not open yet")
        return self._link

    async def start_matching(self) -> None:
        await self.link.start_matching()

    def notify(self, notification, max_delay_s: int = 0) -> None:
        self.link.notify(notification, max_delay_s)

    async def abort(self, cause, detail: str = "") -> None:
        if self._link is not None:
            await self._link.abort(cause, detail)

    async def close(self) -> None:
        if self._link is not None:
            await self._link.close()
        await self._conn.close()


class _DeferredEv:
    """EV-role link the EvController holds; connects to the module on open()."""

    def __init__(self, cls, conn: ModuleConnection, clock, options: HostOptions):
        self._cls, self._conn, self._clock, self._options = cls, conn, clock, options
        self._link = None

    @property
    def link(self):
        if self._link is None:
            raise RuntimeError("whitebeet link not open yet")
        return self._link

    async def open(self, handler) -> None:
        client = await self._conn.ready()
        self._link = self._cls(client, clock=self._clock, options=self._options, owns_client=False)
        await self._link.open(handler)

    async def start_session(self, request) -> bool:
        return await self.link.start_session(request)

    async def stop_charging(self, *, renegotiate: bool = False, pause: bool = False) -> None:
        await self.link.stop_charging(renegotiate=renegotiate, pause=pause)

    async def abort(self, cause, detail: str = "") -> None:
        if self._link is not None:
            await self._link.abort(cause, detail)

    async def close(self) -> None:
        if self._link is not None:
            await self._link.close()
        await self._conn.close()
