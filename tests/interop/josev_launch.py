"""Start Josev's SECC or EVCC main module, with its per-message receive timeouts scaled.

    python josev_launch.py secc|evcc          (inside .venv-josev; JOSEV_TIMEOUT_SCALE, default 1)

Josev waits for each next message with asyncio.wait_for(reader.read(), timeout) in
iso15118.shared.comm_session (0.25 s for a CurrentDemandRes, as the standards require). Its Java
codec alone takes 25-90 ms per message on a loaded 2-core machine, so unscaled sessions between
two Josev processes time out at random there. A scale > 1 gives only that module a wait_for that
multiplies the timeout; nothing else in Josev changes. Scale 1 runs Josev unmodified.

JOSEV_SIM_SUPPLY=1 (SECC only, default off): Josev's simulated EVSE controller reports a fixed
present voltage and current of 1 V / 1 A whatever the EV asks, so a real EV's PreCharge (wait
until the EVSE's present voltage is near the target) never ends. With it, the simulator's
send_charging_command makes the simulated supply an ideal one: present voltage and current
become the EV's targets, and 0 after PowerDelivery stop. Used by freev2g's EV against Josev's SECC; off, Josev is as shipped.
"""
from __future__ import annotations

import asyncio
import os
import runpy
import sys
import types

MODULES = {"secc": "iso15118.secc.main", "evcc": "iso15118.evcc.main"}


def scaled_asyncio(scale: float) -> types.ModuleType:
    proxy = types.ModuleType("asyncio_scaled")
    proxy.__dict__.update({k: v for k, v in vars(asyncio).items() if not k.startswith("__")})

    async def wait_for(aw, timeout):
        return await asyncio.wait_for(aw, None if timeout is None else float(timeout) * scale)

    proxy.wait_for = wait_for
    return proxy


def ideal_supply() -> None:
    from iso15118.secc.controller.simulator import SimEVSEController

    async def send_charging_command(self, ev_target_voltage=None, ev_target_current=None,
                                    is_precharge=False, is_session_bpt=False):
        if ev_target_voltage is not None:
            self.evse_data_context.present_voltage = ev_target_voltage
        if ev_target_current is not None:
            self.evse_data_context.present_current = ev_target_current

    async def stop_charger(self):  # PowerDelivery stop: the supply is off, the cable discharges
        self.evse_data_context.present_voltage = 0
        self.evse_data_context.present_current = 0

    SimEVSEController.send_charging_command = send_charging_command
    SimEVSEController.stop_charger = stop_charger


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in MODULES:
        print(f"usage: josev_launch.py {'|'.join(MODULES)}", file=sys.stderr)
        return 2
    raw = os.environ.get("JOSEV_TIMEOUT_SCALE", "1")
    try:
        scale = float(raw)
        if not 1 <= scale <= 100:
            raise ValueError
    except ValueError:
        print(f"JOSEV_TIMEOUT_SCALE must be a number from 1 to 100, got {raw!r}", file=sys.stderr)
        return 2
    if scale != 1:
        import iso15118.shared.comm_session as comm_session
        comm_session.asyncio = scaled_asyncio(scale)
        print(f"josev_launch: receive timeouts x{scale:g} (iso15118.shared.comm_session)", flush=True)
    if argv[0] == "secc" and os.environ.get("JOSEV_SIM_SUPPLY") == "1":
        ideal_supply()
        print("josev_launch: simulated supply follows the EV's targets (JOSEV_SIM_SUPPLY)", flush=True)
    sys.argv = [MODULES[argv[0]]]
    runpy.run_module(MODULES[argv[0]], run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
