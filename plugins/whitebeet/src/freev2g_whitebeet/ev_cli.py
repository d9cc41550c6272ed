"""`freev2g whitebeet ev`: the EvController (core/ev) on an EV-role module over Ethernet.

The car comes from car.toml or ev.json (core/ev loaders). The EvBoard is the module's CP
(resistor levels) with a battery integrated from the EVSE present values (host/ev_board.py).
Exit code 0 when every session started and ended normally (EV or EVSE stop), else 1.
"""
from __future__ import annotations

import asyncio
import signal

from freev2g.model.enums import EnergyTransferMode, StopCause

_NORMAL = (StopCause.EV_STOP, StopCause.EVSE_STOP, StopCause.SOC_REACHED)
DEFAULT_EV_JSON = "./ev.json"  # FreeV2G's default configuration file (seed 004)


def load_car(path: str):
    """car.toml or FreeV2G ev.json (core/ev picks the format by the suffix)."""
    from freev2g.ev.config import load_ev_config

    return load_ev_config(path)


def _config_mac(value: str, source: str) -> bytes:
    from freev2g.config import ConfigError

    from .transport.ethernet import mac_bytes

    try:
        return mac_bytes(value)
    except ValueError as exc:
        raise ConfigError(source, [f"mac: {exc}"]) from None


def run_ev(*, iface: str, mac: str | None, config_path: str, mode: str | None, sessions: int, echo,
           stop_after_s: float | None = None, rt_priority: int | None = None, cable_socket: str | None = None) -> int:
    from freev2g.clock import Clock
    from freev2g.ev.controller import EvController

    from .client import HciClient
    from .host.ev import WhitebeetEvLink
    from .host.ev_board import WhitebeetEvBoard
    from .transport.ethernet import EthernetTransport, discover_module_mac, mac_bytes, mac_str

    cfg = load_car(config_path)
    chosen = EnergyTransferMode(mode) if mode else cfg.ev.energy_transfer_modes[0]
    from_config = _config_mac(cfg.mac, config_path) if cfg.mac and not mac else None

    async def main() -> int:
        clock = Clock()
        if mac:
            module = mac_bytes(mac)
        elif from_config is not None:  # ev.json "mac": the module FreeV2G talks to
            module = from_config
            echo(f"module {mac_str(module)} (mac of {config_path})")
        else:
            module = await discover_module_mac(iface)
        link = WhitebeetEvLink(HciClient(EthernetTransport(iface, peer_mac=module, rt_priority=rt_priority), clock=clock), clock=clock)
        if cable_socket:  # simulation: one power stage with the EVSE host's sim model
            from .host.cable import CableEvBoard

            board = CableEvBoard(link, clock=clock, path=cable_socket, capacity_Wh=cfg.battery.capacity_Wh,
                                 start_soc_pct=cfg.battery.start_soc_pct)
            await board.connect()
            echo(f"EV power stage on the cable {cable_socket}")
        else:
            board = WhitebeetEvBoard(link, clock=clock, capacity_Wh=cfg.battery.capacity_Wh,
                                     start_soc_pct=cfg.battery.start_soc_pct)
        ev = EvController(cfg, board=board, link=link, clock=clock)
        task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
        bad = 0
        await ev.open()
        echo(f"EV running on {iface} (module firmware {link.firmware_version})")
        try:
            ev.plug_in()
            for n in range(sessions):
                before = ev.sessions_finished
                ok = await ev.start_charging(chosen)
                echo(f"session {n + 1}: {'started' if ok else 'refused'} ({chosen.value})")
                charging_since = None
                while ev.sessions_finished == before:
                    await clock.sleep(0.2)
                    if stop_after_s is not None and ev.phase == "charging":
                        charging_since = charging_since if charging_since is not None else clock.monotonic()
                        if clock.monotonic() - charging_since >= stop_after_s:
                            echo(f"session {n + 1}: stopping after {stop_after_s:g} s of charging")
                            await ev.stop_charging()
                            charging_since = float("inf")
                f = ev.last_finished
                echo(f"session {n + 1} finished: {f.cause} {f.detail} (EV: {ev.stop_cause}, SoC {board.battery_soc_pct():.3f} %)")
                bad += int(not ok or f.cause not in _NORMAL)
        except asyncio.CancelledError:
            bad += 1
        finally:
            await ev.close()
            if cable_socket:
                await board.close()
        return 1 if bad else 0

    return asyncio.run(main())
