"""TLS for the V2G connection with Python's `ssl` (charging-domain.md 2.4, 7.1).

* ISO 15118-2: TLS 1.2; cipher suites TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 and
  TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 ([V2G2-602] as public implementations cite it) on
  secp256r1 certificates; the SECC authenticates, the EVCC does not (server-only TLS).
  OpenSSL 3 has no static-ECDH suites: only ECDHE-ECDSA-AES128-SHA256 can be configured here.
* ISO 15118-20: TLS 1.3 only ([V2G20-2458] names TLS_AES_256_GCM_SHA384 and
  TLS_CHACHA20_POLY1305_SHA256 [verify]); mutual authentication (the EVCC shows its vehicle
  certificate) [verify], configurable with `mutual`. Python 3.11's ssl cannot restrict the
  TLS 1.3 suites, so OpenSSL's default list is offered (TLS_AES_256_GCM_SHA384 first).

No hostname check: the SECC is reached by its link-local address from SDP, and the V2G PKI
identifies it by the certificate chain to the V2G root, not by a name.
"""
from __future__ import annotations

import ssl
from pathlib import Path

from attrs import field, frozen

TLS12_CIPHERS = "ECDHE-ECDSA-AES128-SHA256"
TLS12_CURVE = "prime256v1"  # secp256r1


class TlsConfigError(ValueError):
    """A TLS setting or file that cannot be used; names the key and the file."""


def _version(value: str) -> str:
    if value not in ("1.2", "1.3"):
        raise TlsConfigError(f"tls version: expected '1.2' (ISO 15118-2) or '1.3' (ISO 15118-20), got {value!r}")
    return value


@frozen(kw_only=True)
class TlsConfig:
    """One side's TLS settings. SECC: cert_chain + key (its leaf and sub-CAs), and for mutual
    TLS `trust` (the root(s) of EVCC certificates). EVCC: `trust` (V2G root) and for mutual TLS
    its own cert_chain + key."""

    version: str = field(default="1.2", converter=_version)
    cert_chain: str | None = None  # PEM: leaf first, then sub-CAs
    key: str | None = None
    trust: str | None = None  # PEM file of trusted roots
    mutual: bool | None = None  # None: True for TLS 1.3 (-20), False for TLS 1.2 (-2)

    @property
    def is_mutual(self) -> bool:
        return self.mutual if self.mutual is not None else self.version == "1.3"

    def _base(self, purpose: int) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose == 0 else ssl.PROTOCOL_TLS_CLIENT)
        version = ssl.TLSVersion.TLSv1_2 if self.version == "1.2" else ssl.TLSVersion.TLSv1_3
        ctx.minimum_version = ctx.maximum_version = version
        if self.version == "1.2":
            ctx.set_ciphers(TLS12_CIPHERS)
            ctx.set_ecdh_curve(TLS12_CURVE)
        return ctx

    def _load_chain(self, ctx: ssl.SSLContext, who: str) -> None:
        if not self.cert_chain or not self.key:
            raise TlsConfigError(f"{who}: TLS needs cert_chain and key")
        for name, path in (("cert_chain", self.cert_chain), ("key", self.key)):
            if not Path(path).is_file():
                raise TlsConfigError(f"{who}: tls {name} {path!r} does not exist (run `make pki` for the test PKI)")
        try:
            ctx.load_cert_chain(self.cert_chain, self.key)
        except (ssl.SSLError, OSError) as exc:
            raise TlsConfigError(f"{who}: cannot load {self.cert_chain} / {self.key}: {exc}") from None

    def _load_trust(self, ctx: ssl.SSLContext, who: str) -> None:
        if not self.trust:
            raise TlsConfigError(f"{who}: TLS needs `trust` (a PEM file of root certificates)")
        if not Path(self.trust).is_file():
            raise TlsConfigError(f"{who}: tls trust {self.trust!r} does not exist (run `make pki` for the test PKI)")
        try:
            ctx.load_verify_locations(cafile=self.trust)
        except (ssl.SSLError, OSError) as exc:
            raise TlsConfigError(f"{who}: cannot load trust {self.trust}: {exc}") from None

    def server_context(self) -> ssl.SSLContext:
        ctx = self._base(0)
        self._load_chain(ctx, "SECC")
        if self.is_mutual:
            self._load_trust(ctx, "SECC (mutual TLS)")
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def client_context(self) -> ssl.SSLContext:
        ctx = self._base(1)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
        self._load_trust(ctx, "EVCC")
        if self.is_mutual:
            self._load_chain(ctx, "EVCC (mutual TLS)")
        return ctx
