"""`[uplinks.ocpp]` of the station TOML, structured by freev2g.config into OcppConfig."""
from __future__ import annotations

from urllib.parse import urlsplit

from attrs import define, field

VERSIONS = ("1.6", "2.0.1", "2.1")
SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}


class OcppConfigError(ValueError):
    """An [uplinks.ocpp] setting that cannot work; the message names the key."""


def _one_of(*choices):
    def check(instance, attribute, value):
        if value not in choices:
            raise OcppConfigError(f"{attribute.name} must be one of {', '.join(map(str, choices))}; got {value!r}")

    return check


def _positive(instance, attribute, value):
    if value is not None and not value > 0:
        raise OcppConfigError(f"{attribute.name} must be > 0, got {value!r}")


@define(kw_only=True)
class OcppConfig:
    """OCPP uplink settings.

    security_profile: 0 = none (test benches only), 1 = HTTP Basic auth over ws://,
    2 = TLS (wss://) with server certificate verification against `ca_file` plus Basic auth.
    The Basic auth user name is the station id (OCPP 2.0.1 Part 2 A00 security profiles).
    """

    url: str
    station_id: str | None = None  # default: [station].id
    version: str = field(default="2.0.1", validator=_one_of(*VERSIONS))
    security_profile: int = field(default=0, validator=_one_of(0, 1, 2))
    password: str | None = None
    ca_file: str | None = None
    heartbeat_s: int = field(default=300, validator=_positive)
    meter_interval_s: int = field(default=60, validator=_positive)
    queue_path: str = "freev2g-ocpp-queue.sqlite"
    vendor_id: str = "eu.scale-project"
    append_station_id: bool = True  # connect to <url>/<station_id>, as OCPP prescribes
    response_timeout_s: float = field(default=30.0, validator=_positive)
    reconnect_min_s: float = field(default=1.0, validator=_positive)
    reconnect_max_s: float = field(default=60.0, validator=_positive)
    free_id_token: str = "freev2g-free"  # idTag when a session has no token (1.6 needs one)
    scale_data: bool = True  # send SCALE customData / DataTransfer
    end_orphan_transactions: bool = True  # end transactions left open by a crash at start
    authorize_timeout_s: float = field(default=20.0, validator=_positive)  # < 50 s EVSE authorization timeout
    offline_authorization: str = field(default="reject", validator=_one_of("reject", "accept"))
    # Wall-clock bound on sending what is queued (Ended, the last StatusNotification) before
    # stop() or a Reset closes the connection; a warning says when it gives up.
    stop_drain_s: float = field(default=10.0, validator=_positive)

    def __attrs_post_init__(self):
        parts = urlsplit(self.url)
        scheme = parts.scheme
        if scheme not in ("ws", "wss"):
            raise OcppConfigError(f"url must start with ws:// or wss://, got {self.url!r}")
        try:
            parts.port  # noqa: B018 - urllib checks the range (0-65535) and the digits here
        except ValueError:
            raise OcppConfigError(f"url {self.url!r}: the port must be a number from 0 to 65535") from None
        if not parts.hostname:
            raise OcppConfigError(f"url {self.url!r} names no host")
        if self.security_profile >= 1 and not self.password:
            raise OcppConfigError(f"password is required for security_profile {self.security_profile}")
        if self.security_profile == 2 and scheme != "wss":
            raise OcppConfigError(f"security_profile 2 needs a wss:// url, got {self.url!r}")
        if self.security_profile < 2 and scheme == "wss" and not self.ca_file:
            # TLS without profile 2 still verifies against the system store.
            pass
        if len(self.vendor_id) > 255:
            raise OcppConfigError("vendor_id must be at most 255 characters (CustomDataType.vendorId)")

    @property
    def subprotocol(self) -> str:
        return SUBPROTOCOLS[self.version]
