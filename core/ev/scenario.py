"""Scenarios: a small declarative TOML list of typed EV steps, validated on load.

Like EVerest's EvManager command strings ("sleep 1;iso_start_v2g_session DC;iso_wait_pwr_ready;
...") but typed: every step is an attrs class, unknown keys and bad values are errors that name
the step index and the field. Example::

    name = "pause and resume"
    [[steps]]
    action = "plug_in"
    [[steps]]
    action = "start_charging"
    [[steps]]
    action = "wait_for"
    variable = "ev_power_ready"
    value = true
    timeout_s = 60
    [[steps]]
    action = "sleep"
    duration_s = 30
    [[steps]]
    action = "pause"

Steps run in order against a `ScenarioTarget` (the Simulation implements it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol as TypingProtocol

import attrs
from attrs import field, frozen
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from ..config import ConfigError, did_you_mean, load_toml, make_converter
from ..model.enums import EnergyTransferMode, EVErrorCode, PaymentOption
from .everest_names import ACTION_ALIASES, EverestNameError, canonical_action, to_step_fields
from .variables import EvVar


def _positive(instance, attribute, value):
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name}: must be > 0, got {value!r}")


def _non_negative(instance, attribute, value):
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name}: must be >= 0, got {value!r}")


def _pct(instance, attribute, value):
    if not 0 <= value <= 100:
        raise ValueError(f"{attribute.name}: must be within 0..100 %, got {value!r}")


@frozen(kw_only=True)
class PlugIn:
    cable_rating_A: float = field(default=32.0, validator=_positive)


@frozen(kw_only=True)
class Unplug:
    pass


@frozen(kw_only=True)
class StartCharging:
    """ISO15118_ev start_charging; `mode` None: the simulation's mode. EAmount in kWh."""

    mode: EnergyTransferMode | None = None
    payment: PaymentOption = PaymentOption.EXTERNAL_PAYMENT
    departure_time_s: float | None = field(default=None, validator=_non_negative)
    e_amount_kWh: float | None = field(default=None, validator=_non_negative)
    expect_started: bool = True


@frozen(kw_only=True)
class WaitFor:
    variable: EvVar
    value: Any = None  # bool or number; None: any publication
    timeout_s: float | None = field(default=None, validator=_positive)
    fresh: bool = False  # only a publication after this step started counts

    def __attrs_post_init__(self):
        if self.value is not None and not isinstance(self.value, (bool, int, float)):
            raise ValueError(f"value: must be a boolean or a number, got {self.value!r}")


@frozen(kw_only=True)
class Sleep:
    duration_s: float = field(validator=_non_negative)


@frozen(kw_only=True)
class Pause:
    pass


@frozen(kw_only=True)
class Resume:
    pass


@frozen(kw_only=True)
class Stop:
    pass


@frozen(kw_only=True)
class Renegotiate:
    pass


@frozen(kw_only=True)
class SetFault:
    error: EVErrorCode = EVErrorCode.RESS_MALFUNCTION


@frozen(kw_only=True)
class UpdateSoc:
    soc_pct: float = field(validator=_pct)


@frozen(kw_only=True)
class SetDcParams:
    max_current_limit_A: float = field(validator=_non_negative)
    max_voltage_limit_V: float = field(validator=_non_negative)
    max_power_limit_W: float | None = field(default=None, validator=_non_negative)
    energy_capacity_Wh: float | None = field(default=None, validator=_non_negative)
    target_current_A: float | None = field(default=None, validator=_non_negative)
    target_voltage_V: float | None = field(default=None, validator=_non_negative)


@frozen(kw_only=True)
class SetBptDcParams:
    discharge_max_current_limit_A: float = field(validator=_non_negative)
    discharge_max_power_limit_W: float = field(validator=_non_negative)
    discharge_target_current_A: float = field(default=0.0, validator=_non_negative)
    discharge_minimal_soc_pct: float = field(default=20.0, validator=_pct)


@frozen(kw_only=True)
class EnableJ2847:
    mode: str = "V2G"

    def __attrs_post_init__(self):
        if self.mode not in ("V2G", "V2H"):
            raise ValueError(f"mode: must be V2G or V2H, got {self.mode!r}")


@frozen(kw_only=True)
class Inject:
    """A sim-board fault: imd_fault, over_voltage, psu_fault, lock_failure, cp_short,
    missing_diode, unplug (API item 2)."""

    fault: str
    params: dict[str, Any] = field(factory=dict)

    def __attrs_post_init__(self):
        if self.fault not in BOARD_FAULTS:
            raise ValueError(f"fault: must be one of {', '.join(BOARD_FAULTS)}; got {self.fault!r}")


@frozen(kw_only=True)
class Clear:
    fault: str

    def __attrs_post_init__(self):
        if self.fault not in BOARD_FAULTS:
            raise ValueError(f"fault: must be one of {', '.join(BOARD_FAULTS)}; got {self.fault!r}")


@frozen(kw_only=True)
class RemoteStop:
    evse_index: int = 1


@frozen(kw_only=True)
class LinkTimeout:
    """Make the EV go silent: the EVSE's sequence/loop timeout ends the session."""


BOARD_FAULTS = (
    "imd_fault", "over_voltage", "psu_fault", "lock_failure", "cp_short", "missing_diode", "unplug",
    "rcd_trip", "contactor_welded", "ev_overdraw",
)

ACTIONS: dict[str, type] = {
    "plug_in": PlugIn,
    "unplug": Unplug,
    "start_charging": StartCharging,
    "wait_for": WaitFor,
    "sleep": Sleep,
    "pause": Pause,
    "resume": Resume,
    "stop": Stop,
    "renegotiate": Renegotiate,
    "set_fault": SetFault,
    "update_soc": UpdateSoc,
    "set_dc_params": SetDcParams,
    "set_bpt_dc_params": SetBptDcParams,
    "enable_sae_j2847_v2g_v2h": EnableJ2847,
    "inject": Inject,
    "clear": Clear,
    "remote_stop": RemoteStop,
    "link_timeout": LinkTimeout,
}
ACTION_NAMES = {cls: name for name, cls in ACTIONS.items()}


@frozen(kw_only=True)
class Scenario:
    name: str
    steps: tuple[Any, ...] = field(converter=tuple)

    @classmethod
    def default(cls) -> "Scenario":
        """Plug in, charge until the session ends, unplug."""
        return cls(
            name="charge",
            steps=(PlugIn(), StartCharging(), WaitFor(variable=EvVar.V2G_SESSION_FINISHED), Unplug()),
        )


def _step_problems(exc: BaseException) -> list[str]:
    if isinstance(exc, ForbiddenExtraKeysError):
        known = {f.name for f in attrs.fields(exc.cl)} if attrs.has(exc.cl) else set()
        extra = sorted(exc.extra_fields)
        hints = [(k, did_you_mean(k, known)) for k in extra]
        if len(extra) == 1:
            return [f"unknown key(s) {extra[0]}{hints[0][1]}"]
        named = "".join(f"; {k}:{hint[1:]}" for k, hint in hints if hint)  # "; x: did you mean 'y'?"
        return [f"unknown key(s) {', '.join(extra)}{named}"]
    if isinstance(exc, ClassValidationError):
        out = []
        for sub in exc.exceptions:
            note = str(next((n for n in getattr(sub, "__notes__", []) if "@ attribute" in str(n)), ""))
            name = note.rsplit("@ attribute", 1)[1].strip() if note else ""
            for msg in _step_problems(sub):
                out.append(f"{name}: {msg}" if name else msg)
        return out
    if isinstance(exc, KeyError):
        return ["missing"]
    return [str(exc)]


def parse_step(raw: dict[str, Any], *, where: str = "step", conv: Any = None) -> tuple[Any, list[str]]:
    """One step table (`action` plus its fields, freev2g's or EVerest's ISO15118_ev names,
    everest_names.py) -> (step, []) or (None, problems naming `where (action): field`)."""
    action = raw.get("action")
    name = canonical_action(action) if isinstance(action, str) else action
    cls = ACTIONS.get(name) if isinstance(name, str) else None
    if cls is None:
        known = (*ACTIONS, *ACTION_ALIASES)
        hint = did_you_mean(action, known) if isinstance(action, str) else ""
        return None, [f"{where}: action {action!r} unknown{hint} (one of {', '.join(known)})"]
    body = {k: v for k, v in raw.items() if k != "action"}
    try:
        return (conv or make_converter()).structure(to_step_fields(action, body), cls), []
    except EverestNameError as exc:
        return None, [f"{where} ({action}): {exc}"]
    except (ClassValidationError, ForbiddenExtraKeysError, ValueError, TypeError, KeyError) as exc:
        return None, [f"{where} ({action}): {p}" for p in _step_problems(exc)]


def parse_scenario(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate a parsed scenario document; every problem names `steps[i] (action): field`."""
    if not isinstance(data, dict):
        raise ConfigError(source, [f"a scenario is a table, got {type(data).__name__}"])
    problems: list[str] = []
    extra = sorted(set(data) - {"name", "steps"})
    if extra:
        problems.extend(f"{k}: unknown top-level key{did_you_mean(k, ('name', 'steps'))}" for k in extra)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ConfigError(source, problems + ["steps: needs at least one [[steps]] entry"])
    conv = make_converter()  # strict types, like station and car files; enum errors list the values
    steps = []
    for i, raw in enumerate(raw_steps):
        where = f"steps[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a table")
            continue
        step, step_problems = parse_step(raw, where=where, conv=conv)
        if step_problems:
            problems.extend(step_problems)
        else:
            steps.append(step)
    if problems:
        raise ConfigError(source, problems)
    name = data.get("name", Path(source).stem if not source.startswith("<") else "scenario")
    return Scenario(name=str(name), steps=tuple(steps))


def load_scenario(path: str | Path) -> Scenario:
    p = Path(path)
    return parse_scenario(load_toml(p), source=str(p))  # one line for a missing, non-UTF-8 or bad file


class ScenarioTarget(TypingProtocol):
    """What scenario steps act on (implemented by freev2g.simulate.Simulation)."""

    async def run_step(self, step: Any) -> None: ...


class ScenarioStepFailed(RuntimeError):
    def __init__(self, index: int, step: Any, reason: str):
        self.index, self.step, self.reason = index, step, reason
        super().__init__(f"scenario step {index} ({ACTION_NAMES.get(type(step), '?')}): {reason}")
