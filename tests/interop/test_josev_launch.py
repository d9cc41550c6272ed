"""josev_launch.scaled_asyncio: the wait_for handed to Josev's comm_session multiplies the
timeout (a real asyncio sleep against a real timer; nothing faked)."""
from __future__ import annotations

import asyncio

import pytest

from josev_launch import scaled_asyncio

pytestmark = pytest.mark.interop


def test_scaled_wait_for_lets_a_late_answer_in():
    assert asyncio.run(scaled_asyncio(20).wait_for(asyncio.sleep(0.1, result="late"), 0.05)) == "late"


def test_unscaled_wait_for_still_times_out():
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(scaled_asyncio(1).wait_for(asyncio.sleep(1.0), 0.05))


def test_the_rest_of_asyncio_is_untouched():
    proxy = scaled_asyncio(4)
    assert proxy.sleep is asyncio.sleep and proxy.TimeoutError is asyncio.TimeoutError
    assert proxy.wait_for is not asyncio.wait_for
