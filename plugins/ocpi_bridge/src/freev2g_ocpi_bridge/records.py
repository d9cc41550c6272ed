"""Session events -> OCPI Session objects and CDRs, stored and pushed (uplinks.md 2.3, 2.5).

The CPO is the Sender of Sessions: the first event of a session creates the Session (PENDING)
and PUTs it to every registered peer; authorization or the start of power makes it ACTIVE;
meter samples update `kwh` by PATCH at most every `session_update_interval_s` of station time
(and on every status change); SessionFinished completes it (PATCH with end_date_time) and
POSTs the CDR. `kwh` is the import register minus its first reading in the session, the
final figure is SessionFinished.energy_import_Wh, the value the journal stores for the session.
"""
from __future__ import annotations

import logging
from datetime import datetime

from attrs import define
from freev2g.model.enums import ChargeMode, ChargeProgress, PaymentOption
from freev2g.model.events import (
    Authorized,
    MeterSample,
    PowerDelivery,
    SessionEvent,
    SessionFinished,
    Unplugged,
)

from .config import OcpiConfig
from .convert import dump
from .models import (
    AuthMethod,
    Cdr,
    CdrDimension,
    CdrDimensionType,
    CdrLocation,
    CdrToken,
    ChargingPeriod,
    GeoLocation,
    Price,
    Session,
    SessionStatus,
    TokenType,
)
from .outbox import Outbox
from .store import Store
from .tariffs import session_cost, tariffs_for

log = logging.getLogger(__name__)


@define
class LiveSession:
    session_id: str
    evse_index: int
    start: datetime
    status: SessionStatus = SessionStatus.PENDING
    first_import_Wh: float | None = None
    kwh: float = 0.0
    id_token: str | None = None
    method: PaymentOption | None = None
    end: datetime | None = None
    last_patch_s: float | None = None


class SessionTracker:
    """Subscribed to the station's session events; owns the Session and CDR records."""

    def __init__(self, config: OcpiConfig, store: Store, outbox: Outbox, station):
        self.config = config
        self.store = store
        self.outbox = outbox
        self.station = station
        self._live: dict[str, LiveSession] = {}

    def live(self, session_id: str) -> LiveSession | None:
        """The running session with this id (None when unknown or finished)."""
        return self._live.get(session_id)

    # --- event intake -----------------------------------------------------------------------
    def on_event(self, event: SessionEvent) -> None:
        """StationApi listener: must not raise or block."""
        try:
            self._handle(event)
        except Exception:  # noqa: BLE001 - a bad event must not break the station's fan-out
            log.exception("ocpi: could not process %s for session %s", event.kind, event.session_id)

    def _handle(self, event: SessionEvent) -> None:
        if isinstance(event, Unplugged):
            return
        live = self._live.get(event.session_id)
        if live is None:
            if self.store.get_record("sessions", event.session_id) is not None:
                return  # finished already; late events change nothing
            live = LiveSession(event.session_id, event.evse_index, event.timestamp)
            self._live[event.session_id] = live
            self._save(live, event.timestamp)
            self._push_session(live, "PUT", None)
        before = live.status
        if isinstance(event, Authorized):
            live.id_token = event.id_token or live.id_token
            live.method = event.method
            if event.accepted and live.status is SessionStatus.PENDING:
                live.status = SessionStatus.ACTIVE
            self._update(live, event.timestamp, ["cdr_token", "auth_method", "status", "kwh"])
        elif isinstance(event, PowerDelivery):
            if event.progress is ChargeProgress.START and live.status is SessionStatus.PENDING:
                live.status = SessionStatus.ACTIVE
                self._update(live, event.timestamp, ["status", "kwh"])
        elif isinstance(event, MeterSample):
            if live.first_import_Wh is None:
                live.first_import_Wh = event.energy_import_Wh
            live.kwh = max(0.0, (event.energy_import_Wh - live.first_import_Wh) / 1000.0)
            if event.power_W > 0 and live.status is SessionStatus.PENDING:
                live.status = SessionStatus.ACTIVE
            now_s = self.station.clock.monotonic()
            due = live.last_patch_s is None or now_s - live.last_patch_s >= self.config.session_update_interval_s
            if due or live.status is not before:
                self._update(live, event.timestamp, ["status", "kwh"])
            else:
                self._save(live, event.timestamp)
        elif isinstance(event, SessionFinished):
            self._finish(live, event)

    # --- records ----------------------------------------------------------------------------
    def _evse(self, index: int):
        return next((e for e in self.station.evses() if e.index == index), None)

    def _token(self, live: LiveSession) -> CdrToken:
        uid = (live.id_token or "UNKNOWN")[:36]  # with Plug & Charge the id token is the EMAID
        return CdrToken(
            country_code=self.config.country_code,
            party_id=self.config.party_id,
            uid=uid,
            type=TokenType.RFID if live.method is PaymentOption.EXTERNAL_PAYMENT and live.id_token else TokenType.OTHER,
            contract_id=uid,
        )

    @staticmethod
    def _auth_method(live: LiveSession) -> AuthMethod:
        return AuthMethod.WHITELIST if live.id_token is None else AuthMethod.AUTH_REQUEST

    def _evse_uid(self, live: LiveSession) -> tuple[str, str]:
        evse = self._evse(live.evse_index)
        if evse is None:
            return f"{self.station.station_id}-{live.evse_index}"[:36], "1"
        return evse.evse_id[:36], str(evse.connector_id)

    def session_object(self, live: LiveSession, last_updated: datetime) -> Session:
        evse_uid, connector = self._evse_uid(live)
        return Session(
            country_code=self.config.country_code,
            party_id=self.config.party_id,
            id=live.session_id,
            start_date_time=live.start,
            end_date_time=live.end,
            kwh=round(live.kwh, 4),
            cdr_token=self._token(live),
            auth_method=self._auth_method(live),
            location_id=self.config.location_id,
            evse_uid=evse_uid,
            connector_id=connector,
            currency=self.config.currency,
            status=live.status,
            last_updated=last_updated,
        )

    def _save(self, live: LiveSession, ts: datetime) -> dict:
        doc = dump(self.session_object(live, ts))
        self.store.put_record("sessions", live.session_id, doc, ts)
        return doc

    def _update(self, live: LiveSession, ts: datetime, fields: list[str]) -> None:
        doc = self._save(live, ts)
        patch = {k: doc[k] for k in fields + ["end_date_time"] if k in doc}
        patch["last_updated"] = doc["last_updated"]
        live.last_patch_s = self.station.clock.monotonic()
        self._push_session(live, "PATCH", patch)

    def _push_session(self, live: LiveSession, method: str, body: dict | None) -> None:
        if body is None:
            body = self.store.get_record("sessions", live.session_id)
        target = f"{self.config.country_code}/{self.config.party_id}/{live.session_id}"
        for peer in self.store.peers():
            if peer.endpoint("sessions") is not None:
                self.outbox.enqueue(peer.id, method, target, body, module="sessions")

    def _finish(self, live: LiveSession, event: SessionFinished) -> None:
        live.end = event.timestamp
        live.status = SessionStatus.COMPLETED
        live.kwh = max(0.0, event.energy_import_Wh / 1000.0)
        self._update(live, event.timestamp, ["status", "kwh"])
        cdr = dump(self.cdr_object(live, event.timestamp))
        self.store.put_record("cdrs", cdr["id"], cdr, event.timestamp)
        for peer in self.store.peers():
            if peer.endpoint("cdrs") is not None:
                self.outbox.enqueue(peer.id, "POST", "", cdr, module="cdrs")
        self._live.pop(live.session_id, None)

    def cdr_object(self, live: LiveSession, ts: datetime) -> Cdr:
        evse = self._evse(live.evse_index)
        evse_uid, connector = self._evse_uid(live)
        dc = evse is not None and evse.charge_mode is ChargeMode.DC
        phases = evse.phases if evse is not None else 3
        end = live.end or ts
        hours = max(0.0, (end - live.start).total_seconds() / 3600.0)
        cfg = self.config
        tariff = next(iter(tariffs_for(cfg, live.evse_index)), None)
        cost = None if tariff is None else session_cost(tariff, live.kwh * 1000.0, (end - live.start).total_seconds())
        tariff_doc = None if tariff is None else self.store.get_record("tariffs", tariff.id)
        return Cdr(
            country_code=cfg.country_code,
            party_id=cfg.party_id,
            id=live.session_id,
            start_date_time=live.start,
            end_date_time=end,
            session_id=live.session_id,
            cdr_token=self._token(live),
            auth_method=self._auth_method(live),
            cdr_location=CdrLocation(
                id=cfg.location_id,
                name=cfg.location_name,
                address=cfg.address,
                city=cfg.city,
                postal_code=cfg.postal_code,
                country=cfg.country,
                coordinates=GeoLocation(latitude=cfg.latitude, longitude=cfg.longitude),
                evse_uid=evse_uid,
                evse_id=evse.evse_id if evse is not None else evse_uid,
                connector_id=connector,
                connector_standard="IEC_62196_T2_COMBO" if dc else "IEC_62196_T2",
                connector_format="CABLE" if dc else "SOCKET",
                connector_power_type="DC" if dc else ("AC_1_PHASE" if phases == 1 else "AC_3_PHASE"),
            ),
            currency=cfg.currency,
            tariffs=None if tariff_doc is None else [tariff_doc],
            charging_periods=[
                ChargingPeriod(
                    start_date_time=live.start,
                    tariff_id=None if tariff is None else tariff.id,
                    dimensions=[
                        CdrDimension(type=CdrDimensionType.ENERGY, volume=round(live.kwh, 4)),
                        CdrDimension(type=CdrDimensionType.TIME, volume=round(hours, 4)),
                    ],
                )
            ],
            total_cost=Price(excl_vat=0.0, incl_vat=0.0) if cost is None else cost["total"],
            total_fixed_cost=None if cost is None else cost["fixed"],
            total_energy=round(live.kwh, 4),
            total_energy_cost=None if cost is None else cost["energy"],
            total_time=round(hours, 4),
            total_time_cost=None if cost is None else cost["time"],
            last_updated=ts,
        )
