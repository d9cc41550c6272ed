"""OCPI HTTP client: requests in the envelope with the credentials-token header, version discovery.

transport_and_format (uplinks.md 2.1): `Authorization: Token <base64>`, a fresh `X-Request-ID`
per request (or the one given, so an outbox retry reuses it), `X-Correlation-ID` kept across hops.
version_information_endpoint (2.2): GET versions -> pick 2.2.1 -> GET its details.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
from attrs import frozen

from . import OCPI_VERSION
from .convert import InvalidObject, dump, load
from .envelope import auth_header
from .models import Credentials, Version, VersionDetails


class PeerError(Exception):
    """The peer could not be reached or answered something unusable; says which URL and why."""


@frozen
class Reply:
    http_status: int
    body: dict[str, Any] | None  # the decoded envelope, None when the body was not JSON
    text: str = ""  # the raw answer (first 2000 characters), kept with a failed push

    @property
    def status_code(self) -> int | None:
        code = (self.body or {}).get("status_code")
        return code if isinstance(code, int) and not isinstance(code, bool) else None

    @property
    def ok(self) -> bool:
        code = self.status_code
        return 200 <= self.http_status < 300 and code is not None and 1000 <= code < 2000

    @property
    def data(self) -> Any:
        return (self.body or {}).get("data")

    def describe(self) -> str:
        msg = (self.body or {}).get("status_message") or ""
        return f"HTTP {self.http_status}, OCPI status {self.status_code}: {msg}".rstrip(": ")


class OcpiClient:
    def __init__(self, *, timeout_s: float = 10.0, send_raw_tokens: bool = False):
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._raw = send_raw_tokens
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "OcpiClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        token: str | None,
        body: Any = None,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
        routing: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request; raises PeerError on transport failure (refused, reset, timeout).
        `routing`: the OCPI-from-/OCPI-to- party headers (hub_headers) to send along."""
        headers = {
            "X-Request-ID": request_id or str(uuid.uuid4()),
            "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
            **(routing or {}),
        }
        if token is not None:
            headers["Authorization"] = f"Token {token}" if self._raw else auth_header(token)
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        try:
            async with self._http().request(method, url, **kwargs) as resp:
                text = await resp.text()
                try:
                    doc = json.loads(text) if text else None
                except ValueError:
                    doc = None
                return Reply(resp.status, doc if isinstance(doc, dict) else None, text[:2000])
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise PeerError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc

    async def _get_ok(self, url: str, token: str) -> Any:
        reply = await self.request("GET", url, token)
        if not reply.ok:
            raise PeerError(f"GET {url}: {reply.describe()}")
        return reply.data

    async def discover(self, versions_url: str, token: str) -> VersionDetails:
        """GET versions, choose 2.2.1, GET its details (version_information_endpoint)."""
        data = await self._get_ok(versions_url, token)
        if not isinstance(data, list):
            raise PeerError(f"GET {versions_url}: data is not a list of versions")
        versions = []
        for item in data:
            try:
                versions.append(load(item, Version))
            except InvalidObject:
                continue
        match = next((v for v in versions if v.version == OCPI_VERSION), None)
        if match is None:
            offered = ", ".join(v.version for v in versions) or "none"
            raise UnsupportedVersion(f"{versions_url} offers no OCPI {OCPI_VERSION} (offers: {offered})")
        details = await self._get_ok(match.url, token)
        try:
            return load(details, VersionDetails)
        except InvalidObject as exc:
            raise PeerError(f"GET {match.url}: {exc}") from None

    async def send_credentials(self, method: str, url: str, token: str, creds: Credentials) -> Credentials:
        reply = await self.request(method, url, token, dump(creds))
        if not reply.ok:
            raise PeerError(f"{method} {url}: {reply.describe()}")
        try:
            return load(reply.data, Credentials)
        except InvalidObject as exc:
            raise PeerError(f"{method} {url}: {exc}") from None


class UnsupportedVersion(PeerError):
    """The peer does not offer OCPI 2.2.1 (status 3002 when we answer a registration)."""


def hub_headers(our_country_code: str, our_party_id: str, peer) -> dict[str, str]:
    """The 2.2.1 routing headers (transport_and_format, message routing): a Hub forwards a
    request by OCPI-to-*; we are the sender. The receiver is the peer's first EMSP role from
    the credentials (else its first role); without roles only the OCPI-from-* headers go."""
    headers = {"OCPI-from-country-code": our_country_code, "OCPI-from-party-id": our_party_id}
    roles = list(getattr(peer, "roles", ()) or ())
    role = next((r for r in roles if r.get("role") == "EMSP"), roles[0] if roles else None)
    if role and role.get("country_code") and role.get("party_id"):
        headers["OCPI-to-country-code"] = role["country_code"]
        headers["OCPI-to-party-id"] = role["party_id"]
    return headers
