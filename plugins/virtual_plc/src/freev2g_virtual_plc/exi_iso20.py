"""ISO 15118-20 messages <-> freev2g.exi dicts (grammars iso20-common, iso20-dc, iso20-ac).

Each message is its own root with a MessageHeader (SessionID, TimeStamp). Numbers are
RationalNumbers {Exponent, Value}. Our classes that carry no control mode (DCChargeLoopRes,
ACChargeLoopRes, ScheduleExchangeRes) take it from `mode` (ExiSession passes the mode of the
request on the same connection; Scheduled when unknown). Defaults the schema requires but our
classes do not hold are noted where they are written (README "EXI bridge" lists the gaps).
"""
from __future__ import annotations

from typing import Any

from freev2g.model.enums import ChargeProgress, ControlMode, PaymentOption, ResponseCode

from .exi_codec import ExiBridgeError, scaled, session_bytes, session_hex, unscaled
from .messages import iso20

GRAMMAR = {"DC": "iso20-dc", "AC": "iso20-ac"}

AUTH = {PaymentOption.EXTERNAL_PAYMENT: "EIM", PaymentOption.CONTRACT: "PnC"}
AUTH_OF = {v: k for k, v in AUTH.items()}
PROGRESS = {ChargeProgress.RENEGOTIATE: "ScheduleRenegotiation"}
PROGRESS_OF = {"ScheduleRenegotiation": ChargeProgress.RENEGOTIATE}


def rn(x: float) -> dict[str, Any]:
    value, exp = scaled(float(x))
    return {"Exponent": exp, "Value": value}


def from_rn(d: dict[str, Any]) -> float:
    return unscaled(d["Value"], d["Exponent"])


def put_rn(d: dict[str, Any], key: str, value: float | None) -> None:
    if value is not None:
        d[key] = rn(value)


def get_rn(d: dict[str, Any], key: str) -> float | None:
    v = d.get(key)
    return None if v is None else from_rn(v)


def rc(m: Any) -> dict[str, Any]:
    return {"ResponseCode": m.response_code.value}


def rc_of(d: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"response_code": ResponseCode(d["ResponseCode"])}
    except ValueError:
        raise ExiBridgeError(f"-20 ResponseCode {d['ResponseCode']!r} has no value in our ResponseCode") from None


def evse_status(s: iso20.EVSEStatus | None) -> dict[str, Any] | None:
    """-20 EVSEStatus; our Notification.NONE has no -20 value: no notification = no element."""
    if s is None or s.notification is iso20.Notification.NONE:
        return None
    return {"NotificationMaxDelay": s.notification_max_delay_s, "EVSENotification": s.notification.value}


def evse_status_of(d: dict[str, Any] | None) -> iso20.EVSEStatus:
    """No element = no notification (what our SECC sends as EVSEStatus())."""
    if d is None:
        return iso20.EVSEStatus()
    return iso20.EVSEStatus(notification_max_delay_s=d["NotificationMaxDelay"],
                            notification=iso20.Notification(d["EVSENotification"]))


def element_of(cls_name: str) -> tuple[str, str]:
    """(grammar, root element) of one of our -20 classes: DCChargeLoopReq -> DC_ChargeLoopReq."""
    for prefix, grammar in GRAMMAR.items():
        if cls_name.startswith(prefix) and cls_name[2].isupper():
            return grammar, f"{prefix}_{cls_name[2:]}"
    return "iso20-common", cls_name


def to_doc(msg: Any, timestamp: int, mode: ControlMode | None = None) -> tuple[str, dict[str, Any]]:
    name = type(msg).__name__
    if getattr(iso20, name, None) is not type(msg) or name not in ENC:
        raise ExiBridgeError(f"{name} is not an ISO 15118-20 message")
    grammar, root = element_of(name)
    body = {"Header": {"SessionID": session_bytes(msg.session_id), "TimeStamp": timestamp}}
    body.update(ENC[name](msg, mode or ControlMode.SCHEDULED))
    return grammar, {root: body}


def from_doc(doc: dict[str, Any]) -> Any:
    root, content = next(iter(doc.items()))
    name = root.replace("_", "", 1) if root[:3] in ("DC_", "AC_") else root
    cls = getattr(iso20, name, None)
    if cls is None or name not in DEC:
        raise ExiBridgeError(f"-20 {root}: no virtual_plc message class for it")
    return cls(session_id=session_hex(content["Header"]["SessionID"]), **DEC[name](content))


def timestamp_of(doc: dict[str, Any]) -> int:
    return next(iter(doc.values()))["Header"]["TimeStamp"]



from .exi_iso20_msgs import DEC, ENC  # noqa: E402  (the per-message tables use the helpers above)
