"""Every freev2g hook, in the order a station lives through them.

Read top to bottom as a timeline: registration (once, when the plugin manager is built),
CLI assembly, station start, policy questions and session events while charging, station stop.
Hooks are cheap and synchronous: they register factories or fan out events; I/O lives in the
objects the factories return. Specs evolve by adding arguments only.

Implement a hook in your plugin module with the `freev2g.hookimpl` marker and register the
module under the `freev2g` entry-point group::

    [project.entry-points.freev2g]
    myboard = "myboard.plugin"
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("freev2g")

# ---------------------------------------------------------------------------------------------
# 1. Registration: called once per plugin manager, built-ins first, then entry points.
# ---------------------------------------------------------------------------------------------


@hookspec
def freev2g_register_boards(registry):
    """Register board drivers.

    Called once when the plugin manager is built. ``registry`` is a
    :class:`freev2g.registry.BoardRegistry`; call
    ``registry.register(kind, name, factory, description="")`` where ``kind`` is one of
    ``bsp``, ``imd``, ``power_supply``, ``connector_lock``, ``power_meter``, ``ev_board`` and
    ``factory(config: dict, context: freev2g.registry.BoardContext)`` returns an object that
    implements the matching Protocol of :mod:`freev2g.boards`. A (kind, name) pair may be
    registered once; a second registration raises ``DuplicateRegistration``. Configuration
    selects drivers by name (``[board] bsp = "sim"``). Optional ``check_options=fn``:
    ``fn(options, where)`` validates the driver's options without touching hardware and returns
    what it will declare (``PowerSupplyCapabilities``) or None; ``freev2g config check`` calls
    it. Return nothing.
    """


@hookspec
def freev2g_register_links(registry):
    """Register ISO 15118 link providers.

    ``registry`` is a :class:`freev2g.registry.LinkRegistry`; call
    ``registry.register(name, role, factory, description="")`` with ``role`` ``"evse"`` or
    ``"ev"`` and ``factory(config: dict, context: freev2g.registry.LinkContext)`` returning a
    :class:`freev2g.link.EvseLink` or :class:`freev2g.link.EvLink`. Return nothing.
    """


@hookspec
def freev2g_register_uplinks(registry):
    """Register uplinks (OCPP, OCPI, ...).

    ``registry`` is a :class:`freev2g.registry.UplinkRegistry`; call
    ``registry.register(name, factory, config_type=None, description="")`` where
    ``factory(config, station: freev2g.station.StationApi)`` returns an object with
    ``async start()`` and ``async stop()``. ``config_type`` is an attrs class that the
    ``[uplinks.<name>]`` table of the station TOML is structured into (errors name the key).
    Return nothing.
    """


# ---------------------------------------------------------------------------------------------
# 2. CLI assembly: called by make_cli(pm) after the built-in commands exist.
# ---------------------------------------------------------------------------------------------


@hookspec
def freev2g_register_commands(cli):
    """Add click commands or groups to the ``freev2g`` command line.

    ``cli`` is the root :class:`click.Group`; call ``cli.add_command(...)``. A name that is
    already taken raises ``DuplicateRegistration``. Called once per ``make_cli(pm)``; nothing
    is registered at import time. Return nothing.
    """


# ---------------------------------------------------------------------------------------------
# 3. Station lifecycle.
# ---------------------------------------------------------------------------------------------


@hookspec
def freev2g_station_started(station):
    """Called once the station (EvseManagers, boards, links, uplinks) is running.

    ``station`` is a :class:`freev2g.station.StationApi`. Use it to subscribe to events or to
    start background tasks of your own (keep the handle and cancel it in
    ``freev2g_station_stopping``). Return nothing.
    """


# ---------------------------------------------------------------------------------------------
# 4. Policy: first non-None answer wins (firstresult).
# ---------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def freev2g_authorize(request):
    """Decide whether a session may charge. First non-None answer wins.

    ``request`` is a :class:`freev2g.registry.AuthorizationQuery` (evse_index, method,
    id_token, emaid, evcc_id). Return a :class:`freev2g.registry.AuthorizationDecision` to
    decide, or ``None`` to leave it to the next plugin. With no answer at all the EvseManager
    waits for a remote start (or, with ``disable_authentication``, grants a free service).
    Must not block: answer from memory, or return ``None`` and call
    ``station.remote_start`` later.
    """


@hookspec(firstresult=True)
def freev2g_power_limit(query):
    """Cap the power offered on an EVSE. First non-None answer wins.

    ``query`` is a :class:`freev2g.registry.PowerLimitQuery` (evse_index, now, proposed_W).
    Return a limit in W (``float``) that the EvseManager applies on top of configuration and
    schedules, or ``None`` for no opinion. Called whenever limits are (re)computed.
    """


# ---------------------------------------------------------------------------------------------
# 5. Session events: fan-out to every implementation, no return value.
# ---------------------------------------------------------------------------------------------


@hookspec
def freev2g_session_event(event):
    """Observe a session event.

    ``event`` is a :class:`freev2g.model.SessionEvent` subclass (PluggedIn, SessionStarted,
    Authorized, EVNeedsReceived, ScheduleOffered, StateChanged, MeterSample, FaultRaised,
    SessionFinished, ...). Called in the event loop; must not block or raise (an exception
    is logged and the other implementations still run). Return nothing.
    """


# ---------------------------------------------------------------------------------------------
# 6. Station stop.
# ---------------------------------------------------------------------------------------------


@hookspec
def freev2g_station_stopping(station):
    """Called when the station shuts down, after power is off on every EVSE.

    Cancel what you started in ``freev2g_station_started``. Return nothing.
    """
