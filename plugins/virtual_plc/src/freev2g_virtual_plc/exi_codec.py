"""virtual_plc messages <-> real EXI bytes (freev2g.exi), for the virtual media and the wire.

    data = encode_message("din", din.CurrentDemandReq(...))      # bytes of one EXI document
    msg = decode_message("din", data)                             # the same attrs object back
    grammar_of("iso20", iso20.DCChargeLoopReq(...))               # -> "iso20-dc"

`protocol` is "sap" (supportedAppProtocol), "din", "iso2", or for ISO 15118-20 "iso20" (encode
picks the grammar from the class: common / DC / AC) or the grammar itself ("iso20-common",
"iso20-dc", "iso20-ac"; decode needs the grammar, which the V2GTP payload type tells a wire).
The mapping per protocol lives in exi_din_iso2.py and exi_iso20.py; this module holds the
public API, the number helpers and the per-connection protocol tracking (`ExiSession`).
Errors: `ExiBridgeError` (a ValueError) naming the message and the field.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from freev2g import exi
from freev2g.model.enums import Protocol

from .messages import common

NAMESPACE_PROTOCOL = {p.namespace: p.value for p in Protocol}
NAMESPACE_PROTOCOL["urn:iso:std:iso:15118:-20:AC"] = "iso20"
NAMESPACE_PROTOCOL["urn:iso:std:iso:15118:-20:CommonMessages"] = "iso20"
PROTOCOLS = ("sap", "din", "iso2", "iso20", "iso20-common", "iso20-dc", "iso20-ac")


class ExiBridgeError(ValueError):
    """A message that has no EXI form here, or EXI that does not map into our classes."""


# --- numbers ---------------------------------------------------------------------------------

_SHORT = 32767
_ORDER = (0, 1, 2, 3, -1, -2, -3)


def scaled(x: float, *, limit: int = _SHORT, exponents: tuple[int, ...] = _ORDER) -> tuple[int, int]:
    """(value, exponent) with value * 10**exponent == x: the first exponent of 0, 1..3, -1..-3
    that gives an exact integer within +-limit; otherwise the finest exponent that fits."""
    if x != x or x in (float("inf"), float("-inf")):
        raise ExiBridgeError(f"{x!r} is not a number")
    for e in exponents:
        v = x / 10**e if e >= 0 else x * 10**-e
        r = round(v)
        if abs(v - r) <= 1e-9 * max(1.0, abs(v)) and abs(r) <= limit:
            return int(r), e
    for e in sorted(exponents):
        r = round(x / 10**e if e >= 0 else x * 10**-e)
        if abs(r) <= limit:
            return int(r), e
    raise ExiBridgeError(f"{x!r} does not fit a value of +-{limit} with exponent -3..3")


def unscaled(value: int, exponent: int) -> float:
    return float(value * 10**exponent) if exponent >= 0 else value / 10**-exponent


def pv(x: float, unit: str) -> dict[str, Any]:
    """DIN / -2 PhysicalValue (Multiplier -3..3, Unit, short Value)."""
    value, mult = scaled(float(x))
    return {"Multiplier": mult, "Unit": unit, "Value": value}


def from_pv(d: dict[str, Any]) -> float:
    return unscaled(d["Value"], d["Multiplier"])


def opt(d: dict[str, Any], key: str, conv: Callable[[Any], Any]) -> Any:
    v = d.get(key)
    return None if v is None else conv(v)


def put(d: dict[str, Any], key: str, value: Any, conv: Callable[[Any], Any] | None = None) -> None:
    if value is not None:
        d[key] = conv(value) if conv is not None else value


def session_bytes(session_id: str) -> bytes:
    try:
        return bytes.fromhex(session_id)
    except ValueError:
        raise ExiBridgeError(f"SessionID {session_id!r} is not hex") from None


def session_hex(data: bytes) -> str:
    return data.hex().upper()


def hexbin(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ExiBridgeError(f"{what} {text!r} is not hex (hexBinary)") from None


# --- supportedAppProtocol --------------------------------------------------------------------


def _sap_to(msg: Any) -> dict[str, Any]:
    if isinstance(msg, common.SupportedAppProtocolReq):
        return {"supportedAppProtocolReq": {"AppProtocol": [
            {"ProtocolNamespace": a.protocol_namespace, "VersionNumberMajor": a.version_major,
             "VersionNumberMinor": a.version_minor, "SchemaID": a.schema_id, "Priority": a.priority}
            for a in msg.app_protocols]}}
    if isinstance(msg, common.SupportedAppProtocolRes):
        body: dict[str, Any] = {"ResponseCode": msg.response_code.value}
        put(body, "SchemaID", msg.schema_id)
        return {"supportedAppProtocolRes": body}
    raise ExiBridgeError(f"{type(msg).__name__} is not a supportedAppProtocol message")


def _sap_from(doc: dict[str, Any]) -> Any:
    if "supportedAppProtocolReq" in doc:
        return common.SupportedAppProtocolReq(app_protocols=[
            common.AppProtocol(protocol_namespace=a["ProtocolNamespace"], version_major=a["VersionNumberMajor"],
                               version_minor=a["VersionNumberMinor"], schema_id=a["SchemaID"], priority=a["Priority"])
            for a in doc["supportedAppProtocolReq"]["AppProtocol"]])
    res = doc["supportedAppProtocolRes"]
    return common.SupportedAppProtocolRes(response_code=common.SapResponseCode(res["ResponseCode"]),
                                          schema_id=res.get("SchemaID"))


# --- public API ------------------------------------------------------------------------------


def _family(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ExiBridgeError(f"unknown protocol {protocol!r}; one of: {', '.join(PROTOCOLS)}")
    return "iso20" if protocol.startswith("iso20") else protocol


_GRAMMARS = {"din": ("din",), "iso2": ("iso2",), "iso20": ("iso20-common", "iso20-dc", "iso20-ac")}


def warm_up(protocols: Any) -> None:
    """Compile the EXI codec of `protocols` (Protocol values) and of supportedAppProtocol before
    a session starts: a link calls it in open(), so no protocol timer runs while it happens."""
    names = ["sap"]
    for p in protocols:
        names += _GRAMMARS.get(getattr(p, "value", p), ())
    exi.prepare(*names)


def to_document(protocol: str, msg: Any, *, timestamp: int | None = None,
                control_mode: Any = None) -> tuple[str, dict[str, Any]]:
    """(grammar, freev2g.exi message dict) of `msg` under `protocol`.

    timestamp: the -20 MessageHeader TimeStamp (s since the epoch; default: now). Our classes
    carry no TimeStamp (a gap), so the sender supplies it here. control_mode: the -20 control
    mode of a response class that does not hold it (loop / ScheduleExchange responses:
    Scheduled when None)."""
    fam = _family(protocol)
    if fam == "sap":
        return "sap", _sap_to(msg)
    if fam in ("din", "iso2"):
        from .exi_din_iso2 import to_doc

        return fam, to_doc(fam, msg)
    from .exi_iso20 import to_doc as to_doc20

    ts = int(time.time()) if timestamp is None else timestamp
    return to_doc20(msg, ts, control_mode)


def from_document(protocol: str, doc: dict[str, Any]) -> Any:
    """Our message object from a freev2g.exi message dict of `protocol` (a grammar name)."""
    fam = _family(protocol)
    try:
        if fam == "sap":
            return _sap_from(doc)
        if fam in ("din", "iso2"):
            from .exi_din_iso2 import from_doc

            return from_doc(fam, doc)
        from .exi_iso20 import from_doc as from_doc20

        return from_doc20(doc)
    except ExiBridgeError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        name = next(iter(doc), "?")
        raise ExiBridgeError(f"{protocol} {name}: cannot map into our message ({type(exc).__name__}: {exc})") from None


def grammar_of(protocol: str, msg: Any) -> str:
    """The EXI grammar `msg` is encoded with under `protocol` (e.g. "iso20" -> "iso20-dc")."""
    return to_document(protocol, msg, timestamp=0)[0]


def encode_message(protocol: str, msg: Any, *, timestamp: int | None = None, control_mode: Any = None) -> bytes:
    """One EXI document for `msg` (see the module docstring for `protocol`; `timestamp` and
    `control_mode` as in to_document)."""
    grammar, doc = to_document(protocol, msg, timestamp=timestamp, control_mode=control_mode)
    try:
        return exi.encode(grammar, doc)
    except exi.ExiEncodeError as exc:
        raise ExiBridgeError(f"{type(msg).__name__} as {grammar}: {exc}") from None


def decode_message(protocol: str, data: bytes) -> Any:
    """Our message object from one EXI document of `protocol` ("iso20-*" grammar for -20)."""
    if protocol == "iso20":
        raise ExiBridgeError("decode needs the -20 grammar: iso20-common, iso20-dc or iso20-ac")
    _family(protocol)
    return from_document(protocol, exi.decode(protocol, data))


def set_din_power_unit(unit: str) -> None:
    """Unit of the bare-short DIN PMax / ChargingProfileEntryMaxPower: "W" (default) or "kW"
    ([verify]: implementations disagree; process-wide)."""
    from .exi_din_iso2 import set_din_power_unit as _set

    _set(unit)


class ExiSession:
    """The protocol state of one V2G connection: "sap" until a supportedAppProtocolRes that
    chose a schema, then that protocol. Feed it every message sent and received (`seen`)."""

    def __init__(self) -> None:
        self.protocol = "sap"
        self.control_mode: Any = None  # -20: of the last request that names one
        self._offered: dict[int, str] = {}

    def seen(self, msg: Any) -> None:
        if isinstance(msg, common.SupportedAppProtocolReq):  # a new V2G connection starts over
            self.protocol, self.control_mode = "sap", None
            self._offered = {a.schema_id: a.protocol_namespace for a in msg.app_protocols}
        elif isinstance(msg, common.SupportedAppProtocolRes) and msg.schema_id is not None:
            ns = self._offered.get(msg.schema_id)
            if ns in NAMESPACE_PROTOCOL:
                self.protocol = NAMESPACE_PROTOCOL[ns]
        elif self.protocol == "iso20" and getattr(msg, "control_mode", None) is not None:
            self.control_mode = msg.control_mode

    def encode(self, msg: Any) -> tuple[str, bytes]:
        """(grammar, EXI bytes); the state advances past `msg`."""
        sap = isinstance(msg, (common.SupportedAppProtocolReq, common.SupportedAppProtocolRes))
        grammar, doc = to_document("sap" if sap else self.protocol, msg, control_mode=self.control_mode)
        try:
            data = exi.encode(grammar, doc)
        except exi.ExiEncodeError as exc:
            raise ExiBridgeError(f"{type(msg).__name__} as {grammar}: {exc}") from None
        self.seen(msg)
        return grammar, data

    def carry(self, msg: Any) -> tuple[str, bytes, list[str]]:
        """Encode for a medium: (grammar, EXI bytes, fields lost). The bytes are decoded again
        here; the names of the fields whose value does not survive (content our EXI mapping or
        the standard schema has no place for, e.g. SCALE needs or an opaque signature) are
        returned, so the medium can hand the peer the object itself and say so."""
        grammar, data = self.encode(msg)
        back = from_document(grammar, exi.decode(grammar, data))
        lost = [] if back == msg else lost_fields(msg, back)
        return grammar, data, lost

    def decode(self, grammar: str, data: bytes) -> Any:
        if grammar != "sap" and _family(grammar) != _family(self.protocol):
            raise ExiBridgeError(f"got {grammar} EXI while the connection speaks {self.protocol}")
        msg = from_document(grammar, exi.decode(grammar, data))
        self.seen(msg)
        return msg


def lost_fields(sent: Any, back: Any, prefix: str = "") -> list[str]:
    """Dotted names of the attrs fields of `sent` that differ in `back`."""
    import attrs

    if type(sent) is not type(back) or not attrs.has(type(sent)):
        return [prefix.rstrip(".") or type(sent).__name__]
    out: list[str] = []
    for f in attrs.fields(type(sent)):
        a, b = getattr(sent, f.name), getattr(back, f.name)
        if a != b and not _no_notification(a, b):
            out += lost_fields(a, b, f"{prefix}{f.name}.") if attrs.has(type(a)) and type(a) is type(b) else [prefix + f.name]
    return out


def _no_notification(a: Any, b: Any) -> bool:
    """-20 EVSEStatus without a notification has no EXI form (the schema's EVSENotification has
    no "None"): it travels as no element, which decodes as None - the same meaning."""
    from .messages import iso20

    def none(x: Any) -> bool:
        return x is None or (isinstance(x, iso20.EVSEStatus) and x.notification is iso20.Notification.NONE)

    return (a is None or b is None) and none(a) and none(b)
