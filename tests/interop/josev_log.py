"""Parse the EXI messages out of a Josev (iso15118 0.31.1) log.

Josev logs through its logging.conf format ``LEVEL    yyyy-mm-dd hh:mm:ss,mmm - logger (line): text``.
With LOG_LEVEL=DEBUG, MESSAGE_LOG_EXI=True and MESSAGE_LOG_JSON=True its codec wrapper
(logger ``iso15118.shared.exi_codec``) writes, per message:
  sent:     "Message to encode (ns=NS): JSON"      then "EXI-encoded message: HEX"
  received: "EXI-encoded message (ns=NS): HEX"     then "Decoded message (ns=NS): JSON"
NS is printed as ``Namespace.<member>`` (or as the URN itself). Sent JSON is Josev's pydantic
model as it handed it to the encoder; received JSON is what its Java decoder produced.
"""
from __future__ import annotations

import json
import re
from typing import Any

import attrs

# Josev's Namespace enum members -> URN (iso15118.shared.messages.enums.Namespace).
NAMESPACE_MEMBERS = {
    "SAP": "urn:iso:15118:2:2010:AppProtocol",
    "DIN_MSG_DEF": "urn:din:70121:2012:MsgDef",
    "ISO_V2_MSG_DEF": "urn:iso:15118:2:2013:MsgDef",
    "ISO_V20_COMMON_MSG": "urn:iso:std:iso:15118:-20:CommonMessages",
    "ISO_V20_DC": "urn:iso:std:iso:15118:-20:DC",
    "ISO_V20_AC": "urn:iso:std:iso:15118:-20:AC",
    "ISO_V20_WPT": "urn:iso:std:iso:15118:-20:WPT",
    "ISO_V20_ACDP": "urn:iso:std:iso:15118:-20:ACDP",
    "XML_DSIG": "http://www.w3.org/2000/09/xmldsig#",
}
# URN -> the short protocol names of `freev2g exi --protocol` and of the oracle.
SHORT_NAMES = {
    "urn:iso:15118:2:2010:AppProtocol": "sap",
    "urn:din:70121:2012:MsgDef": "din",
    "urn:iso:15118:2:2013:MsgDef": "iso2",
    "urn:iso:std:iso:15118:-20:CommonMessages": "iso20-common",
    "urn:iso:std:iso:15118:-20:DC": "iso20-dc",
    "urn:iso:std:iso:15118:-20:AC": "iso20-ac",
    "urn:iso:std:iso:15118:-20:WPT": "iso20-wpt",
    "urn:iso:std:iso:15118:-20:ACDP": "iso20-acdp",
    "http://www.w3.org/2000/09/xmldsig#": "xmldsig",
}

_LINE = re.compile(
    r"^(?P<level>[A-Z]+)\s+(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - "
    r"(?P<logger>\S+) \(\d+\): (?P<text>.*)$"
)
_TO_ENCODE = re.compile(r"^Message to encode \(ns=(?P<ns>[^)]+)\): (?P<json>.*)$")
_ENCODED = re.compile(r"^EXI-encoded message: (?P<hex>[0-9a-fA-F]+)$")
_RECEIVED = re.compile(r"^EXI-encoded message \(ns=(?P<ns>[^)]+)\): (?P<hex>[0-9a-fA-F]+)$")
_DECODED = re.compile(r"^Decoded message \(ns=(?P<ns>[^)]+)\): (?P<json>.*)$")


class JosevLogError(ValueError):
    """A Josev log line that should hold a message could not be read (says which line)."""


@attrs.frozen
class LoggedMessage:
    direction: str  # "tx" (this Josev process sent it) or "rx" (it received it)
    namespace: str  # URN
    exi: bytes
    json: dict[str, Any]
    time: str
    line: int  # 1-based line of the EXI hex in the log

    @property
    def protocol(self) -> str:
        return SHORT_NAMES.get(self.namespace, self.namespace)

    @property
    def is_message(self) -> bool:
        """A V2GTP payload (not a fragment Josev encodes only to sign it, e.g. SalesTariff)."""
        root = next(iter(self.json))
        return root == "V2G_Message" or root.endswith(("Req", "Res"))

    @property
    def name(self) -> str:
        """The message's element name: the Body child for DIN / -2, else the root element."""
        root, content = next(iter(self.json.items()))
        if root == "V2G_Message":
            return next(iter(content.get("Body", {"?": None})))
        return root


def namespace_urn(token: str) -> str:
    token = token.strip()
    if token.startswith("Namespace."):
        member = token.split(".", 1)[1]
        if member not in NAMESPACE_MEMBERS:
            raise JosevLogError(f"unknown Josev namespace {token!r}")
        return NAMESPACE_MEMBERS[member]
    return token


def _json(text: str, lineno: int) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JosevLogError(f"line {lineno}: message JSON does not parse: {exc}") from exc
    if not isinstance(value, dict) or len(value) != 1:
        raise JosevLogError(f"line {lineno}: message JSON must be one root element, got {text[:80]!r}")
    return value


def parse_josev_log(text: str) -> list[LoggedMessage]:
    """Every EXI message in the log, in log order. Lines of other loggers are ignored."""
    out: list[LoggedMessage] = []
    pending_tx: tuple[str, dict[str, Any]] | None = None
    pending_rx: tuple[str, bytes, str, int] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        m = _LINE.match(raw)
        if not m or m["logger"] != "iso15118.shared.exi_codec":
            continue
        body, when = m["text"], m["time"]
        if mm := _TO_ENCODE.match(body):
            pending_tx = (namespace_urn(mm["ns"]), _json(mm["json"], lineno))
        elif mm := _ENCODED.match(body):
            if pending_tx is None:
                raise JosevLogError(f"line {lineno}: EXI-encoded message without a 'Message to encode' line before it")
            ns, msg = pending_tx
            out.append(LoggedMessage("tx", ns, bytes.fromhex(mm["hex"]), msg, when, lineno))
            pending_tx = None
        elif mm := _RECEIVED.match(body):
            pending_rx = (namespace_urn(mm["ns"]), bytes.fromhex(mm["hex"]), when, lineno)
        elif mm := _DECODED.match(body):
            if pending_rx is None:
                raise JosevLogError(f"line {lineno}: Decoded message without the received EXI line before it")
            ns, data, t_rx, l_rx = pending_rx
            if namespace_urn(mm["ns"]) != ns:
                raise JosevLogError(f"line {lineno}: decoded namespace {mm['ns']} differs from line {l_rx}")
            out.append(LoggedMessage("rx", ns, data, _json(mm["json"], lineno), t_rx, l_rx))
            pending_rx = None
    return out
