"""Typed registrars handed to the freev2g_register_* hooks.

Registries reject duplicate names and look drivers up by their configured name, never by
registration order. There is no module-level registry: each plugin manager builds its own.
"""
from __future__ import annotations

from typing import Any, Callable

from attrs import define, field, frozen

from .boards import BOARD_KINDS
from .model.enums import PaymentOption


class RegistryError(LookupError):
    pass


class DuplicateRegistration(RegistryError):
    pass


class UnknownDriver(RegistryError):
    pass


@frozen
class Registration:
    name: str
    factory: Callable[..., Any]
    plugin: str  # the plugin that registered it
    description: str = ""
    role: str | None = None  # links
    kind: str | None = None  # boards
    config_type: type | None = None  # uplinks
    # boards: `check_options(options, where) -> declared` validates a driver's options table
    # without touching hardware (raises freev2g.config.ConfigError or ValueError naming the key)
    # and returns what the driver will declare (e.g. PowerSupplyCapabilities) or None.
    check_options: Callable[[dict[str, Any], str], Any] | None = None


@define
class _Registry:
    what: str
    _entries: dict[tuple[str, ...], Registration] = field(factory=dict)
    current_plugin: str = "?"

    def _add(self, key: tuple[str, ...], reg: Registration) -> None:
        if not reg.name or not isinstance(reg.name, str):
            raise RegistryError(f"{self.what} name must be a non-empty string, got {reg.name!r}")
        if not callable(reg.factory):
            raise RegistryError(f"{self.what} {reg.name!r}: factory must be callable")
        if key in self._entries:
            prev = self._entries[key]
            raise DuplicateRegistration(
                f"{self.what} {'/'.join(key)} registered twice: by {prev.plugin!r} and by {reg.plugin!r}"
            )
        self._entries[key] = reg

    def _get(self, key: tuple[str, ...]) -> Registration:
        try:
            return self._entries[key]
        except KeyError:
            known = sorted("/".join(k) for k in self._entries if k[:-1] == key[:-1])
            raise UnknownDriver(
                f"no {self.what} {'/'.join(key)!r}; installed: {', '.join(known) or 'none'}"
            ) from None

    def all(self) -> list[Registration]:
        return list(self._entries.values())


class BoardRegistry(_Registry):
    def __init__(self) -> None:
        super().__init__("board driver")

    def register(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str = "",
        check_options: Callable[[dict[str, Any], str], Any] | None = None,
    ) -> None:
        """`check_options` (optional): see Registration; `freev2g config check` and every
        command that starts a station from a file call it, so a bad option fails there."""
        if kind not in BOARD_KINDS:
            raise RegistryError(f"board kind {kind!r} unknown; use one of {', '.join(BOARD_KINDS)}")
        if check_options is not None and not callable(check_options):
            raise RegistryError(f"board driver {kind}/{name}: check_options must be callable")
        self._add((kind, name), Registration(name, factory, self.current_plugin, description, kind=kind,
                                             check_options=check_options))

    def get(self, kind: str, name: str) -> Registration:
        return self._get((kind, name))


class LinkRegistry(_Registry):
    def __init__(self) -> None:
        super().__init__("link")

    def register(self, name: str, role: str, factory: Callable[..., Any], *, description: str = "") -> None:
        if role not in ("evse", "ev"):
            raise RegistryError(f"link {name!r}: role must be 'evse' or 'ev', got {role!r}")
        self._add((role, name), Registration(name, factory, self.current_plugin, description, role=role))

    def get(self, name: str, role: str) -> Registration:
        return self._get((role, name))


class UplinkRegistry(_Registry):
    def __init__(self) -> None:
        super().__init__("uplink")

    def register(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        config_type: type | None = None,
        description: str = "",
    ) -> None:
        self._add((name,), Registration(name, factory, self.current_plugin, description, config_type=config_type))

    def get(self, name: str) -> Registration:
        return self._get((name,))


@define
class BoardContext:
    """Handed to board factories. `shared` lets the drivers of one plugin share a model
    (e.g. the sim board's one electrical model behind bsp, imd, power_supply ...)."""

    clock: Any  # freev2g.clock.Clock
    station_id: str = "station"
    evse_index: int = 1
    shared: dict[str, Any] = field(factory=dict)


@define
class LinkContext:
    """Handed to link factories: the clock, the boards of this side, and shared state
    (e.g. the virtual medium both ends of an in-process simulation attach to)."""

    clock: Any
    boards: dict[str, Any] = field(factory=dict)
    shared: dict[str, Any] = field(factory=dict)
    # freev2g.v2g_traffic.TrafficLog when the EVSE's `session_logging` is on: a link hands each
    # V2G connection's bytes to `traffic.connection(...)` (None: nothing is logged).
    traffic: Any = None


@frozen(kw_only=True)
class AuthorizationQuery:
    evse_index: int
    method: PaymentOption
    id_token: str | None = None
    emaid: str | None = None
    evcc_id: str | None = None


@frozen(kw_only=True)
class AuthorizationDecision:
    accepted: bool
    id_token: str | None = None
    reason: str = ""


@frozen(kw_only=True)
class PowerLimitQuery:
    evse_index: int
    now: Any  # datetime
    proposed_W: float


@define
class Registries:
    boards: BoardRegistry = field(factory=BoardRegistry)
    links: LinkRegistry = field(factory=LinkRegistry)
    uplinks: UplinkRegistry = field(factory=UplinkRegistry)
