"""The sim board's drivers: thin adapters from the freev2g.boards Protocols onto ONE SimModel.

All "sim" factories of one simulation share the model through `BoardContext.shared["sim_model"]`
(cross-helper API item 2); in-process simulations give the EVSE-side and EV-side factories the
same `shared` dict, so the EV board and the EVSE board are two views of one cable.
"""
from __future__ import annotations

from typing import Any

from attrs import asdict, evolve
from freev2g.boards import (
    BoardListener,
    BspCapabilities,
    DeviceFault,
    IsolationReading,
    PowerMeterReading,
    PowerSupplyCapabilities,
    PowerSupplyReading,
)
from freev2g.model.enums import CPState

from .config import parse_sim_config
from .model import SimModel

SHARED_KEY = "sim_model"


def shared_model(config: dict[str, Any] | None, ctx: Any) -> SimModel:
    """The simulation's one model: created by the first sim factory, reused by the others.
    Sections given to a later factory (e.g. `battery` from the EV side) replace the model's."""
    parsed = parse_sim_config(config)
    model = ctx.shared.get(SHARED_KEY)
    if model is None:
        model = SimModel(ctx.clock, parsed)
        ctx.shared[SHARED_KEY] = model
        return model
    for key in config or {}:
        if key == "battery":
            model.set_battery(**asdict(parsed.battery, recurse=False))
        else:
            model.config = evolve(model.config, **{key: getattr(parsed, key)})
    return model


class _SimDriver:
    source = ""

    def __init__(self, model: SimModel):
        self.model = model

    def subscribe(self, listener: BoardListener) -> None:
        self.model.subscribe(self.source, listener)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} sim.{self.source}>"


class SimControlPilot(_SimDriver):
    """ControlPilot: CP generator and measurement, AC/DC contactor, RCD, PP."""

    source = "bsp"

    def capabilities(self) -> BspCapabilities:
        c = self.model.config.evse
        return BspCapabilities(max_current_A_import=c.max_current_A, max_phases=c.ac_phases)

    async def set_pwm_duty(self, duty_pct: float) -> None:
        self.model.set_pwm_duty(duty_pct)

    async def set_pwm_off(self) -> None:
        self.model.set_pwm_off()

    async def set_state_f(self) -> None:
        self.model.set_state_f()

    def cp_state(self) -> CPState:
        return self.model.cp_state()

    def cp_levels_V(self) -> tuple[float, float | None]:
        return self.model.cp_levels_V()

    def pwm_duty_pct(self) -> float:
        return self.model.evse_duty_pct()

    async def allow_power_on(self, allow: bool, *, phases: int = 3) -> None:
        closed = self.model.set_evse_contactor(allow, phases)
        if not allow and closed:
            raise DeviceFault("contactor did not open (welded)", device="sim.bsp")
        if allow and not closed:
            raise DeviceFault("contactor cannot close: RCD tripped", device="sim.bsp")

    def contactor_closed(self) -> bool:
        return self.model.evse_contactor

    def cable_rating_A(self) -> float | None:
        return self.model.cable_rating_A()

    def rcd_tripped(self) -> bool:
        return "rcd_trip" in self.model.faults


class SimIsolationMonitor(_SimDriver):
    """IsolationMonitor (charging-domain.md 5.1, 5.3): readings from the configured insulation
    resistances, or the injected fault resistance; self-test takes `self_test_time_s`."""

    source = "imd"

    async def start(self) -> None:
        self.model.imd_running = True

    async def stop(self) -> None:
        self.model.imd_running = False

    def running(self) -> bool:
        return self.model.imd_running

    def cable_voltage_V(self) -> float:
        """Optional IsolationMonitor reading (core/boards.py): DC voltage on the cable side of
        the EVSE contactor, i.e. at the EV inlet (welding detection, unlock check, 5.5)."""
        return self.model.inlet_voltage_V()

    async def self_test(self, test_voltage_V: float) -> bool:
        await self.model.clock.sleep(self.model.config.imd.self_test_time_s)
        fault = self.model.faults.get("imd_fault")
        passed = not (fault and fault["mode"] == "device")
        self.model.emit("imd", "self_test", passed, f"at {test_voltage_V} V")
        return passed

    async def read(self) -> IsolationReading:
        await self.model.clock.sleep(self.model.config.imd.measure_time_s)
        fault = self.model.faults.get("imd_fault")
        if fault and fault["mode"] == "device":
            raise DeviceFault("isolation monitor device fault", device="sim.imd")
        cfg = self.model.config.imd
        r_f, r_n = cfg.resistance_F_Ohm, cfg.resistance_N_Ohm
        if fault:
            r_f = r_n = float(fault["resistance_Ohm"])
        reading = IsolationReading(r_f, r_n, self.model.psu_reading()[0])
        self.model.emit("imd", "reading", reading)
        return reading


class SimPowerSupply(_SimDriver):
    """PowerSupply: setpoints ramp at the configured rates and clamp to the limits."""

    source = "power_supply"

    def capabilities(self) -> PowerSupplyCapabilities:
        c = self.model.config.power_supply
        return PowerSupplyCapabilities(
            max_export_voltage_V=c.max_export_voltage_V,
            min_export_voltage_V=c.min_export_voltage_V,
            max_export_current_A=c.max_export_current_A,
            max_export_power_W=c.max_export_power_W,
            max_import_current_A=c.max_import_current_A,
            max_import_power_W=c.max_import_power_W,
            ramp_V_per_s=c.ramp_V_per_s,
            ramp_A_per_s=c.ramp_A_per_s,
        )

    async def set_mode(self, mode: str) -> None:
        if mode != "off":
            if "psu_fault" in self.model.faults:
                raise DeviceFault(f"power supply faulted; cannot enter {mode!r}", device="sim.power_supply")
            if mode == "import" and self.model.config.power_supply.max_import_current_A <= 0:
                raise DeviceFault("power supply is not bidirectional (max_import_current_A = 0)",
                                  device="sim.power_supply")
        self.model.set_psu_mode(mode)

    async def set_voltage_current(self, voltage_V: float, current_A: float) -> None:
        if "psu_fault" in self.model.faults:
            raise DeviceFault("power supply faulted", device="sim.power_supply")
        self.model.set_psu_setpoints(voltage_V, current_A)

    def read(self) -> PowerSupplyReading:
        voltage_V, current_A = self.model.psu_reading()
        return PowerSupplyReading(voltage_V, current_A)

    async def set_over_voltage_limit(self, limit_V: float | None) -> None:
        self.model.set_over_voltage_limit(limit_V)


class SimConnectorLock(_SimDriver):
    source = "connector_lock"

    async def lock(self) -> None:
        m = self.model
        if m.locked:
            return
        await m.clock.sleep(m.config.lock.lock_time_s)
        fault = m.faults.get("lock_failure")
        if fault and fault["mode"] in ("lock", "both"):
            m.emit("connector_lock", "fault", "lock_failure", "did not lock")
            raise DeviceFault("connector lock failed to lock", device="sim.connector_lock")
        m.locked = True
        m.emit("connector_lock", "lock", True)

    async def unlock(self) -> None:
        m = self.model
        if not m.locked:
            return
        await m.clock.sleep(m.config.lock.unlock_time_s)
        fault = m.faults.get("lock_failure")
        if fault and fault["mode"] in ("unlock", "both"):
            m.emit("connector_lock", "fault", "lock_failure", "jammed locked")
            raise DeviceFault("connector lock failed to unlock (jammed)", device="sim.connector_lock")
        m.locked = False
        m.emit("connector_lock", "lock", False)

    def is_locked(self) -> bool:
        return self.model.locked


class SimPowerMeter(_SimDriver):
    source = "power_meter"

    def read(self) -> PowerMeterReading:
        imp, exp, power, voltage, current = self.model.meter_values()
        return PowerMeterReading(imp, exp, power, voltage, current)


class SimEvBoard(_SimDriver):
    """EvBoard: the EV's CP resistor and diode, its contactor, onboard charger and battery."""

    source = "ev_board"

    def set_cp_state(self, state: CPState) -> None:
        self.model.set_ev_state(state)

    def pwm_duty_pct(self) -> float:
        return self.model.ev_duty_pct()

    def set_contactor(self, closed: bool) -> None:
        self.model.set_ev_contactor(closed)

    def contactor_closed(self) -> bool:
        return self.model.ev_contactor

    def inlet_voltage_V(self) -> float:
        return self.model.inlet_voltage_V()

    def battery_soc_pct(self) -> float:
        self.model.update()
        return self.model.battery.soc_pct

    def battery_voltage_V(self) -> float:
        """Terminal voltage with the present DC current."""
        self.model.update()
        m = self.model
        current = m.psu_current_A if (m.plugged and m.evse_contactor and m.ev_contactor) else 0.0
        return m.battery.terminal_V(current)

    def battery_current_A(self) -> float:
        self.model.update()
        m = self.model
        return m.psu_current_A if (m.plugged and m.evse_contactor and m.ev_contactor) else 0.0

    def charge_current_limit_A(self) -> float:
        """What the BMS accepts now (CC/CV taper)."""
        self.model.update()
        return self.model.battery.charge_current_limit_A()

    def charge_voltage_limit_V(self) -> float:
        """The battery's CV voltage: what the EV asks for as its DC target voltage."""
        return self.model.battery.config.max_voltage_V

    def set_ac_current_draw(self, current_A: float, phases: int) -> None:
        self.model.set_ac_current_draw(current_A, phases)

    def ac_current_A(self) -> float:
        self.model.update()
        return self.model.ac_current_A

    def plug_in(self, cable_rating_A: float | None = None) -> None:
        self.model.plug_in(cable_rating_A)

    def unplug(self) -> None:
        self.model.unplug()


DRIVERS: dict[str, type[_SimDriver]] = {
    "bsp": SimControlPilot,
    "imd": SimIsolationMonitor,
    "power_supply": SimPowerSupply,
    "connector_lock": SimConnectorLock,
    "power_meter": SimPowerMeter,
    "ev_board": SimEvBoard,
}


def make_sim_factory(kind: str):
    """Factory `(config, ctx)` for one board kind; all share the context's one SimModel."""
    driver_type = DRIVERS[kind]

    def factory(config: dict[str, Any] | None, ctx: Any) -> _SimDriver:
        return driver_type(shared_model(config, ctx))

    factory.__name__ = f"sim_{kind}_factory"
    return factory
