"""AuthorizationRequested: the EvseManager announces a session waiting for a decision that no
policy hook gave (presented token, eMAID, EVCCID for autocharge), and answers a backend's
remote_start / reject_authorization. Real Station + sim board; scripted HLC peer (conftest)."""
from __future__ import annotations

import pytest

from freev2g import hookimpl
from freev2g.evse.states import EvseState
from freev2g.link import (AuthorizationRequest, LinkUp, MatchingStarted, PaymentSelected, SessionEnded,
                          SessionSetup)
from freev2g.model.enums import CPState, EVSEProcessing, PaymentOption, Protocol, StopCause
from freev2g.registry import AuthorizationDecision

AC_EIM = {"charge_mode": "AC", "disable_authentication": False, "payment_enable_eim": True}
DC_EIM = {"disable_authentication": False, "payment_enable_eim": True}


def requests(h):
    return [(e.method, e.id_token, e.token_type) for e in h.events if e.kind == "AuthorizationRequested"]


async def hlc_until_authorization(h, option=PaymentOption.EXTERNAL_PAYMENT, emaid=None, polls=1):
    h.ev.plug_in()
    await h.settle(1.0)
    await h.link.send(MatchingStarted())
    await h.link.send(LinkUp(ev_mac="00:01:01:63:77:31"))
    await h.link.send(SessionSetup(protocol=Protocol.ISO15118_2, iso_session_id="0011223344556677",
                                   evcc_id="000101637731"))
    await h.link.send(PaymentSelected(option=option, emaid=emaid, selected_service_ids=(1,)))
    answers = []
    for _ in range(polls):
        answers.append(await h.link.send(AuthorizationRequest(option=option, emaid=emaid, evcc_id="000101637731")))
        await h.settle(0.5)
    return answers


def test_basic_charging_announces_then_presented_token_rejected_then_accepted(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse=AC_EIM)
        h.ev.plug_in()
        h.ev.set_cp_state(CPState.C)
        await h.settle(1.0)
        assert requests(h) == [(PaymentOption.EXTERNAL_PAYMENT, None, None)]
        await h.station.present_id_token(1, "RFID-BAD")
        assert requests(h)[-1] == (PaymentOption.EXTERNAL_PAYMENT, "RFID-BAD", "ISO14443")
        assert await h.station.reject_authorization(1, "Invalid")
        await h.settle(1.0)
        assert h.power_is_off() and h.manager.state is EvseState.WAITING_FOR_AUTH
        assert [(e.accepted, e.id_token, e.reason) for e in h.events if e.kind == "Authorized"] == [
            (False, "RFID-BAD", "Invalid")]
        await h.station.present_id_token(1, "RFID-GOOD", "ISO15693")
        assert requests(h)[-1] == (PaymentOption.EXTERNAL_PAYMENT, "RFID-GOOD", "ISO15693")
        assert await h.station.remote_start(1, "RFID-GOOD")
        await h.settle(1.0)
        assert h.bsp.contactor_closed()
        assert h.station.session(1).id_token == "RFID-GOOD"
        assert not await h.station.reject_authorization(1, "too late")  # already decided
        await h.station.stop()

    virtual_loop(scenario())


class _TokenPolicy:
    def __init__(self, known):
        self.known, self.queries = known, []

    @hookimpl
    def freev2g_authorize(self, request):
        self.queries.append(request)
        if request.id_token in self.known:
            return AuthorizationDecision(accepted=True, id_token=request.id_token, reason="local list")
        return None


def test_presented_token_goes_to_the_policy_hook_first(virtual_loop, make_harness, pm_with):
    async def scenario():
        policy = _TokenPolicy({"LOCAL-1"})
        h = await make_harness(evse=AC_EIM, pm=pm_with(("policy", policy)))
        h.ev.plug_in()
        await h.settle(1.0)
        await h.station.present_id_token(1, "UNKNOWN-7")
        await h.station.present_id_token(1, "LOCAL-1")
        await h.settle(0.5)
        assert [q.id_token for q in policy.queries] == [None, "UNKNOWN-7", "LOCAL-1"]
        # The hook decided LOCAL-1: no announcement for it.
        assert [r[1] for r in requests(h)] == [None, "UNKNOWN-7"]
        auth = [e for e in h.events if e.kind == "Authorized"]
        assert [(a.accepted, a.id_token) for a in auth] == [(True, "LOCAL-1")]
        assert h.bsp.pwm_duty_pct() > 10.0
        await h.station.stop()

    virtual_loop(scenario())


def test_token_presented_before_plug_in_identifies_the_next_session(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse=AC_EIM)
        await h.station.present_id_token(1, "EARLY-1")
        assert requests(h) == []
        h.ev.plug_in()
        await h.settle(1.0)
        assert requests(h) == [(PaymentOption.EXTERNAL_PAYMENT, "EARLY-1", "ISO14443")]
        await h.station.stop()

    virtual_loop(scenario())


def test_rejected_eim_hlc_session_ends_authorization_rejected_power_never_on(virtual_loop, make_harness):
    async def scenario():
        h = await make_harness(evse=DC_EIM)
        h.ev.plug_in()
        await h.settle(0.5)
        await h.station.present_id_token(1, "RFID-X")
        answers = await hlc_until_authorization(h, polls=2)
        assert [a.processing for a in answers] == [EVSEProcessing.ONGOING] * 2
        # Announced once although the EV asked twice.
        assert requests(h) == [(PaymentOption.EXTERNAL_PAYMENT, "RFID-X", "ISO14443")]
        assert await h.station.reject_authorization(1, "Blocked")
        answer = await h.link.send(AuthorizationRequest(option=PaymentOption.EXTERNAL_PAYMENT))
        assert answer.processing is EVSEProcessing.FINISHED and not answer.accepted
        await h.link.send(SessionEnded(cause=StopCause.EV_STOP, detail="EV gives up"))
        h.ev.unplug()
        await h.settle(1.0)
        finished = h.finished()
        assert len(finished) == 1 and finished[0].cause is StopCause.AUTHORIZATION_REJECTED
        summary = h.journal.session(finished[0].session_id)
        assert summary.stop_cause == StopCause.AUTHORIZATION_REJECTED.value
        assert not any(e.kind == "PowerDelivery" for e in h.events)
        assert not h.bsp.contactor_closed()
        await h.station.stop()

    virtual_loop(scenario())


@pytest.mark.parametrize("autocharge", [False, True])
def test_pnc_announces_emaid_and_autocharge_the_evccid(virtual_loop, make_harness, autocharge):
    async def scenario():
        if autocharge:
            h = await make_harness(evse={**DC_EIM, "enable_autocharge": True})
            await hlc_until_authorization(h, polls=3)
            assert requests(h) == [(PaymentOption.EXTERNAL_PAYMENT, "000101637731", "MacAddress")]
        else:
            h = await make_harness(evse={**DC_EIM, "payment_enable_contract": True})
            await hlc_until_authorization(h, option=PaymentOption.CONTRACT, emaid="DE8AAA1234567X", polls=3)
            assert requests(h) == [(PaymentOption.CONTRACT, "DE8AAA1234567X", "eMAID")]
        assert await h.station.remote_start(1, requests(h)[0][1])
        answer = await h.link.send(AuthorizationRequest(option=requests(h)[0][0]))
        assert answer.processing is EVSEProcessing.FINISHED and answer.accepted
        await h.station.stop()

    virtual_loop(scenario())
