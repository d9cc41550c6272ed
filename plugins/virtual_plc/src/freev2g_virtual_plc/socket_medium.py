"""The socket medium: both cable ends in two processes over one unix socket (JSON lines).

Channels on the one connection: "dl" (SLAC, SDP), "v2g:<n>" (one per V2G connection; ops
open/msg/close) and "board" (the cable: the EVSE process owns the sim board model and pushes
the EV-side state; the EV process sends CP state, contactor and AC draw; see remote_board.py).
The EVSE side listens (link option `path`), the EV side connects. Losing the connection closes
every pipe: LINK_LOST on both sides. The EVSE side keeps listening: the EV process going away
(exit, crash, kill) is reported to `on_disconnect` first (the board server counts it as an
unplug), and the next EV process that connects gets a fresh data-link pipe (`wait_connected`)
and V2G connections (`accept` waits across EV processes until `close()`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any, Callable

from .codec import CodecError, MessageCodec
from .medium import MediumClosed

log = logging.getLogger(__name__)
_EOF = object()


class SocketPipe:
    def __init__(self, cable: SocketCable, channel: str) -> None:
        self.cable, self.channel = cable, channel
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = False
        self._gone = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, message: Any) -> None:
        if self._closed:
            raise MediumClosed(f"{self.channel}: send on a closed pipe")
        await self.cable.write({"ch": self.channel, "op": "msg", **self.cable.codec.encode(message)})

    async def recv(self) -> Any:
        if self._closed and self.inbox.empty():
            raise MediumClosed(f"{self.channel}: closed")
        item = await self.inbox.get()
        if item is _EOF:
            self._closed = True
            raise MediumClosed(f"{self.channel}: closed")
        return item

    async def wait_closed(self) -> None:
        await self._gone.wait()

    def peer_closed(self) -> None:
        if not self._closed:
            self._closed = True
            self._gone.set()
            self.inbox.put_nowait(_EOF)

    async def close(self) -> None:
        if self._closed:
            return
        self.peer_closed()
        try:
            await self.cable.write({"ch": self.channel, "op": "close"})
        except MediumClosed:
            pass


class SocketCable:
    """One side of the cable over a unix socket. `role` "evse" listens, "ev" connects."""

    def __init__(self, role: str, path: str, clock: Any) -> None:
        self.role, self.path, self.clock = role, path, clock
        self.codec = MessageCodec()
        self._dl = SocketPipe(self, "dl")
        self._pipes: dict[str, SocketPipe] = {}
        self._pending: asyncio.Queue[SocketPipe | None] = asyncio.Queue()
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.AbstractServer | None = None
        self._reader_task: asyncio.Task | None = None
        self._started: asyncio.Future | None = None
        self._next = 0
        self.on_board: Callable[[dict[str, Any]], None] | None = None  # board channel handler
        self.on_connect: Callable[[], None] | None = None
        self.on_disconnect: Callable[[], None] | None = None  # the peer process went away
        self._connected = asyncio.Event()
        self._shut = False  # close() called: no more connections
        self.connections = 0  # peers accepted so far (EVSE side)

    @classmethod
    def for_role(cls, role: str, path: str, ctx: Any) -> SocketCable:
        board = ctx.boards.get("ev_board") if role == "ev" else None
        cable = getattr(board, "cable", None)
        if isinstance(cable, SocketCable) and cable.path == path:
            return cable  # the EV's remote board already holds the connection
        cable = cls(role, path, ctx.clock)
        if role == "evse":
            from .remote_board import BoardServer

            BoardServer.attach(cable, ctx)
        return cable

    async def start(self) -> None:
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
            # every caller sees the error through the shield; this marks it retrieved even when
            # the caller that started it was cancelled (no "exception was never retrieved")
            self._started.add_done_callback(lambda t: t.cancelled() or t.exception())
        await asyncio.shield(self._started)

    async def _start(self) -> None:
        self.codec.warm_up()
        if self.role == "evse":
            if os.path.exists(self.path):
                os.unlink(self.path)
            self._server = await asyncio.start_unix_server(self._on_client, path=self.path)
            return
        for _ in range(100):  # the EVSE process may still be starting (real time: ~10 s)
            try:
                reader, writer = await asyncio.open_unix_connection(self.path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                await asyncio.sleep(0.1)
        else:
            raise MediumClosed(f"no EVSE listening on {self.path}", by_peer=False)
        self._attach(reader, writer)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            writer.close()  # one EV per cable
            return
        self._attach(reader, writer)
        # asyncio.wait, not `await task`: close() cancels the reader, and re-raising that
        # cancellation here makes Python 3.11's stream server print it as a traceback. Nothing
        # awaits this handler, so its own cancellation (loop shutdown) ends it quietly too.
        try:
            await asyncio.wait([self._reader_task])  # type: ignore[list-item]
        except asyncio.CancelledError:
            pass

    def _attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._dl.closed:
            self._dl = SocketPipe(self, "dl")  # a new EV process: a new data link
        self._pipes = {}
        self._writer = writer
        self.connections += 1
        self._connected.set()
        self._reader_task = asyncio.ensure_future(self._read(reader))
        if self.on_connect is not None:
            self.on_connect()

    async def write(self, obj: dict[str, Any]) -> None:
        if self._writer is None or self._writer.is_closing():
            raise MediumClosed("socket medium not connected")
        self._writer.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            raise MediumClosed(f"socket medium: {exc}") from None

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                try:
                    self._dispatch(json.loads(line))
                except (ValueError, CodecError) as exc:
                    log.warning("socket medium: dropped a bad line (%s): %.200r", exc, line)
        except ConnectionError:
            pass
        finally:
            self._lost()

    def _dispatch(self, obj: dict[str, Any]) -> None:
        ch, op = obj.get("ch"), obj.get("op")
        if ch == "board":
            if self.on_board is not None:
                self.on_board(obj)
            return
        if ch == "dl":
            pipe = self._dl
        elif op == "open":
            pipe = self._pipes[ch] = SocketPipe(self, ch)
            self._pending.put_nowait(pipe)
            return
        else:
            pipe = self._pipes.get(ch)
            if pipe is None:
                return
        if op == "close":
            pipe.peer_closed()
        elif op == "msg":
            pipe.inbox.put_nowait(self.codec.decode(obj))

    def _lost(self, *, final: bool = False) -> None:
        had_peer = self._writer is not None
        self._writer = None
        self._connected.clear()
        if had_peer and self.on_disconnect is not None:
            try:
                self.on_disconnect()  # before the pipes close: the unplug is seen first
            except Exception:  # noqa: BLE001 - the pipes must close regardless
                log.exception("socket medium: disconnect handler failed")
        self._dl.peer_closed()
        for pipe in self._pipes.values():
            pipe.peer_closed()
        if final or self.role == "ev":
            self._pending.put_nowait(None)  # the EVSE side keeps accepting until close()

    async def wait_connected(self) -> None:
        """EVSE side: return once a peer is connected (at once if one is); MediumClosed after
        close()."""
        while not self._shut:
            if self._writer is not None and not self._dl.closed:
                return
            self._connected.clear()
            waiter = asyncio.ensure_future(self._connected.wait())
            try:
                await waiter
            finally:
                waiter.cancel()
        raise MediumClosed("socket medium closed", by_peer=False)

    # --- Cable interface ---------------------------------------------------------------------

    def data_link(self, role: str) -> SocketPipe:
        return self._dl

    def port(self) -> int:
        return 49152

    async def connect(self, port: int) -> SocketPipe:
        self._next += 1
        ch = f"v2g:{self._next}"
        pipe = self._pipes[ch] = SocketPipe(self, ch)
        await self.write({"ch": ch, "op": "open", "port": port})
        return pipe

    async def accept(self) -> SocketPipe:
        pipe = await self._pending.get()
        if pipe is None:
            raise MediumClosed("socket medium: connection lost")
        return pipe

    async def close(self) -> None:
        self._shut = True
        self.on_disconnect = None  # closing ourselves is not the peer going away
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
        self._lost(final=True)
        self._connected.set()  # wake wait_connected()
