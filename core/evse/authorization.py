"""Authorization: free service, EIM, contract (PnC) and remote start (ARCHITECTURE.md, policy hooks).

The decision comes from, in order: `disable_authentication` (free service), a pending remote
start, the `freev2g_authorize` policy hook (first non-None answer wins). With no answer the
session waits (the link is answered Ongoing) and the EvseManager emits `AuthorizationRequested`
so that an uplink can ask its backend (OCPP Authorize) and answer with `remote_start` or
`reject_authorization`, until the timeout.

What identifies the user in that announcement (uplinks.md 1, OCPP 2.0.1 IdTokenEnumType):
a token presented locally (`present_id_token`, RFID "ISO14443" or what the reader says), else
the eMAID for Plug & Charge ("eMAID"), else the EVCCID when `enable_autocharge` is on
("MacAddress"), else none (the uplink then waits for a remote start from its backend).
"""
from __future__ import annotations

import logging
from typing import Any

from ..config import EvseManagerConfig
from ..model import events as ev
from ..model.enums import PaymentOption
from ..registry import AuthorizationDecision, AuthorizationQuery

log = logging.getLogger(__name__)

PRESENTED_KEY = "presented_id_token"  # SessionContext.extra: (token, type) presented in this session


class Authorizer:
    def __init__(self, config: EvseManagerConfig, *, pm: Any = None, evse_index: int = 1, manager: Any = None):
        self.config = config
        self.pm = pm
        self.evse_index = evse_index
        self.manager = manager  # the EvseManager (session, emit); bound by RemoteControl.auth
        self._remote: AuthorizationDecision | None = None
        self._presented: tuple[str, str] | None = None  # presented with no session waiting: for the next
        self._announced: set[tuple[str, str | None]] = set()  # (session id, token) already announced

    def bind(self, manager: Any) -> None:
        self.manager = manager

    def method_allowed(self, method: PaymentOption) -> bool:
        """payment_enable_eim / payment_enable_contract."""
        if method is PaymentOption.CONTRACT:
            return self.config.payment_enable_contract
        return self.config.payment_enable_eim or self.config.disable_authentication

    # ------------------------------------------------------------------ decisions

    def decide(
        self,
        method: PaymentOption,
        *,
        id_token: str | None = None,
        emaid: str | None = None,
        evcc_id: str | None = None,
        token_type: str | None = None,
        announce_again: bool = False,
    ) -> AuthorizationDecision | None:
        """A decision now, or None to wait (after announcing AuthorizationRequested once per
        session and token; `announce_again` for a token the user presented again)."""
        if self.config.disable_authentication:
            return AuthorizationDecision(accepted=True, id_token=id_token, reason="free service")
        if not self.method_allowed(method):
            return AuthorizationDecision(accepted=False, reason=f"payment option {method.value} disabled")
        if self._remote is not None:
            decision, self._remote = self._remote, None
            return decision
        token, kind = self.identity(method, id_token=id_token, emaid=emaid, evcc_id=evcc_id, token_type=token_type)
        answer = self._ask_policy(method, id_token=token, emaid=emaid, evcc_id=evcc_id)
        if answer is None:
            self._announce(method, token, kind, again=announce_again)
        return answer

    def identity(self, method: PaymentOption, *, id_token: str | None = None, emaid: str | None = None,
                 evcc_id: str | None = None, token_type: str | None = None) -> tuple[str | None, str | None]:
        """(token, OCPP IdTokenEnumType) that identifies the user of the waiting session."""
        if method is PaymentOption.CONTRACT and (emaid or id_token):
            return emaid or id_token, "eMAID"
        if id_token is not None:
            return id_token, token_type or "ISO14443"
        presented = self._session_presented()
        if presented is not None:
            return presented
        if self.config.enable_autocharge and evcc_id:
            return evcc_id, "MacAddress"
        return None, None

    def _session_presented(self) -> tuple[str, str] | None:
        s = getattr(self.manager, "session", None)
        if s is not None and PRESENTED_KEY in s.extra:
            return s.extra[PRESENTED_KEY]
        if s is not None and self._presented is not None:
            # Presented before plug-in: it belongs to this (the next) session.
            s.extra[PRESENTED_KEY], self._presented = self._presented, None
            return s.extra[PRESENTED_KEY]
        return None

    def _ask_policy(self, method: PaymentOption, *, id_token: str | None, emaid: str | None,
                    evcc_id: str | None) -> AuthorizationDecision | None:
        if self.pm is None:
            return None
        query = AuthorizationQuery(
            evse_index=self.evse_index, method=method, id_token=id_token, emaid=emaid, evcc_id=evcc_id
        )
        try:
            answer = self.pm.hook.freev2g_authorize(request=query)
        except Exception:  # noqa: BLE001 - a broken policy plugin must not crash the EVSE
            log.exception("freev2g_authorize hook failed; waiting for another decision")
            return None
        if answer is not None and not isinstance(answer, AuthorizationDecision):
            log.error("freev2g_authorize returned %r, expected AuthorizationDecision; ignored", answer)
            return None
        return answer

    def _announce(self, method: PaymentOption, token: str | None, kind: str | None, *, again: bool) -> None:
        m = self.manager
        s = getattr(m, "session", None)
        if m is None or s is None or s.finished:
            return
        key = (s.session_id, token)
        if key in self._announced and not again:
            return
        self._announced = {k for k in self._announced if k[0] == s.session_id} | {key}
        m.emit(ev.AuthorizationRequested, method=method, id_token=token, token_type=kind)

    # ------------------------------------------------------------------ tokens from outside

    def present(self, id_token: str, token_type: str) -> None:
        """A token presented with no session waiting: it identifies the next session."""
        self._presented = (id_token, token_type)

    def remote_start(self, id_token: str) -> AuthorizationDecision:
        """Remember a remote start for the next session (consumed by the next decide())."""
        self._remote = AuthorizationDecision(accepted=True, id_token=id_token, reason="remote start")
        return self._remote

    def take_remote(self) -> AuthorizationDecision | None:
        decision, self._remote = self._remote, None
        return decision

    def forget_pending(self) -> bool:
        """Drop a remote start or presented token waiting for the next session; True if any."""
        had = self._remote is not None or self._presented is not None
        self._remote = self._presented = None
        return had

    # ------------------------------------------------------------------ power

    def power_limit_W(self, now: Any, proposed_W: float) -> float:
        """Apply the freev2g_power_limit policy hook on top of configuration and schedules."""
        if self.pm is None:
            return proposed_W
        from ..registry import PowerLimitQuery

        try:
            answer = self.pm.hook.freev2g_power_limit(
                query=PowerLimitQuery(evse_index=self.evse_index, now=now, proposed_W=proposed_W)
            )
        except Exception:  # noqa: BLE001
            log.exception("freev2g_power_limit hook failed; keeping %s W", proposed_W)
            return proposed_W
        if answer is None:
            return proposed_W
        try:
            return max(0.0, min(proposed_W, float(answer)))
        except (TypeError, ValueError):
            log.error("freev2g_power_limit returned %r, expected a number of W; ignored", answer)
            return proposed_W
