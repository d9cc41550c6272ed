"""The link seam's common parts (see link.py): the link errors with the StopCause each ends a
session with, and LinkEvent, the base of every event a link hands to the application.
"""
from __future__ import annotations

from typing import ClassVar

from attrs import frozen

from .model.enums import StopCause


J2847_V2H_SERVICE_ID = 28472  # charging-domain.md 8 (EVerest/Josev)
J2847_V2G_SERVICE_ID = 28473


class LinkError(Exception):
    """Base of link failures; carries the StopCause the session ends with."""

    cause: StopCause = StopCause.OTHER


class LinkTimeout(LinkError):
    cause = StopCause.LINK_TIMEOUT


class LinkLost(LinkError):
    cause = StopCause.LINK_LOST


class SequenceError(LinkError):
    cause = StopCause.SEQUENCE_ERROR


@frozen(kw_only=True)
class LinkEvent:
    ANSWER: ClassVar[type | None] = None
