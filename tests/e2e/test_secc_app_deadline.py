"""SeccSession.ask (virtual_plc secc/session.py): the application's answer against its deadline.

Regression for the bench's lost sessions (issue 4): under load the deadline timer and the
application's answer land in the same event-loop turn; the timer ran first and the SECC answered
FAILED although the answer was there. Runs on virtual time: deadline 0 s makes the timer and an
answer given without suspending meet in the same turn, deterministically.
"""
from __future__ import annotations

from types import SimpleNamespace

from freev2g.clock import Clock
from freev2g.link import MatchingStarted
from freev2g_virtual_plc.medium import InProcessPipe
from freev2g_virtual_plc.options import Timeouts
from freev2g_virtual_plc.secc.session import TIMED_OUT, SeccSession


def make_session(handler) -> SeccSession:
    link = SimpleNamespace(clock=Clock(1.0), options=SimpleNamespace(timeouts=Timeouts()), offer=None, handler=handler)
    secc_end, _ev_end = InProcessPipe.pair("v2g")
    return SeccSession(link, secc_end)


def test_answer_present_when_the_deadline_fires_is_used(virtual_loop):
    async def at_once(event):
        return ("answer", event)

    async def scenario():
        session = make_session(at_once)
        event = MatchingStarted()
        return await session.ask("loop", event, 0.0), event

    answer, event = virtual_loop(scenario())
    assert answer == ("answer", event)


def test_missing_answer_is_still_late(virtual_loop):
    async def scenario():
        clock_box = {}

        async def slow(event):
            await clock_box["clock"].sleep(1.0)
            return "too late"

        session = make_session(slow)
        clock_box["clock"] = session.clock
        first = await session.ask("loop", MatchingStarted(), 0.025)
        # the call keeps running; the next ask with the same key picks it up
        second = await session.ask("loop", MatchingStarted(), 5.0)
        return first, second

    first, second = virtual_loop(scenario())
    assert first is TIMED_OUT
    assert second == "too late"
