"""One simulated power stage for an EVSE host and an EV host that each drive a WHITE beet
(`--cable-socket PATH` on `freev2g whitebeet evse` and `... ev`).

The modules carry only CP and HLC; the power stage is the EVSE host's sim board model (power
supply, meter, battery). With `--cable-socket` the EVSE host serves that model's EV side on a
unix socket with virtual_plc's BoardServer (the "board" channel of its socket medium; a unix
socket works across network namespaces since the filesystem is shared), and mirrors what it
commands through the module (CP duty, contactor GPIO) into the model. The EV host's board keeps
the CP on its module and takes contactor, inlet voltage, battery and AC draw from the model
through virtual_plc's RemoteEvBoard. Real hardware setups do not use this module.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from freev2g.model.enums import CPState

from .control_pilot import WhitebeetControlPilot
from .ev_board import WhitebeetEvBoard

log = logging.getLogger(__name__)
SIM_KEY = "sim_model"  # BoardContext.shared key of the sim board model (evse_board sim/drivers.py)


class MirroredControlPilot(WhitebeetControlPilot):
    """The module's ControlPilot that also drives the shared sim model's CP generator and EVSE
    contactor, so the model's power path opens and closes with the real commands.

    With `ev_from_module` (any EV host that is not a freev2g EV on the same `--cable-socket`)
    the model's EV side follows what the module reports of the car (issue #12 item 10): its CP
    letter (plugged in B/C/D, unplugged in A), its battery SoC and capacity (0x83), and its
    contactor, counted closed once the EV requested power delivery (0x89) and open again on
    PowerDelivery(Stop) (0x8A), at the session's end (0x8C), on a session error (0x8E) and on
    unplugging. An AC car draws its announced maximum current while power delivery is on."""

    def __init__(self, connection, *, shared: dict[str, Any], ev_from_module: bool = False, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._shared = shared  # the sim model appears here once its first factory ran
        self.ev_from_module = ev_from_module
        self._ev_ac_A: float | None = None  # the AC car's maximum current (0x83), None for DC

    def _model(self):
        return self._shared.get(SIM_KEY)

    def _set_state(self, state: CPState) -> None:
        super()._set_state(state)
        model = self._model()
        if not self.ev_from_module or model is None:
            return
        if state is CPState.A:
            self._ev_power(model, False)
            if model.plugged:
                model.unplug()
        elif state in (CPState.B, CPState.C, CPState.D):
            model.set_ev_state(state)  # plugs the model's cable in when needed

    def _on_note(self, note) -> None:
        super()._on_note(note)
        model = self._model()
        if not self.ev_from_module or model is None:
            return
        handler = _EV_NOTES.get(note.name)
        if handler is not None:
            try:
                handler(self, model, note.data)
            except Exception:  # noqa: BLE001 - a listener must not break the client's delivery
                log.exception("whitebeet: sim EV side did not follow %s", note.name)

    def _mode_selected(self, model, d) -> None:
        dc = d.mode <= 3
        self._ev_ac_A = None if dc else d.ev_max_current_A.value
        capacity = d.energy_capacity_Wh.value if dc and d.energy_capacity_Wh is not None else 0.0
        changes = {"soc_pct": float(min(100, d.soc_pct))} if dc else {}
        if capacity > 0:
            changes["capacity_Wh"] = capacity
        if changes:  # the foreign car's battery, before any energy flows
            model.set_battery(**changes)
            log.info("sim: EV battery from the module: %s", changes)

    def _ev_power(self, model, on: bool) -> None:
        model.set_ev_contactor(on)
        model.set_ac_current_draw(self._ev_ac_A if (on and self._ev_ac_A) else 0.0, 3)


    async def _duty(self, permille: int) -> None:
        await super()._duty(permille)
        model = self._model()
        if model is not None:
            model.set_pwm_duty(permille / 10.0)

    async def allow_power_on(self, allow: bool, *, phases: int = 3) -> None:
        model = self._model()
        try:
            await super().allow_power_on(allow, phases=phases)
        finally:
            if model is not None and (not allow or self.contactor_closed()):
                model.set_evse_contactor(self.contactor_closed(), phases)  # open on any failure


_EV_NOTES = {
    "v2g.evse.energy_transfer_mode_selected": MirroredControlPilot._mode_selected,
    "v2g.evse.start_charging_requested": lambda self, model, _d: self._ev_power(model, True),
    "v2g.evse.stop_charging_requested": lambda self, model, _d: self._ev_power(model, False),
    "v2g.evse.session_stopped": lambda self, model, _d: self._ev_power(model, False),
    "v2g.evse.session_error": lambda self, model, _d: self._ev_power(model, False),
}


class CableError(RuntimeError):
    """The shared power stage could not be set up."""


def make_board_server(path: str, model: Any, clock: Any):
    """EVSE host: serve `model`'s EV side on `path`. Returns the SocketCable (start() it)."""
    from freev2g_evse_board.sim.drivers import SimEvBoard
    from freev2g_virtual_plc.remote_board import BoardServer
    from freev2g_virtual_plc.socket_medium import SocketCable

    cable = SocketCable("evse", path, clock)
    server = BoardServer(cable, SimEvBoard(model), clock)
    serve = server._on_command

    def on_command(obj: dict[str, Any]) -> None:
        if obj.get("op") == "set_battery":  # the EV host's car: capacity and start SoC
            try:
                model.set_battery(capacity_Wh=float(obj["capacity_Wh"]), soc_pct=float(obj["soc_pct"]))
                log.info("cable: EV battery %.0f Wh at %.1f %%", obj["capacity_Wh"], obj["soc_pct"])
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("cable: bad set_battery %r: %s", obj, exc)
                return
            asyncio.ensure_future(_ack(cable, {"ch": "board", "op": "battery_set", **server.snapshot()}))
            return
        serve(obj)

    def on_connect() -> None:
        start()
        cable._reader_task.add_done_callback(lambda _task: hang_up())

    def hang_up() -> None:  # the EV host is gone: its relay opens, its load goes, the cable unplugs
        try:
            model.set_ev_contactor(False)
            model.set_ac_current_draw(0.0, 3)
            model.unplug()
        except Exception as exc:  # noqa: BLE001 - a done-callback must not raise
            log.warning("cable: EV side not reset after the hang-up: %s", exc)
        log.info("cable: EV host disconnected; EV side unplugged")

    start = cable.on_connect
    cable.on_connect = on_connect
    cable.on_board = on_command
    return cable


async def _ack(cable: Any, obj: dict[str, Any]) -> None:
    try:
        await cable.write(obj)
    except Exception as exc:  # noqa: BLE001 - the EV host hung up
        log.warning("cable: battery acknowledgement not delivered: %s", exc)


class CableEvBoard(WhitebeetEvBoard):
    """EV host's EvBoard on a shared cable: CP resistor levels and duty on the module (as
    WhitebeetEvBoard), contactor, inlet voltage, battery and AC draw in the EVSE host's model."""

    def __init__(self, link, *, clock, path: str, capacity_Wh: float, start_soc_pct: float) -> None:
        from freev2g_virtual_plc.remote_board import RemoteEvBoard
        from freev2g_virtual_plc.socket_medium import SocketCable

        super().__init__(link, clock=clock, capacity_Wh=capacity_Wh, start_soc_pct=start_soc_pct)
        self.remote = RemoteEvBoard(SocketCable("ev", path, clock))
        self.battery = {"capacity_Wh": float(capacity_Wh), "soc_pct": float(start_soc_pct)}
        self.remote.state["soc_pct"] = float(start_soc_pct)
        self._battery_set = asyncio.Event()
        on_board = self.remote.cable.on_board

        def on_board_or_ack(obj: dict[str, Any]) -> None:
            if obj.get("op") == "battery_set":
                on_board({**obj, "op": "state"})
                self._battery_set.set()
            else:
                on_board(obj)

        self.remote.cable.on_board = on_board_or_ack

    async def connect(self) -> None:
        """Connect to the EVSE host and hand it this car's battery (before charging)."""
        await self.remote.cable.start()
        await self.remote.cable.write({"ch": "board", "op": "set_battery", **self.battery})
        for _ in range(250):  # until the EVSE host answered with the model's state on this battery
            if self._battery_set.is_set():
                return
            await self.clock.sleep(0.02)
        raise CableError(f"cable {self.remote.cable.path}: the EVSE host did not take the EV battery in 5 s")

    def subscribe(self, listener) -> None:
        super().subscribe(listener)
        self.remote.subscribe(listener)

    def set_cp_state(self, state: CPState) -> None:
        super().set_cp_state(state)  # the module's resistor: what the EVSE module measures
        self.remote.set_cp_state(state)  # the model's EV letter: gates AC current

    def set_contactor(self, closed: bool) -> None:
        self.remote.set_contactor(closed)

    def contactor_closed(self) -> bool:
        return self.remote.contactor_closed()

    def inlet_voltage_V(self) -> float:
        return self.remote.inlet_voltage_V()

    def battery_soc_pct(self) -> float:
        return self.remote.battery_soc_pct()

    def battery_voltage_V(self) -> float:
        return self.remote.battery_voltage_V() or self.battery_V

    def set_ac_current_draw(self, current_A: float, phases: int) -> None:
        self.remote.set_ac_current_draw(current_A, phases)

    async def close(self) -> None:
        for _ in range(10):  # let the last commands (contactor open, no AC draw) go out first
            await asyncio.sleep(0)
        await close_cable(self.remote.cable, self.clock)


async def close_cable(cable: Any, clock: Any, grace_s: float = 2.0, *, peer_first: bool = False) -> None:
    """Close the cable gently: with `peer_first` (the EVSE host) wait up to `grace_s` for the EV
    host to hang up, so its last safe-state commands (contactor open, no AC draw) still reach
    the model; else close our end first. Cancelling a reader that still runs under the unix
    server's client callback would be logged as an error."""
    task = cable._reader_task
    if not peer_first and cable._writer is not None:
        cable._writer.close()
    for _ in range(int(grace_s / 0.02)):
        if task is None or task.done():
            break
        await clock.sleep(0.02)
    await cable.close()


def meter_line(station: Any) -> str:
    """One line for the EVSE CLI: the sim meter's import and what the model's battery stored."""
    model = station.board_shared.get(SIM_KEY)
    if model is None:
        return "meter: no sim model"
    model.update()
    bat = model.battery
    return (f"meter: imported {model.energy_import_Wh:.3f} Wh, battery stored {bat.stored_gain_Wh:.3f} Wh, "
            f"loss {bat.loss_Wh + model.ac_loss_Wh:.3f} Wh, SoC {bat.soc_pct:.3f} %")


__all__ = ["CableError", "CableEvBoard", "close_cable", "MirroredControlPilot", "make_board_server", "meter_line"]
