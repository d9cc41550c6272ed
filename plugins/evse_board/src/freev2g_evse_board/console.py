"""A tiny line language to drive a board by hand or from a script (`freev2g board sim|serial`).

EVSE side (any board):  duty PCT | x1 | f | power on|off [PHASES] | lock | unlock
                        psu MODE | setpoint VOLTS AMPS | imd | selftest VOLTS | show
Sim only (EV, faults):  plug [CABLE_A] | unplug | ev B|C|D | ev_contactor on|off
                        draw AMPS [PHASES] | soc PCT | inject FAULT [key=value ...] | clear FAULT
Time:                   wait SECONDS   (simulated seconds on the command's clock)
Blank lines and `#` comments are ignored.
"""
from __future__ import annotations

import shlex
from typing import Any, Callable

from freev2g.boards import BoardError
from freev2g.model.enums import CPState

HELP = __doc__.split("\n\n", 1)[1]


class ConsoleError(ValueError):
    pass


def _num(text: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConsoleError(f"{what} must be a number, got {text!r}") from None


def _onoff(text: str) -> bool:
    if text not in ("on", "off"):
        raise ConsoleError(f"expected on or off, got {text!r}")
    return text == "on"


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise ConsoleError(f"fault parameters are key=value, got {text!r}")
    try:
        return key, float(value)
    except ValueError:
        return key, value


class Console:
    def __init__(self, drivers: dict[str, Any], clock: Any, echo: Callable[[str], None], *, model: Any = None):
        self.d, self.clock, self.echo, self.model = drivers, clock, echo, model

    def _sim(self, word: str) -> Any:
        if self.model is None:
            raise ConsoleError(f"{word!r} needs the sim board (the EV side is not on this board)")
        return self.model

    async def run_line(self, line: str) -> None:
        words = shlex.split(line, comments=True)
        if not words:
            return
        cmd, args = words[0].lower(), words[1:]
        handler = getattr(self, f"_cmd_{cmd}", None)
        if handler is None:
            raise ConsoleError(f"unknown command {cmd!r}; try 'help'")
        try:
            await handler(*args)
        except TypeError as exc:
            raise ConsoleError(f"{cmd}: wrong arguments ({exc})") from None
        except BoardError as exc:
            raise ConsoleError(f"{cmd}: board error: {type(exc).__name__}: {exc}") from None

    async def _cmd_help(self) -> None:
        self.echo(HELP.rstrip())

    async def _cmd_duty(self, pct: str) -> None:
        await self.d["bsp"].set_pwm_duty(_num(pct, "duty"))

    async def _cmd_x1(self) -> None:
        await self.d["bsp"].set_pwm_off()

    async def _cmd_f(self) -> None:
        await self.d["bsp"].set_state_f()

    async def _cmd_power(self, onoff: str, phases: str = "3") -> None:
        await self.d["bsp"].allow_power_on(_onoff(onoff), phases=int(_num(phases, "phases")))

    async def _cmd_lock(self) -> None:
        await self.d["connector_lock"].lock()

    async def _cmd_unlock(self) -> None:
        await self.d["connector_lock"].unlock()

    async def _cmd_psu(self, mode: str) -> None:
        await self.d["power_supply"].set_mode(mode)

    async def _cmd_setpoint(self, volts: str, amps: str) -> None:
        await self.d["power_supply"].set_voltage_current(_num(volts, "voltage"), _num(amps, "current"))

    async def _cmd_imd(self) -> None:
        r = await self.d["imd"].read()
        self.echo(f"imd: R_F={r.resistance_F_Ohm:.0f} Ohm R_N={r.resistance_N_Ohm:.0f} Ohm U={r.voltage_V} V")

    async def _cmd_selftest(self, volts: str) -> None:
        passed = await self.d["imd"].self_test(_num(volts, "test voltage"))
        self.echo(f"imd self-test at {volts} V: {'passed' if passed else 'FAILED'}")

    async def _cmd_wait(self, seconds: str) -> None:
        await self.clock.sleep(_num(seconds, "seconds"))

    async def _cmd_show(self) -> None:
        bsp = self.d["bsp"]
        state = bsp.cp_state()
        line = f"cp={state.value} duty={bsp.pwm_duty_pct():.1f}%"
        if hasattr(bsp, "cp_levels_V"):
            pos, neg = bsp.cp_levels_V()
            line += f" cp+={pos:.2f}V cp-={'-' if neg is None else f'{neg:.2f}V'}"
        line += f" contactor={'closed' if bsp.contactor_closed() else 'open'} cable={bsp.cable_rating_A()}A"
        line += f" locked={self.d['connector_lock'].is_locked()}"
        psu = self.d["power_supply"].read()
        meter = self.d["power_meter"].read()
        line += (f" psu={psu.voltage_V:.1f}V/{psu.current_A:.1f}A"
                 f" meter={meter.energy_import_Wh:.1f}Wh in/{meter.energy_export_Wh:.1f}Wh out {meter.power_W:.0f}W")
        if self.model is not None:
            m = self.model
            m.update()
            line += f" soc={m.battery.soc_pct:.2f}% ac={m.ac_current_A:.1f}A faults={','.join(m.faults) or '-'}"
        self.echo(line)

    async def _cmd_plug(self, cable_A: str | None = None) -> None:
        self._sim("plug").plug_in(None if cable_A is None else _num(cable_A, "cable rating"))

    async def _cmd_unplug(self) -> None:
        self._sim("unplug").unplug()

    async def _cmd_ev(self, letter: str) -> None:
        try:
            state = CPState(letter.upper())
        except ValueError:
            raise ConsoleError(f"ev takes B, C or D (or A to unplug), got {letter!r}") from None
        self._sim("ev").set_ev_state(state)

    async def _cmd_ev_contactor(self, onoff: str) -> None:
        self._sim("ev_contactor").set_ev_contactor(_onoff(onoff))

    async def _cmd_draw(self, amps: str, phases: str = "3") -> None:
        self._sim("draw").set_ac_current_draw(_num(amps, "current"), int(_num(phases, "phases")))

    async def _cmd_soc(self, pct: str) -> None:
        self._sim("soc").set_battery(soc_pct=_num(pct, "soc"))

    async def _cmd_inject(self, fault: str, *params: str) -> None:
        self._sim("inject").inject(fault, **dict(_param(p) for p in params))

    async def _cmd_clear(self, fault: str) -> None:
        self._sim("clear").clear(fault)
