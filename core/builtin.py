"""Hook implementations that ship with the core, registered before any entry point.

The core registers no drivers: boards and links come from plugins, by exactly the path a
third party uses. What it does provide is the session log: every session event goes to the
`freev2g.session` logger, which `-v` and `--log-format json` expose.
"""
from __future__ import annotations

import logging

import attrs
import pluggy

hookimpl = pluggy.HookimplMarker("freev2g")
session_log = logging.getLogger("freev2g.session")


@hookimpl
def freev2g_session_event(event):
    if session_log.isEnabledFor(logging.INFO):
        fields = {
            a.name: getattr(event, a.name)
            for a in attrs.fields(type(event))
            if a.name not in ("timestamp", "session_id", "evse_index")
        }
        session_log.info(
            "%s evse=%s session=%s %s",
            event.kind,
            event.evse_index,
            event.session_id,
            " ".join(f"{k}={v}" for k, v in fields.items() if v is not None),
            extra={"session_event": event.kind, "session_id": event.session_id},
        )
