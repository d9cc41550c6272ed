"""The OCPI response envelope, status codes and the credentials-token header (uplinks.md 2.1).

Every response body is `{data?, status_code, status_message?, timestamp}`. Client errors are
2xxx inside HTTP 200 when the JSON was valid and the resource exists; invalid JSON is HTTP 400;
a missing or unknown token is HTTP 401 (status_codes, transport_and_format, credentials).
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone
from enum import IntEnum
from typing import Any

from .convert import format_datetime


class StatusCode(IntEnum):
    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_OR_MISSING_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003


class OcpiError(Exception):
    """An answer other than success: HTTP status, OCPI status code and a message naming the cause."""

    def __init__(self, http_status: int, status_code: StatusCode, message: str, data: Any = None):
        self.http_status = http_status
        self.status_code = status_code
        self.message = message
        self.data = data
        super().__init__(f"HTTP {http_status} / {int(status_code)}: {message}")


def invalid(message: str, http_status: int = 200) -> OcpiError:
    return OcpiError(http_status, StatusCode.INVALID_OR_MISSING_PARAMETERS, message)


def envelope(
    data: Any = None,
    status_code: int = StatusCode.SUCCESS,
    message: str | None = None,
    *,
    now: datetime | None = None,
    include_data: bool = True,
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if include_data and data is not None:
        doc["data"] = data
    doc["status_code"] = int(status_code)
    if message:
        doc["status_message"] = message
    doc["timestamp"] = format_datetime(now or datetime.now(timezone.utc))
    return doc


def auth_header(token: str) -> str:
    """`Token <base64(utf-8(token))>` as OCPI 2.2.1 requires (transport_and_format 4.1.2)."""
    return "Token " + base64.b64encode(token.encode("utf-8")).decode("ascii")


def token_candidates(header: str | None, *, accept_raw: bool) -> list[str]:
    """The credentials tokens an Authorization header may carry, most likely first.

    The Base64 decoding is tried first; the raw value too when `accept_raw` (many 2.1.1/2.2
    peers send it unencoded, uplinks.md 2.1). Returns [] for a header that is not `Token x`.
    """
    if not header:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value or len(value) > 512:
        return []
    out: list[str] = []
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = None
    if decoded and decoded.isprintable():
        out.append(decoded)
    if accept_raw and value not in out:
        out.append(value)
    return out
