"""The simulated board "sim": one electrical model of both cable ends (model.py, physics.py,
battery.py) and the Protocol drivers over it (drivers.py)."""
from .battery import Battery
from .config import (
    BatteryConfig,
    EvseSideConfig,
    EvSideConfig,
    ImdConfig,
    LockConfig,
    PowerSupplyConfig,
    SimConfig,
    SimConfigError,
    parse_sim_config,
)
from .drivers import (
    SimConnectorLock,
    SimControlPilot,
    SimEvBoard,
    SimIsolationMonitor,
    SimPowerMeter,
    SimPowerSupply,
    make_sim_factory,
    shared_model,
)
from .model import FAULTS, SimModel

__all__ = [
    "FAULTS",
    "Battery",
    "BatteryConfig",
    "EvSideConfig",
    "EvseSideConfig",
    "ImdConfig",
    "LockConfig",
    "PowerSupplyConfig",
    "SimConfig",
    "SimConfigError",
    "SimConnectorLock",
    "SimControlPilot",
    "SimEvBoard",
    "SimIsolationMonitor",
    "SimModel",
    "SimPowerMeter",
    "SimPowerSupply",
    "make_sim_factory",
    "parse_sim_config",
    "shared_model",
]
