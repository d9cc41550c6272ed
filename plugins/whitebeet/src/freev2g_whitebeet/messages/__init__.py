"""Every HCI message of whitebeet-hci.md sections 2.9, 3 and 5, both roles, as field tables."""
from __future__ import annotations

from functools import lru_cache

from .basic import basic_specs
from .dialect import DEFAULT_DIALECT, Dialect
from .pilot import pilot_specs
from .spec import (
    NOTIFICATION_REQUEST_ID,
    Catalogue,
    Kind,
    MessageSpec,
    Module,
    Response,
    Result,
    UnknownMessageError,
    module_label,
)
from .v2g_ev import ev_specs
from .v2g_evse import evse_specs


@lru_cache(maxsize=16)
def catalogue(dialect: Dialect = DEFAULT_DIALECT) -> Catalogue:
    """The message catalogue for a dialect (cached; catalogues are immutable)."""
    return Catalogue(basic_specs() + pilot_specs(dialect) + evse_specs(dialect) + ev_specs())


__all__ = [
    "Catalogue",
    "DEFAULT_DIALECT",
    "Dialect",
    "Kind",
    "MessageSpec",
    "Module",
    "NOTIFICATION_REQUEST_ID",
    "Response",
    "Result",
    "UnknownMessageError",
    "catalogue",
    "module_label",
]
