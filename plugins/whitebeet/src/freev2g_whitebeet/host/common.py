"""Start-up and shutdown shared by both roles (whitebeet-hci.md 7.1) and host options."""
from __future__ import annotations

import logging

from attrs import frozen

from ..client import HciClient
from ..messages import Result

log = logging.getLogger(__name__)


@frozen(kw_only=True)
class HostOptions:
    refresh_period_s: float = 0.25  # 0x63/0x66 at least every 500 ms (5.9.3)
    ongoing_poll_s: float = 0.5  # re-ask the application while it answers Ongoing
    max_refresh_failures: int = 3
    health_every: int = 4  # V2G Get mode every N refresh periods: detects a module restart
    port_mirror: bool = False
    slac_wait_s: float = 60.0
    session_stop_wait_s: float = 10.0
    # EV role (7.5): duty polling before SLAC, wait for 0xC0, period of the 0xA3/0xA6 loop
    duty_poll_s: float = 0.1
    ev_session_setup_s: float = 60.0
    ev_loop_period_s: float = 0.25
    ev_step_timeout_s: float = 60.0  # a command's expected notification (e.g. 0xAC -> 0xC8) must come by then
    # EVSE 0x62 / 0x65 defaults (the application's answers refine them during the session)
    max_voltage_V: float = 1000.0
    max_current_A: float = 200.0
    max_power_W: float = 150_000.0
    ac_nominal_voltage_V: float = 230.0
    ac_max_current_A: float = 32.0


async def startup(client: HciClient) -> str:
    """7.1 steps 1-5. Returns the firmware version."""
    version = (await client.call("system.get_firmware_version")).version
    await client.request("slac.stop", accept=(Result.OK, Result.MODULE_SPECIFIC_10))
    await client.request("cp.stop", accept=(Result.OK, Result.UNEXPECTED))
    mode = (await client.call("v2g.get_mode")).mode
    if mode == 1:
        await client.request("v2g.evse.stop_listen")
    return version


async def shutdown(client: HciClient) -> None:
    """7.1 last row, best effort: every step is tried even if one fails."""
    steps = [
        ("v2g.get_mode", None),
        ("slac.stop", (Result.OK, Result.MODULE_SPECIFIC_10)),
        ("cp.stop", (Result.OK, Result.UNEXPECTED)),
    ]
    for name, accept in steps:
        try:
            if name == "v2g.get_mode":
                if (await client.call(name)).mode == 1:
                    await client.request("v2g.evse.stop_listen")
            else:
                await client.request(name, accept=accept)
        except Exception as exc:  # noqa: BLE001 - shutdown goes on
            log.warning("shutdown step %s failed: %s", name, exc)


async def why_failed(client: HciClient, exc: Exception, *, expected_mode: int) -> str:
    """Reason for the journal when a command fails mid-session: a module that answers in another
    V2G mode was restarted (its session is gone, 8.2: mode 2 after reset); else the HCI error."""
    try:
        mode = (await client.call("v2g.get_mode", timeout_s=1.0)).mode
    except Exception as probe:  # noqa: BLE001 - the module is not answering at all
        return f"module not answering ({exc}; V2G get mode: {probe})"
    if mode != expected_mode:
        return f"module restarted (V2G mode {mode}, expected {expected_mode}): {exc}"
    return str(exc)
