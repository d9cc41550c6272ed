"""The EV side: EvController (ISO15118_ev commands and variables), its configuration (car.toml,
FreeV2G ev.json) and scenarios."""
from .config import EvConfig, load_ev_config
from .controller import EvCommandError, EvController
from .scenario import Scenario, load_scenario, parse_scenario
from .variables import AcTargetPower, DcEvBPTParameters, DcEvParameters, EvVar, EvVarEvent

__all__ = [
    "AcTargetPower",
    "DcEvBPTParameters",
    "DcEvParameters",
    "EvCommandError",
    "EvConfig",
    "EvController",
    "EvVar",
    "EvVarEvent",
    "Scenario",
    "load_ev_config",
    "load_scenario",
    "parse_scenario",
]
