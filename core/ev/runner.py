"""Runs scenario steps against an EV controller and (optionally) its station and sim board.

Each step maps to one ISO15118_ev command (seed 000), a cable action, a board fault (sim board
API: inject/clear) or a station action (remote_stop). A step that cannot complete (a wait that
times out, a start that is refused) raises ScenarioStepFailed naming the step.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from ..model.enums import EnergyTransferMode, StopCause
from .controller import EvController
from .scenario import (
    Clear,
    EnableJ2847,
    Inject,
    LinkTimeout,
    Pause,
    PlugIn,
    RemoteStop,
    Renegotiate,
    Resume,
    Scenario,
    ScenarioStepFailed,
    SetBptDcParams,
    SetDcParams,
    SetFault,
    Sleep,
    StartCharging,
    Stop,
    Unplug,
    UpdateSoc,
    WaitFor,
)
from .variables import DcEvBPTParameters, DcEvParameters

log = logging.getLogger(__name__)


class ScenarioRunner:
    """`model`: the sim board's SimModel (inject/clear/plug_in); `station`: a StationApi."""

    def __init__(
        self,
        ev: EvController,
        *,
        clock,
        mode: EnergyTransferMode,
        model: Any = None,
        station: Any = None,
        on_step: Callable[[int, Any], None] | None = None,
    ) -> None:
        self.ev, self.clock, self.mode, self.model, self.station = ev, clock, mode, model, station
        self.on_step = on_step
        self._last_start: StartCharging | None = None

    async def run(self, scenario: Scenario) -> None:
        for index, step in enumerate(scenario.steps):
            if self.on_step is not None:
                self.on_step(index, step)
            try:
                await self.run_step(step)
            except ScenarioStepFailed as exc:
                if exc.index < 0:
                    raise ScenarioStepFailed(index, step, exc.reason) from None
                raise

    async def run_step(self, step: Any) -> None:
        ev = self.ev
        if isinstance(step, PlugIn):
            ev.cable_rating_A = step.cable_rating_A
            ev.plug_in()
        elif isinstance(step, Unplug):
            await ev.unplug()
        elif isinstance(step, StartCharging):
            await self._start(step)
        elif isinstance(step, Resume):
            await self._start(self._last_start or StartCharging())
        elif isinstance(step, WaitFor):
            try:
                await ev.vars.wait_for(step.variable, step.value, timeout_s=step.timeout_s, already=not step.fresh)
            except TimeoutError:
                want = f" = {step.value!r}" if step.value is not None else ""
                raise ScenarioStepFailed(-1, step, f"{step.variable.value}{want} not seen within {step.timeout_s:g} s") from None
        elif isinstance(step, Sleep):
            await self.clock.sleep(step.duration_s)
        elif isinstance(step, Pause):
            await ev.pause_charging()
        elif isinstance(step, Stop):
            await ev.stop_charging()
        elif isinstance(step, Renegotiate):
            await ev.renegotiate()
        elif isinstance(step, SetFault):
            await ev.set_fault(step.error)
        elif isinstance(step, UpdateSoc):
            ev.update_soc(step.soc_pct)
        elif isinstance(step, SetDcParams):
            ev.set_dc_params(DcEvParameters(**_fields(step)))
        elif isinstance(step, SetBptDcParams):
            ev.set_bpt_dc_params(DcEvBPTParameters(**_fields(step)))
        elif isinstance(step, EnableJ2847):
            ev.enable_sae_j2847_v2g_v2h(step.mode)
        elif isinstance(step, (Inject, Clear)):
            self._board_fault(step)
        elif isinstance(step, RemoteStop):
            if self.station is None:
                raise ScenarioStepFailed(-1, step, "no station in this simulation (EV only)")
            await self.station.remote_stop(step.evse_index, StopCause.REMOTE_STOP)
        elif isinstance(step, LinkTimeout):
            ev.go_silent()
        else:  # pragma: no cover - parse_scenario only builds known steps
            raise ScenarioStepFailed(-1, step, f"unknown step {step!r}")

    async def _start(self, step: StartCharging) -> None:
        self._last_start = step
        try:
            ok = await self.ev.start_charging(
                step.mode or self.mode,
                step.payment,
                step.departure_time_s,
                step.e_amount_kWh,
            )
        except Exception as exc:  # noqa: BLE001 - EvCommandError and link errors alike
            raise ScenarioStepFailed(-1, step, str(exc)) from exc
        if step.expect_started and not ok:
            finished = self.ev.last_finished
            why = f"{finished.cause.value} {finished.detail}".strip() if finished else "refused"
            raise ScenarioStepFailed(-1, step, f"session did not start ({why})")

    def _board_fault(self, step: Inject | Clear) -> None:
        if self.model is None:
            raise ScenarioStepFailed(-1, step, "board faults need the sim board (no sim model here)")
        try:
            if isinstance(step, Inject):
                if step.fault == "unplug":
                    self.ev.plugged = False
                self.model.inject(step.fault, **step.params)
            else:
                self.model.clear(step.fault)
        except (ValueError, TypeError, KeyError) as exc:
            raise ScenarioStepFailed(-1, step, f"sim board refused {step.fault!r}: {exc}") from exc


def _fields(step: Any) -> dict[str, Any]:
    import attrs

    return attrs.asdict(step, recurse=False)


async def wait_idle(ev: EvController, clock, timeout_s: float) -> bool:
    """Wait until the EV has no session running (True) or the timeout passes (False)."""
    deadline = clock.monotonic() + timeout_s
    while ev.session_running():
        if clock.monotonic() >= deadline:
            return False
        await clock.sleep(0.5)
    await asyncio.sleep(0)
    return True
