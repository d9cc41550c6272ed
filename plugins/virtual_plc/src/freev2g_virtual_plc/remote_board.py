"""Board driver "virtual_remote" (kind ev_board): the EV side of a cable simulated by the EVSE
process, reached over the socket medium's "board" channel (freev2g.boards.EvBoard).

The EVSE process owns the sim board model (`shared["sim_model"]`); its `BoardServer` pushes the
EV-side state (duty, contactor, inlet voltage, battery) every `push_s` of simulated time and
applies the EV's commands. The EV process's `RemoteEvBoard` answers the EvBoard getters from the
last state it received, and sends setters as commands (they take effect in the EVSE process).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from freev2g.boards import BoardEvent, BoardListener
from freev2g.model.enums import CPState

from .medium import MediumClosed
from .socket_medium import SocketCable

log = logging.getLogger(__name__)

STATE_KEYS = ("duty_pct", "contactor", "inlet_V", "soc_pct", "battery_V")


class RemoteEvBoard:
    def __init__(self, cable: SocketCable) -> None:
        self.cable = cable
        self.state: dict[str, Any] = {"duty_pct": 0.0, "contactor": False, "inlet_V": 0.0, "soc_pct": 0.0,
                                      "battery_V": 0.0}
        self._listeners: list[BoardListener] = []
        cable.on_board = self._on_board

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, ctx: Any) -> RemoteEvBoard:
        path = (config or {}).get("path")
        if not path:
            raise ValueError("board option path: virtual_remote needs the EVSE process's socket path")
        board = cls(SocketCable("ev", path, ctx.clock))
        try:
            early = asyncio.get_running_loop().create_task(board.cable.start())
            early.add_done_callback(lambda t: t.cancelled() or t.exception())  # the link's open() reports it
        except RuntimeError:
            pass  # no loop yet: the link's open() connects
        return board

    def _on_board(self, obj: dict[str, Any]) -> None:
        if obj.get("op") == "state":
            self.state.update({k: obj[k] for k in STATE_KEYS if k in obj})
        elif obj.get("op") == "event":
            event = BoardEvent(source="ev_board", kind=obj.get("kind", ""), value=obj.get("value"),
                               detail=obj.get("detail", ""))
            for listener in list(self._listeners):
                listener(event)

    def _send(self, obj: dict[str, Any]) -> None:
        asyncio.ensure_future(self._send_now(obj))

    async def _send_now(self, obj: dict[str, Any]) -> None:
        try:
            await self.cable.start()
            await self.cable.write({"ch": "board", **obj})
        except MediumClosed as exc:
            # never connected (no EVSE process): the CLI already said so; nothing to deliver to
            (log.warning if exc.by_peer else log.debug)("virtual_remote: %s not delivered: %s", obj.get("op"), exc)
        except Exception as exc:  # noqa: BLE001
            log.warning("virtual_remote: %s not delivered: %s", obj.get("op"), exc)

    # --- EvBoard ---------------------------------------------------------------------------

    def subscribe(self, listener: BoardListener) -> None:
        self._listeners.append(listener)

    def set_cp_state(self, state: CPState) -> None:
        self._send({"op": "set_cp_state", "state": CPState(state).value})

    def pwm_duty_pct(self) -> float:
        return float(self.state["duty_pct"])

    def set_contactor(self, closed: bool) -> None:
        self.state["contactor"] = bool(closed)
        self._send({"op": "set_contactor", "closed": bool(closed)})

    def contactor_closed(self) -> bool:
        return bool(self.state["contactor"])

    def inlet_voltage_V(self) -> float:
        return float(self.state["inlet_V"])

    def battery_soc_pct(self) -> float:
        return float(self.state["soc_pct"])

    def battery_voltage_V(self) -> float:
        return float(self.state["battery_V"])

    def set_ac_current_draw(self, current_A: float, phases: int) -> None:
        self._send({"op": "set_ac_current_draw", "current_A": float(current_A), "phases": int(phases)})


class BoardServer:
    """EVSE process: serves the sim model's EV side on the board channel."""

    def __init__(self, cable: SocketCable, ev_board: Any, clock: Any, push_s: float = 0.05) -> None:
        self.cable, self.ev, self.clock, self.push_s = cable, ev_board, clock, push_s
        self._task: asyncio.Task | None = None
        cable.on_board = self._on_command
        cable.on_connect = self._start
        cable.on_disconnect = self._ev_gone
        ev_board.subscribe(self._forward)

    @classmethod
    def attach(cls, cable: SocketCable, ctx: Any) -> BoardServer | None:
        model = ctx.shared.get("sim_model")
        if model is None:
            log.warning("socket medium: no shared['sim_model']; the EV process gets no cable")
            return None
        ev = getattr(model, "ev", None)
        if ev is None:
            from freev2g_evse_board.sim import SimEvBoard  # the sim board's EV-side driver

            ev = SimEvBoard(model)
        return cls(cable, ev, ctx.clock)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._push())

    def _ev_gone(self) -> None:
        """The EV process went away (exit, crash, kill): the car is gone, so its side of the
        cable is unplugged (CP A; EV contactor open, no AC draw) and the EVSE ends the session
        as on any unplug. The next EV process starts from an empty cable."""
        log.warning("virtual_remote server: EV process disconnected; unplugging its side of the cable")
        if self._task is not None:
            self._task.cancel()  # the next EV gets a full state push
            self._task = None
        try:
            self.ev.set_ac_current_draw(0.0, 1)
            self.ev.set_contactor(False)
            self.ev.set_cp_state(CPState.A)
        except Exception:  # noqa: BLE001 - log and go on: the pipes close next (LINK_LOST)
            log.exception("virtual_remote server: unplugging the EV side failed")

    def snapshot(self) -> dict[str, Any]:
        ev = self.ev
        return {"duty_pct": ev.pwm_duty_pct(), "contactor": ev.contactor_closed(), "inlet_V": ev.inlet_voltage_V(),
                "soc_pct": ev.battery_soc_pct(), "battery_V": ev.battery_voltage_V()}

    def charger_side(self) -> dict[str, Any] | None:
        """The sim model's charger side (EVSE contactor, CP generator, supply, lock), sent once
        in answer to a "probe" command: for tests and tools that watch the EVSE process from
        outside. Not part of the state push (the charge loop's budget stays as it was)."""
        model = getattr(self.ev, "model", None)
        if model is None:
            return None
        model.update()
        return {"contactor": model.evse_contactor, "generator": model.generator, "duty_pct": model.duty_pct,
                "psu_V": round(model.psu_voltage_V, 1), "psu_A": round(model.psu_current_A, 1), "locked": model.locked}

    async def _answer_probe(self) -> None:
        try:
            await self.cable.write({"ch": "board", "op": "charger_side", "evse": self.charger_side()})
        except Exception:  # noqa: BLE001 - the prober went away
            pass

    async def _push(self) -> None:
        last = None
        try:
            while True:
                snap = self.snapshot()
                if snap != last:
                    await self.cable.write({"ch": "board", "op": "state", **snap})
                    last = snap
                await self.clock.sleep(self.push_s)
        except Exception as exc:  # noqa: BLE001 - connection gone
            log.info("virtual_remote server stopped: %s", exc)

    def _forward(self, event: BoardEvent) -> None:
        if self.cable._writer is None:
            return
        asyncio.ensure_future(self._write_event(event))

    async def _write_event(self, event: BoardEvent) -> None:
        try:
            await self.cable.write({"ch": "board", "op": "event", "kind": event.kind, "value": str(event.value),
                                    "detail": event.detail})
        except Exception:  # noqa: BLE001
            pass

    def _on_command(self, obj: dict[str, Any]) -> None:
        op = obj.get("op")
        try:
            if op == "set_cp_state":
                self.ev.set_cp_state(CPState(obj["state"]))
            elif op == "set_contactor":
                self.ev.set_contactor(bool(obj["closed"]))
            elif op == "set_ac_current_draw":
                self.ev.set_ac_current_draw(float(obj["current_A"]), int(obj["phases"]))
            elif op == "probe":
                asyncio.ensure_future(self._answer_probe())
            else:
                log.warning("virtual_remote server: unknown command %r", op)
        except (KeyError, ValueError) as exc:
            log.warning("virtual_remote server: bad command %r: %s", obj, exc)
