"""The whitebeet bsp keeps the board contract: whatever fails below it (HCI errors, OSError from
the socket, a bad value) leaves as a declared board error, so the EvseManager's safe-stop path
sees a DeviceFault when the contactor cannot be opened (safety review, finding B)."""
from __future__ import annotations

import asyncio

import pytest

from freev2g.boards import CommunicationFault, DeviceFault
from freev2g_whitebeet.host.control_pilot import WhitebeetControlPilot


class DeadConnection:
    """A module connection whose transport is gone (the interface went down)."""

    async def ready(self):
        raise OSError(100, "Network is down")


@pytest.fixture
def pilot():
    return WhitebeetControlPilot(DeadConnection(), contactor_gpio=20)


def test_opening_the_contactor_over_a_dead_link_is_a_device_fault(pilot):
    with pytest.raises(DeviceFault, match="could not be opened: OSError"):
        asyncio.run(pilot.allow_power_on(False))


def test_closing_or_setting_duty_over_a_dead_link_is_a_communication_fault(pilot):
    with pytest.raises(CommunicationFault, match="OSError"):
        asyncio.run(pilot.allow_power_on(True))
    with pytest.raises(CommunicationFault, match="Network is down"):
        asyncio.run(pilot.set_pwm_off())
    assert pilot.contactor_closed() is False and pilot.pwm_duty_pct() == 100.0
