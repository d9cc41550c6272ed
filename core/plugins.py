"""The plugin manager factory: built-ins first, then entry points of group `freev2g`.

Each entry point is loaded in isolation: one that fails to import, fails validation against
the hookspecs, or raises while registering is recorded as broken with its error, and the
others still load. Nothing loads at import time.

Environment switches:
  FREEV2G_DISABLE_PLUGIN_AUTOLOAD=1   load no entry points (built-ins only)
  FREEV2G_BLOCK_PLUGINS=a,b           skip the named entry points
"""
from __future__ import annotations

import logging
import os
import traceback
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Iterable

import pluggy
from attrs import define, field

from . import hookspecs
from .registry import Registries, RegistryError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "freev2g"
BUILTIN_PLUGINS: tuple[str, ...] = ("freev2g.builtin",)
ENV_DISABLE_AUTOLOAD = "FREEV2G_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "FREEV2G_BLOCK_PLUGINS"


@define
class PluginInfo:
    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False


@define
class BrokenPlugin:
    name: str
    distribution: str | None
    stage: str  # "load" | "validate" | "register"
    error: str
    trace: str = ""


@define
class FreeV2GPluginManager:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo] = field(factory=dict)
    broken: list[BrokenPlugin] = field(factory=list)
    blocked: tuple[str, ...] = ()
    _registries: Registries | None = None

    @property
    def hook(self):
        return self.pm.hook

    def registries(self) -> Registries:
        """Run the registration hooks once, plugin by plugin, and keep the result."""
        if self._registries is None:
            regs = Registries()
            self._run_registration("freev2g_register_boards", regs.boards)
            self._run_registration("freev2g_register_links", regs.links)
            self._run_registration("freev2g_register_uplinks", regs.uplinks)
            self._registries = regs
        return self._registries

    def _run_registration(self, hook_name: str, registry) -> None:
        caller = getattr(self.pm.hook, hook_name)
        # get_hookimpls() lists in registration order: built-ins first, then entry points.
        for impl in caller.get_hookimpls():
            registry.current_plugin = impl.plugin_name
            try:
                impl.function(registry=registry)
            except Exception as exc:  # noqa: BLE001 - isolate a broken plugin
                self._mark_broken(impl.plugin_name, "register", exc)
            finally:
                registry.current_plugin = "?"

    def call_each(self, hook_name: str, **kwargs: Any) -> None:
        """Fan out to every implementation; a raising one is logged and the rest still run."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**kwargs)
            except Exception:  # noqa: BLE001
                log.exception("plugin %s failed in %s", impl.plugin_name, hook_name)

    def _mark_broken(self, name: str, stage: str, exc: BaseException) -> None:
        info = self.infos.get(name)
        self.broken.append(
            BrokenPlugin(
                name=name,
                distribution=info.distribution if info else None,
                stage=stage,
                error=f"{type(exc).__name__}: {exc}",
                trace="".join(traceback.format_exception(exc)),
            )
        )
        log.warning("plugin %s is broken (%s): %s", name, stage, exc)
        if stage == "register" and self.pm.get_plugin(name) is not None:
            # Keep it out of later hooks too; what it registered before raising stays recorded.
            self.pm.unregister(name=name)

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]


def _select_entry_points(group: str) -> Iterable[EntryPoint]:
    return entry_points(group=group)


def get_plugin_manager(
    *,
    autoload: bool | None = None,
    blocked: Iterable[str] | None = None,
    extra_plugins: Iterable[tuple[str, object]] = (),
    entry_point_source: Callable[[str], Iterable[EntryPoint]] = _select_entry_points,
) -> FreeV2GPluginManager:
    """Build a plugin manager: built-ins, then `extra_plugins` (tests), then entry points."""
    if autoload is None:
        autoload = os.environ.get(ENV_DISABLE_AUTOLOAD, "").strip().lower() not in ("1", "true", "yes")
    if blocked is None:
        blocked = [b.strip() for b in os.environ.get(ENV_BLOCK, "").split(",") if b.strip()]
    pm = pluggy.PluginManager("freev2g")
    pm.add_hookspecs(hookspecs)
    fpm = FreeV2GPluginManager(pm=pm, blocked=tuple(blocked))

    from . import __version__

    for modname in BUILTIN_PLUGINS:
        module = import_module(modname)
        pm.register(module, name=modname)
        fpm.infos[modname] = PluginInfo(modname, modname, "freev2g", __version__, builtin=True)

    for name, obj in extra_plugins:
        _register_isolated(fpm, name, lambda obj=obj: obj, None, None, getattr(obj, "__name__", name))

    if autoload:
        seen: set[str] = set()
        for ep in entry_point_source(ENTRY_POINT_GROUP):
            if ep.name in seen:
                continue
            seen.add(ep.name)
            if ep.name in fpm.blocked:
                log.info("plugin %s blocked by %s", ep.name, ENV_BLOCK)
                continue
            dist = getattr(ep, "dist", None)
            _register_isolated(
                fpm,
                ep.name,
                ep.load,
                dist.metadata["Name"] if dist else None,
                dist.version if dist else None,
                ep.value,
            )
    return fpm


def _register_isolated(fpm, name, load, dist_name, version, module_name) -> None:
    fpm.infos[name] = PluginInfo(name, module_name, dist_name, version)
    try:
        plugin = load()
    except Exception as exc:  # noqa: BLE001
        fpm._mark_broken(name, "load", exc)
        return
    try:
        fpm.pm.register(plugin, name=name)
    except Exception as exc:  # noqa: BLE001 - pluggy.PluginValidationError and friends
        fpm._mark_broken(name, "validate", exc)
        return
    try:
        fpm.pm.check_pending()
    except pluggy.PluginValidationError as exc:
        fpm.pm.unregister(name=name)
        fpm._mark_broken(name, "validate", exc)


__all__ = [
    "BrokenPlugin",
    "FreeV2GPluginManager",
    "PluginInfo",
    "RegistryError",
    "get_plugin_manager",
]
