"""freev2g.simulate: an EV and an EVSE in one process over the virtual link (API item 5).

`Simulation(options, pm)` builds the Station (EVSE side: boards, link, EvseManager, journal,
uplinks from the plugin registries) and the EV side (ev_board + "virtual" link in role "ev"
+ EvController). Both link factories share one `LinkContext.shared` dict and both sides' board
factories one `BoardContext.shared` dict, so the sim board is one electrical model of the cable.
`run()` plays the scenario (default: plug in, charge, unplug) and returns a SimulationResult;
with `report_dir` it also writes the report (core/report.py).

speed: 1 = real time, N = N times faster, None = as fast as possible on virtual time (the
caller runs the coroutine on freev2g.clock.VirtualTimeEventLoop; no real sockets then).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from .clock import Clock, VirtualTimeEventLoop
from .config import StationConfig
from .ev.config import EvConfig
from .ev.controller import EvController
from .ev.runner import ScenarioRunner, wait_idle
from .ev.scenario import Scenario, ScenarioStepFailed
from .model import events as sev
from .model.enums import ChargeMode, EnergyTransferMode, Protocol, StopCause
from .registry import BoardContext, LinkContext

log = logging.getLogger(__name__)

MODES = ("dc", "ac", "dc_bpt")


class SimulationError(RuntimeError):
    """A simulation that cannot be built as asked (bad option mix, missing plugin)."""


@frozen(kw_only=True)
class SimulationOptions:
    protocol: Protocol = field(default=Protocol.ISO15118_2, converter=Protocol)
    mode: str = "dc"
    scale: bool = False
    speed: float | None = 1.0
    station_config: StationConfig | None = None
    ev_config: EvConfig | None = None
    scenario: Scenario | None = None
    journal_path: str | None = None
    report_dir: str | None = None
    settle_timeout_s: float = 120.0  # after the scenario: wait this long for the EVSE to finish
    ev_link_options: dict = field(factory=dict)  # extra options of the EV-side link (e.g. timeouts)

    def __attrs_post_init__(self):
        if self.mode not in MODES:
            raise SimulationError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.protocol is Protocol.DIN70121 and self.mode != "dc":
            raise SimulationError("DIN 70121 is DC only: use --mode dc")
        if self.mode == "dc_bpt" and self.protocol is not Protocol.ISO15118_20:
            raise SimulationError("dc_bpt needs ISO 15118-20 (--protocol iso20)")
        if self.speed is not None and not self.speed > 0:
            raise SimulationError(f"speed must be > 0 or None (max), got {self.speed!r}")

    @property
    def energy_mode(self) -> EnergyTransferMode:
        if self.mode == "ac":
            return EnergyTransferMode.AC_THREE_PHASE_CORE
        if self.mode == "dc_bpt":
            return EnergyTransferMode.DC_BPT
        return EnergyTransferMode.DC_EXTENDED


@frozen(kw_only=True)
class SimulationResult:
    energy_Wh: float
    energy_export_Wh: float
    duration_s: float
    start_soc_pct: float | None
    end_soc_pct: float | None
    peak_power_W: float
    stop_cause: str | None
    stop_detail: str = ""
    session_ids: tuple[str, ...] = ()
    journal_path: str | None = None
    report_dir: str | None = None
    scenario_error: str | None = None
    ev_stop_cause: str | None = None
    protocol: str = ""
    mode: str = ""

    @property
    def ok(self) -> bool:
        return self.scenario_error is None


def default_station_config(opts: SimulationOptions | str) -> StationConfig:
    """A free-service sim station for the chosen mode (AC with HLC, DC 150 kW, BPT 11 kW).
    A station file given to a simulation overrides only the keys it sets (sim_config.py)."""
    mode = opts if isinstance(opts, str) else opts.mode
    cfg = StationConfig()
    cfg.evse.charge_mode = ChargeMode.AC if mode == "ac" else ChargeMode.DC
    cfg.evse.disable_authentication = True
    cfg.evse.ac_hlc_enabled = mode == "ac"
    cfg.evse.ac_hlc_use_5percent = mode == "ac"  # the virtual EV starts SLAC on 5 %
    cfg.evse.ac_enforce_hlc = mode == "ac"  # free service must not fall back to nominal PWM (F step)
    if mode == "dc_bpt":  # a bidirectional supply: the sim board's import limits
        cfg.dc.max_discharge_power_W = 11_000.0
        cfg.dc.max_discharge_current_A = 30.0
        cfg.board.options["sim"] = {"power_supply": {"max_import_current_A": 30.0, "max_import_power_W": 11_000.0}}
    return cfg


def ev_board_options(cfg: EvConfig) -> dict[str, Any]:
    """The sim board's EV sections (battery, ev) from the EV config, then cfg.board on top.
    A car below the sim battery's default ~400 V gets its OCV curve scaled to fit."""
    battery: dict[str, Any] = {
        "capacity_Wh": cfg.battery.capacity_Wh,
        "soc_pct": cfg.battery.start_soc_pct,
        "max_charge_current_A": max(cfg.dc.max_current_A, 1.0),
        "max_charge_power_W": max(cfg.dc.max_power_W, 1.0),
        "max_discharge_current_A": cfg.bpt.max_discharge_current_A,
        "max_discharge_power_W": cfg.bpt.max_discharge_power_W,
    }
    if cfg.dc.max_voltage_V < 420.0:
        top = cfg.dc.max_voltage_V * 0.95
        battery["ocv_curve"] = [[s, round(v * top / 405.0, 1)] for s, v in
                                ((0.0, 320.0), (10.0, 345.0), (50.0, 370.0), (90.0, 392.0), (100.0, 405.0))]
        battery["max_voltage_V"] = cfg.dc.max_voltage_V * 0.98
    opts: dict[str, Any] = {
        "battery": battery,
        "ev": {"max_ac_current_A": cfg.ac.max_current_A, "max_ac_phases": cfg.ac.phases},
    }
    for section, table in cfg.board.items():
        if isinstance(table, dict) and isinstance(opts.get(section), dict):
            opts[section] = {**opts[section], **table}
        else:
            opts[section] = table
    return opts


class Simulation:
    """One EV + one EVSE. `await start()`, `await run()`, `await stop()`."""

    def __init__(self, options: SimulationOptions, pm: Any = None) -> None:
        self.options = options
        self.pm = pm
        self.clock: Clock | None = None
        self.station: Any = None
        self.ev: EvController | None = None
        self.ev_config = options.ev_config or EvConfig()
        if options.scale and not self.ev_config.scale:
            self.ev_config = attrs.evolve(self.ev_config, scale=True)
        if options.mode == "dc_bpt" and options.ev_config is None:
            self.ev_config = attrs.evolve(self.ev_config, bpt=attrs.evolve(self.ev_config.bpt, discharge=True))
        self.board_shared: dict[str, Any] = {}
        self.link_shared: dict[str, Any] = {}
        self.events: list[sev.SessionEvent] = []
        self.event_times: list[float] = []
        self._listeners: list = []
        self._started_at = 0.0
        self._start_soc: float | None = None
        report = Path(options.report_dir) if options.report_dir else None
        self.journal_path = options.journal_path or (str(report / "journal.sqlite") if report else None)

    @property
    def model(self) -> Any:
        """The sim board's SimModel, when the sim board is in use."""
        return self.board_shared.get("sim_model")

    def subscribe(self, listener) -> None:
        """Station session events, as they happen (also before start())."""
        self._listeners.append(listener)

    def _on_event(self, event: sev.SessionEvent) -> None:
        self.events.append(event)
        self.event_times.append(self.clock.monotonic() if self.clock else 0.0)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001
                log.exception("simulation listener failed")

    async def start(self) -> None:
        from .plugins import get_plugin_manager

        opts = self.options
        if opts.speed is None and not isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop):
            raise SimulationError("speed=None (max) runs on virtual time: use freev2g.clock.run(..., virtual_time=True)")
        try:
            from .evse.station import Station
        except ImportError as exc:
            raise SimulationError(f"the EVSE side (freev2g.evse.station) is not available: {exc}") from exc
        self.pm = self.pm or get_plugin_manager()
        regs = self.pm.registries()
        self.clock = Clock(opts.speed or 1.0)
        station_cfg = opts.station_config or default_station_config(opts)
        if "protocols" not in station_cfg.link.options:
            link_cfg = attrs.evolve(station_cfg.link, options={**station_cfg.link.options, "protocols": [p.value for p in Protocol]})
            station_cfg = attrs.evolve(station_cfg, link=link_cfg)
        self.station = Station(
            station_cfg,
            pm=self.pm,
            clock=self.clock,
            board_shared=self.board_shared,
            link_shared=self.link_shared,
            journal_path=self.journal_path,
        )
        self.station.subscribe(self._on_event)
        if self.journal_path:
            Path(self.journal_path).parent.mkdir(parents=True, exist_ok=True)
        await self.station.start()
        board = regs.boards.get("ev_board", "sim").factory(
            ev_board_options(self.ev_config), BoardContext(clock=self.clock, station_id="ev", shared=self.board_shared)
        )
        link_opts = {**opts.ev_link_options, "protocols": [opts.protocol.value]}
        link = regs.links.get(station_cfg.link.name, "ev").factory(
            link_opts, LinkContext(clock=self.clock, boards={"ev_board": board}, shared=self.link_shared)
        )
        self.ev = EvController(self.ev_config, board=board, link=link, clock=self.clock, plug=self._plug)
        await self.ev.open()
        self._started_at = self.clock.monotonic()

    def _plug(self, connected: bool, cable_rating_A: float) -> None:
        model = self.model
        if model is None:
            self.ev.board.set_cp_state("B" if connected else "A")
        elif connected:
            model.plug_in(cable_rating_A)
        else:
            model.unplug()

    async def run(self) -> SimulationResult:
        """Play the scenario; wait for the EVSE to close its sessions; report."""
        assert self.ev is not None and self.clock is not None, "call start() first"
        scenario = self.options.scenario or Scenario.default()
        runner = ScenarioRunner(self.ev, clock=self.clock, mode=self.options.energy_mode, model=self.model, station=self.station)
        self._start_soc = self.ev.soc_pct()
        error = None
        try:
            await runner.run(scenario)
        except ScenarioStepFailed as exc:
            error = str(exc)
            log.warning("%s", exc)
            if self.ev.plugged:  # end it the way a driver would: pull the cable
                await self.ev.unplug()
        if self.ev.session_running():
            if not await wait_idle(self.ev, self.clock, self.options.settle_timeout_s):
                await self.ev.stop_charging()
                await wait_idle(self.ev, self.clock, 30.0)
        await self._settle()
        result = self.result(error)
        if self.options.report_dir:
            from .report import write_report

            write_report(self.options.report_dir, result, self)
        return result

    async def _settle(self) -> None:
        """Wait until every session the EVSE opened is finished (bounded)."""
        deadline = self.clock.monotonic() + self.options.settle_timeout_s
        while self.clock.monotonic() < deadline:
            opened = {e.session_id for e in self.events if isinstance(e, sev.PluggedIn)}
            closed = {e.session_id for e in self.events if isinstance(e, sev.SessionFinished)}
            if opened <= closed:
                return
            await self.clock.sleep(0.25)

    def result(self, scenario_error: str | None = None) -> SimulationResult:
        finished = [e for e in self.events if isinstance(e, sev.SessionFinished)]
        ids: list[str] = []
        for e in self.events:
            if e.session_id not in ids:
                ids.append(e.session_id)
        peak = max((abs(e.power_W) for e in self.events if isinstance(e, sev.MeterSample)), default=0.0)
        peak = max([peak] + [abs(s[3]) for s in (self.ev.samples if self.ev else [])])
        last = finished[-1] if finished else None
        end_times = [t for e, t in zip(self.events, self.event_times) if isinstance(e, sev.SessionFinished)]
        end = end_times[-1] if end_times else (self.clock.monotonic() if self.clock else 0.0)
        return SimulationResult(
            energy_Wh=sum(e.energy_import_Wh for e in finished),
            energy_export_Wh=sum(e.energy_export_Wh for e in finished),
            duration_s=max(0.0, end - self._started_at),
            start_soc_pct=self._start_soc,
            end_soc_pct=self.ev.soc_pct() if self.ev else None,
            peak_power_W=peak,
            stop_cause=last.cause.value if last else None,
            stop_detail=last.detail if last else "",
            session_ids=tuple(ids),
            journal_path=self.journal_path,
            report_dir=self.options.report_dir,
            scenario_error=scenario_error,
            ev_stop_cause=self.ev.stop_cause.value if self.ev and self.ev.stop_cause else None,
            protocol=self.options.protocol.value,
            mode=self.options.mode,
        )

    async def stop(self) -> None:
        """EV first (contactor open, session dropped), then the station (power off, uplinks)."""
        if self.ev is not None:
            try:
                await self.ev.close()
            except Exception:  # noqa: BLE001 - still stop the station
                log.exception("EV close failed")
        if self.station is not None:
            await self.station.stop()

    async def __aenter__(self) -> "Simulation":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def simulate(options: SimulationOptions, pm: Any = None) -> SimulationResult:
    """start, run, stop."""
    async with Simulation(options, pm) as sim:
        return await sim.run()


__all__ = [
    "Simulation",
    "SimulationError",
    "SimulationOptions",
    "SimulationResult",
    "StopCause",
    "default_station_config",
    "simulate",
]
