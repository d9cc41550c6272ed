"""Locations module, CPO = Sender (mod_locations): the station as one Location, its EVSEs and
connectors, with live EVSE status pushed to every peer that offers a locations RECEIVER.

The Location comes from `[uplinks.ocpi]` (location_id, address, coordinates, time_zone, ...)
and the station's EVSEs (StationApi.evses()): EVSE uid = the EVSE id (at most 36
characters, the value Sessions and CDRs carry as evse_uid), one connector per EVSE with the
station's connector id, standard and power type from the EVSE, tariff_ids of the tariffs
configured for that EVSE, capabilities from `capabilities`.
Status: AVAILABLE without a session, CHARGING ("in use") from plug-in to unplug. Every change is PATCHed to
`{locations}/{country_code}/{party_id}/{location_id}/{evse_uid}` with status and last_updated;
the whole Location is PUT at start-up and when a peer registers.
GET: the paginated list, or one Location / EVSE / Connector by URL segments; an unknown one is
HTTP 404 with OCPI status 2003 (unknown location).
"""
from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web
from freev2g.model.enums import ChargeMode
from freev2g.model.events import SessionEvent, Unplugged

from .config import OcpiConfig
from .context import BRIDGE, paginated, reply
from .convert import dump
from .envelope import OcpiError, StatusCode
from .models_cpo import Connector, Evse, EvseStatus, GeoPoint, Location
from .tariffs import tariffs_for

log = logging.getLogger(__name__)

MODULE = "locations"
# EVerest ConnectorTypeEnum (seed 003 connector_type) -> OCPI ConnectorType
_STANDARDS = {
    "cCCS1": "IEC_62196_T1_COMBO",
    "cCCS2": "IEC_62196_T2_COMBO",
    "cType1": "IEC_62196_T1",
    "cType2": "IEC_62196_T2",
    "sType2": "IEC_62196_T2",
    "cG105": "CHADEMO",
    "cChaoJi": "CHAOJI",
    "cGBT": "GBT_DC",
}


def evse_uid(evse) -> str:
    return evse.evse_id[:36]


def _connector(cfg: OcpiConfig, evse, now: datetime) -> Connector:
    dc = evse.charge_mode is ChargeMode.DC
    standard = _STANDARDS.get(evse.connector_type) or ("IEC_62196_T2_COMBO" if dc else "IEC_62196_T2")
    tariffs = [t.id for t in tariffs_for(cfg, evse.index)]
    return Connector(
        id=str(evse.connector_id),
        standard=standard,
        format="CABLE" if dc or standard.startswith("CHA") else "SOCKET",
        power_type="DC" if dc else ("AC_1_PHASE" if evse.phases == 1 else "AC_3_PHASE"),
        max_voltage=int(round(evse.nominal_voltage_V)),
        max_amperage=int(round(evse.max_current_A)),
        max_electric_power=int(round(evse.max_power_W)),
        tariff_ids=tariffs or None,
        last_updated=now,
    )


class LocationCatalog:
    """Owns the Location record and the EVSE statuses; subscribed to the station's events."""

    def __init__(self, config: OcpiConfig, store, outbox, station):
        self.config = config
        self.store = store
        self.outbox = outbox
        self.station = station
        self._status: dict[int, EvseStatus] = {}
        self._changed: dict[int, datetime] = {}

    def status(self, evse_index: int) -> EvseStatus:
        return self._status.get(evse_index, EvseStatus.AVAILABLE)

    def location_object(self, now: datetime) -> Location:
        cfg = self.config
        evses = [
            Evse(
                uid=evse_uid(e),
                evse_id=e.evse_id,
                status=self.status(e.index),
                capabilities=list(cfg.capabilities) or None,
                connectors=[_connector(cfg, e, self._changed.get(e.index, now))],
                last_updated=self._changed.get(e.index, now),
            )
            for e in self.station.evses()
        ]
        return Location(
            country_code=cfg.country_code,
            party_id=cfg.party_id,
            id=cfg.location_id,
            publish=cfg.publish_location,
            name=cfg.location_name,
            address=cfg.address,
            city=cfg.city,
            postal_code=cfg.postal_code,
            country=cfg.country,
            coordinates=GeoPoint(latitude=cfg.latitude, longitude=cfg.longitude),
            evses=evses or None,
            time_zone=cfg.time_zone,
            last_updated=max(self._changed.values(), default=now),
        )

    def find_evse(self, uid: str):
        return next((e for e in self.station.evses() if evse_uid(e).lower() == uid.lower()), None)

    # --- lifecycle --------------------------------------------------------------------------
    def publish(self, now: datetime) -> dict:
        """Initial statuses from the station, store the Location (stamps kept when unchanged)."""
        for e in self.station.evses():
            if e.index not in self._status:
                self._status[e.index] = EvseStatus.AVAILABLE if self.station.session(e.index) is None else EvseStatus.CHARGING
        return self._store(now, keep_stamps=True)

    def _store(self, now: datetime, *, keep_stamps: bool = False) -> dict:
        doc = dump(self.location_object(now))
        if keep_stamps:
            return self.store.put_if_changed(MODULE, self.config.location_id, doc, now)
        self.store.put_record(MODULE, self.config.location_id, doc, now)
        return doc

    def push_location(self, peer_id: int | None = None) -> None:
        """PUT the whole Location to one peer (or every peer with a locations RECEIVER)."""
        doc = self.store.get_record(MODULE, self.config.location_id)
        if doc is None:
            return
        target = f"{self.config.country_code}/{self.config.party_id}/{self.config.location_id}"
        for peer in self.store.peers():
            if (peer_id is None or peer.id == peer_id) and peer.endpoint(MODULE) is not None:
                self.outbox.enqueue(peer.id, "PUT", target, doc, module=MODULE)

    # --- status -----------------------------------------------------------------------------
    def on_event(self, event: SessionEvent) -> None:
        """StationApi listener: must not raise."""
        try:
            status = EvseStatus.AVAILABLE if isinstance(event, Unplugged) else EvseStatus.CHARGING
            self.set_status(event.evse_index, status, event.timestamp)
        except Exception:  # noqa: BLE001 - the station's fan-out must go on
            log.exception("ocpi: EVSE status update failed for %s", event.kind)

    def set_status(self, evse_index: int, status: EvseStatus, now: datetime) -> None:
        before = self.status(evse_index)
        self._status[evse_index] = status
        after = self.status(evse_index)
        if after is before:
            return
        evse = next((e for e in self.station.evses() if e.index == evse_index), None)
        if evse is None:
            return
        self._changed[evse_index] = now
        self._store(now)
        log.info("ocpi: EVSE %s %s -> %s", evse_uid(evse), before.value, after.value)
        target = f"{self.config.country_code}/{self.config.party_id}/{self.config.location_id}/{evse_uid(evse)}"
        body = {"status": after.value, "last_updated": dump(now)}
        for peer in self.store.peers():
            if peer.endpoint(MODULE) is not None:
                self.outbox.enqueue(peer.id, "PATCH", target, body, module=MODULE)


# --- GET (Sender interface) ------------------------------------------------------------------


def _unknown(what: str) -> OcpiError:
    return OcpiError(404, StatusCode.UNKNOWN_LOCATION, what)


async def locations_list(request: web.Request) -> web.Response:
    return await paginated(request, MODULE)


async def location_get(request: web.Request) -> web.Response:
    bridge = request.app[BRIDGE]
    loc_id = request.match_info["location_id"]
    doc = bridge.store.get_record(MODULE, bridge.config.location_id)
    if doc is None or loc_id.lower() != bridge.config.location_id.lower():
        raise _unknown(f"unknown location {loc_id[:40]!r}")
    uid = request.match_info.get("evse_uid")
    if uid is None:
        return reply(doc)
    evse = next((e for e in doc.get("evses", []) if e["uid"].lower() == uid.lower()), None)
    if evse is None:
        raise _unknown(f"location {loc_id[:40]!r} has no EVSE {uid[:40]!r}")
    cid = request.match_info.get("connector_id")
    if cid is None:
        return reply(evse)
    conn = next((c for c in evse["connectors"] if c["id"].lower() == cid.lower()), None)
    if conn is None:
        raise _unknown(f"EVSE {uid[:40]!r} has no connector {cid[:40]!r}")
    return reply(conn)


def add_routes(app: web.Application, v: str) -> None:
    app.router.add_get(f"{v}/{MODULE}", locations_list, name=MODULE, allow_head=False)
    app.router.add_get(f"{v}/{MODULE}/{{location_id}}", location_get, name="location", allow_head=False)
    app.router.add_get(f"{v}/{MODULE}/{{location_id}}/{{evse_uid}}", location_get, name="location_evse", allow_head=False)
    app.router.add_get(f"{v}/{MODULE}/{{location_id}}/{{evse_uid}}/{{connector_id}}", location_get,
                       name="location_connector", allow_head=False)
