"""V2G session logging: every message on a V2G connection, as the EvseManager keys ask.

`session_logging` (seed 003) turns it on for an EVSE. Each V2GTP message the link sends or
receives is then kept in the journal (table v2g_messages: session id, time, direction, payload
type, grammar, message name, EXI as hex, the decoded form with the XSD element names, and with
`session_logging_xml` its XML rendering) and written to a pcap per connection under
`session_logging_path` (core/pcap.py: Wireshark opens it; SDP, then the TCP stream).

A link hands each V2G connection's bytes to a `ConnectionTap` (`TrafficLog.connection`); any
medium that carries real bytes has a `tap` attribute for it (freev2g_v2g_wire's WireMedium,
freev2g_virtual_plc's in-process pipe with EXI). The tap never raises into the link: a message
it cannot decode is kept with the error, a write that fails is logged once and charging goes on.

Which grammar a 0x8001 payload is: supportedAppProtocol until the handshake's response, then
the namespace of the SchemaID it chose (DIN 70121 or ISO 15118-2); -20 uses its own types.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Callable
from xml.sax.saxutils import escape

from .journal import V2gMessageRow
from .pcap import Endpoint, V2gPcap

log = logging.getLogger(__name__)

EV_TO_EVSE, EVSE_TO_EV = "ev->evse", "evse->ev"
# Placeholders where the medium has no real addresses (the in-process simulation).
SIM_EV = Endpoint("02:00:00:00:00:01", "fe80::ff:fe00:1", 50000)
SIM_EVSE = Endpoint("02:00:00:00:00:02", "fe80::ff:fe00:2", 61851)
_NAMESPACES = {"urn:din:70121:2012:MsgDef": "din", "urn:iso:15118:2:2013:MsgDef": "iso2"}


def message_name(decoded: dict[str, Any]) -> str:
    """The message element: Body's child for DIN/-2, else the document element (SAP, -20)."""
    root, value = next(iter(decoded.items()))
    if root == "V2G_Message" and isinstance(value, dict):
        body = value.get("Body") or {}
        return next(iter(body), "Body") if isinstance(body, dict) else "Body"
    return root


def to_xml(decoded: dict[str, Any]) -> str:
    """The decoded form as XML (element names as decoded, no namespaces), one line."""
    def emit(name: str, value: Any) -> str:
        if isinstance(value, list):
            return "".join(emit(name, v) for v in value)
        if isinstance(value, dict):
            return f"<{name}>" + "".join(emit(k, v) for k, v in value.items()) + f"</{name}>"
        text = "true" if value is True else "false" if value is False else str(value)
        return f"<{name}>{escape(text)}</{name}>"

    return "".join(emit(k, v) for k, v in decoded.items())


class ConnectionTap:
    """One V2G connection's messages: call it with (outgoing, payload_type, payload)."""

    def __init__(self, log_: TrafficLog, *, role: str, ev: Endpoint, evse: Endpoint, tls: bool) -> None:
        self.log, self.role = log_, role
        self.grammar_8001 = "sap"
        self._offered: dict[int, str] = {}
        self.count = 0
        self.pcap: V2gPcap | None = None
        self.pcap_path: str | None = None
        self._file = None
        if log_.path:
            self._open_pcap(ev, evse, tls)

    def _open_pcap(self, ev: Endpoint, evse: Endpoint, tls: bool) -> None:
        when = self.log.clock.now()
        sid = re.sub(r"[^A-Za-z0-9_.-]", "_", self.log.session_id() or "nosession")
        name = f"freev2g-evse{self.log.evse_index}-{when:%Y%m%d-%H%M%S}-{sid}.pcap"
        path = os.path.join(self.log.path, name)
        try:
            os.makedirs(self.log.path, exist_ok=True)
            self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
            self.pcap = V2gPcap(self._file, ev=ev, evse=evse, tls=tls, when=when)
            self.pcap_path = path
            log.info("session log: V2G traffic of EVSE %s to %s", self.log.evse_index, path)
        except OSError as exc:
            self.log.warn_once(f"session_logging_path {self.log.path!r}: cannot write the pcap ({exc}); "
                               "the journal still gets every message")
            self.pcap = None

    def _grammar(self, payload_type: int) -> str | None:
        if payload_type == 0x8001:
            return self.grammar_8001
        from .exi import PAYLOAD_TYPES

        return next((g for g, t in PAYLOAD_TYPES.items() if t == payload_type and t != 0x8001), None)

    def _follow_handshake(self, decoded: dict[str, Any]) -> None:
        req = decoded.get("supportedAppProtocolReq")
        if isinstance(req, dict):
            apps = req.get("AppProtocol") or []
            for app in apps if isinstance(apps, list) else [apps]:
                self._offered[app.get("SchemaID")] = app.get("ProtocolNamespace", "")
        res = decoded.get("supportedAppProtocolRes")
        if isinstance(res, dict) and "SchemaID" in res:
            chosen = _NAMESPACES.get(self._offered.get(res["SchemaID"], ""))
            if chosen:
                self.grammar_8001 = chosen

    def __call__(self, outgoing: bool, payload_type: int, payload: bytes) -> None:
        try:
            self._record(outgoing, payload_type, bytes(payload))
        except Exception as exc:  # noqa: BLE001 - the log must never stop a session
            self.log.warn_once(f"session log failed on a message ({type(exc).__name__}: {exc})")

    def _record(self, outgoing: bool, payload_type: int, payload: bytes) -> None:
        from . import exi

        from_ev = outgoing == (self.role == "ev")
        when = self.log.clock.now()
        grammar = self._grammar(payload_type)
        decoded = name = error = xml = None
        if grammar is None:
            error = f"payload type {payload_type:#06x} carries no EXI grammar"
        else:
            try:
                decoded = exi.to_json(grammar, exi.decode(grammar, payload))
            except exi.ExiError as exc:
                error = str(exc)
        if decoded is not None:
            name = message_name(decoded)
            if grammar == "sap":
                self._follow_handshake(decoded)
            xml = to_xml(decoded) if self.log.xml else None
        self.count += 1
        if self.log.journal is not None:
            self.log.journal.record_v2g(V2gMessageRow(
                self.log.session_id(), self.log.evse_index, when, EV_TO_EVSE if from_ev else EVSE_TO_EV,
                payload_type, grammar, name, payload.hex().upper(), decoded, xml, error))
        if self.pcap is not None:
            self.pcap.message(when, from_ev=from_ev, payload_type=payload_type, payload=payload)

    def close(self) -> None:
        if self.pcap is not None:
            try:
                self.pcap.close(self.log.clock.now())
            except OSError as exc:
                self.log.warn_once(f"session log: closing {self.pcap_path}: {exc}")
            self.pcap = None
        if self._file is not None:
            self._file.close()
            self._file = None


class TrafficLog:
    """Per EVSE: `connection(...)` for each V2G connection of its link."""

    def __init__(self, *, journal: Any, session_id: Callable[[], str], clock: Any, evse_index: int = 1,
                 path: str | None = None, xml: bool = True) -> None:
        self.journal, self.session_id, self.clock = journal, session_id, clock
        self.evse_index, self.path, self.xml = evse_index, path, xml
        self.taps: list[ConnectionTap] = []
        self._warned: set[str] = set()

    def connection(self, *, role: str = "evse", ev: Endpoint | None = None, evse: Endpoint | None = None,
                   tls: bool = False) -> ConnectionTap:
        tap = ConnectionTap(self, role=role, ev=ev or SIM_EV, evse=evse or SIM_EVSE, tls=tls)
        self.taps.append(tap)
        return tap

    def warn_once(self, text: str) -> None:
        if text not in self._warned:
            self._warned.add(text)
            log.warning("%s", text)


def endpoints_of(sockname: Any, peername: Any, *, role: str, mac: str | None = None) -> tuple[Endpoint, Endpoint]:
    """(ev, evse) Endpoints from a socket's own and peer address (IPv6 tuples)."""
    mine = Endpoint(mac or (SIM_EVSE.mac if role == "evse" else SIM_EV.mac), str(sockname[0]), int(sockname[1]))
    other_mac = SIM_EV.mac if role == "evse" else SIM_EVSE.mac
    theirs = Endpoint(other_mac, str(peername[0]), int(peername[1]))
    return (theirs, mine) if role == "evse" else (mine, theirs)
