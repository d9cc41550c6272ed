"""Authorization: free service, EIM, contract (PnC) and remote start (ARCHITECTURE.md, policy hooks).

The decision comes from, in order: `disable_authentication` (free service), a pending remote
start, the `freev2g_authorize` policy hook (first non-None answer wins). With no answer the
session waits (the link is answered Ongoing) until `remote_start` or the timeout.
"""
from __future__ import annotations

import logging
from typing import Any

from ..config import EvseManagerConfig
from ..model.enums import PaymentOption
from ..registry import AuthorizationDecision, AuthorizationQuery

log = logging.getLogger(__name__)


class Authorizer:
    def __init__(self, config: EvseManagerConfig, *, pm: Any = None, evse_index: int = 1):
        self.config = config
        self.pm = pm
        self.evse_index = evse_index
        self._remote: AuthorizationDecision | None = None

    def method_allowed(self, method: PaymentOption) -> bool:
        """payment_enable_eim / payment_enable_contract."""
        if method is PaymentOption.CONTRACT:
            return self.config.payment_enable_contract
        return self.config.payment_enable_eim or self.config.disable_authentication

    def decide(
        self,
        method: PaymentOption,
        *,
        id_token: str | None = None,
        emaid: str | None = None,
        evcc_id: str | None = None,
    ) -> AuthorizationDecision | None:
        """A decision now, or None to wait."""
        if self.config.disable_authentication:
            return AuthorizationDecision(accepted=True, id_token=id_token, reason="free service")
        if not self.method_allowed(method):
            return AuthorizationDecision(accepted=False, reason=f"payment option {method.value} disabled")
        if self._remote is not None:
            decision, self._remote = self._remote, None
            return decision
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

    def remote_start(self, id_token: str) -> AuthorizationDecision:
        """Remember a remote start for the next session (consumed by the next decide())."""
        self._remote = AuthorizationDecision(accepted=True, id_token=id_token, reason="remote start")
        return self._remote

    def take_remote(self) -> AuthorizationDecision | None:
        decision, self._remote = self._remote, None
        return decision

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
