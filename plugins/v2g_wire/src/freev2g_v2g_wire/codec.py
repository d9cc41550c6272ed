"""The payload codec seam: messages <-> V2GTP payloads, outside the medium.

`WireMedium` carries `V2gtpMessage`s (bytes and a payload type) and never looks inside;
`CodecPipe` puts a `PayloadCodec` in front of it so session logic can send and receive message
objects over the same Medium protocol.

* `ExiPayloadCodec`: freev2g.exi (the C EXI codec) for messages in its dict form
  (`ExiMessage(protocol, {"V2G_Message": ...})`); the payload type follows the protocol
  (0x8001 SAP/DIN/-2, 0x8002 -20 CommonMessages, 0x8003 AC, 0x8004 DC; exi.md 6). Incoming
  0x8001 is decoded as `sap` until `select(protocol)` names the negotiated one.
* `BridgePayloadCodec`: the virtual link's own message classes as real EXI through its EXI
  bridge (freev2g_virtual_plc.exi_codec.ExiSession, one per connection: supportedAppProtocol,
  then the negotiated protocol), payload types as above. What the iso15118 link uses. A field
  the bridge cannot put into EXI is lost on the wire (logged once per message kind and field
  set); no private payload type is ever sent.
* `JsonPayloadCodec`: the virtual link's own message classes as JSON (freev2g_virtual_plc's
  MessageCodec) in the manufacturer-specific payload type 0xA0F2. NOT EXI, and a peer that is
  not freev2g cannot read it; kept for tests of the seam, never used by the link.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from attrs import frozen
from freev2g.exi import PAYLOAD_TYPES as EXI_PAYLOAD_TYPES

from .v2gtp import V2gtpMessage

log = logging.getLogger(__name__)

JSON_PAYLOAD_TYPE = 0xA0F2  # manufacturer-specific range (charging-domain.md 2.5)


class PayloadCodecError(ValueError):
    """A payload the codec cannot turn into a message (or a message it cannot encode)."""


class PayloadCodec(Protocol):
    def encode(self, message: Any) -> V2gtpMessage: ...

    def decode(self, item: V2gtpMessage) -> Any: ...


@frozen
class ExiMessage:
    protocol: str  # a freev2g.exi protocol name: sap, din, iso2, iso20-common, iso20-dc, ...
    body: dict[str, Any]


class ExiPayloadCodec:
    def __init__(self, protocol: str = "sap") -> None:
        self.protocol_8001 = protocol

    def select(self, protocol: str) -> None:
        """After supportedAppProtocol: the protocol 0x8001 payloads are decoded as."""
        self.protocol_8001 = protocol

    def encode(self, message: ExiMessage) -> V2gtpMessage:
        from freev2g import exi

        if message.protocol not in EXI_PAYLOAD_TYPES:
            raise PayloadCodecError(f"no V2GTP payload type for EXI protocol {message.protocol!r}")
        try:
            data = exi.encode(message.protocol, message.body)
        except exi.ExiError as exc:
            raise PayloadCodecError(f"{message.protocol}: cannot encode: {exc}") from None
        return V2gtpMessage(data, EXI_PAYLOAD_TYPES[message.protocol])

    def decode(self, item: V2gtpMessage) -> ExiMessage:
        from freev2g import exi

        if item.payload_type == 0x8001:
            protocol = self.protocol_8001
        else:
            protocol = next((p for p, t in EXI_PAYLOAD_TYPES.items() if t == item.payload_type), None)
            if protocol is None:
                raise PayloadCodecError(f"V2GTP payload type {item.payload_type:#06x} carries no EXI")
        try:
            return ExiMessage(protocol, exi.decode(protocol, item.payload))
        except exi.ExiError as exc:
            raise PayloadCodecError(f"{protocol}: cannot decode {len(item.payload)} bytes: {exc}") from None


class BridgePayloadCodec:
    """Message objects of freev2g_virtual_plc <-> EXI payloads, one instance per connection."""

    def __init__(self, name: str = "v2g") -> None:
        from freev2g_virtual_plc.exi_codec import ExiSession

        self.name = name
        self.session = ExiSession()
        self.lost: dict[str, list[str]] = {}  # message class -> fields the wire did not carry
        self._warned: set[tuple[str, tuple[str, ...]]] = set()

    @property
    def protocol(self) -> str:
        return self.session.protocol

    def encode(self, message: Any) -> V2gtpMessage:
        from freev2g import exi
        from freev2g_virtual_plc.exi_codec import ExiBridgeError

        try:
            grammar, data, lost = self.session.carry(message)
        except (ExiBridgeError, exi.ExiError) as exc:
            raise PayloadCodecError(f"{self.name}: {type(message).__name__}: cannot encode: {exc}") from None
        if lost:
            kind = (type(message).__name__, tuple(lost))
            self.lost[kind[0]] = lost
            if kind not in self._warned:
                self._warned.add(kind)
                log.warning("%s: %s loses %s on the wire (no place in its EXI form)", self.name,
                            kind[0], ", ".join(lost))
        if grammar not in EXI_PAYLOAD_TYPES:
            raise PayloadCodecError(f"{self.name}: no V2GTP payload type for EXI grammar {grammar!r}")
        return V2gtpMessage(data, EXI_PAYLOAD_TYPES[grammar])

    def decode(self, item: V2gtpMessage) -> Any:
        from freev2g import exi
        from freev2g_virtual_plc.exi_codec import ExiBridgeError

        if item.payload_type == 0x8001:
            grammar = self.session.protocol if self.session.protocol in ("din", "iso2") else "sap"
        else:
            grammar = next((p for p, t in EXI_PAYLOAD_TYPES.items() if t == item.payload_type), None)
            if grammar is None:
                raise PayloadCodecError(f"{self.name}: V2GTP payload type {item.payload_type:#06x} carries no EXI")
        try:
            return self.session.decode(grammar, item.payload)
        except (ExiBridgeError, exi.ExiError) as exc:
            raise PayloadCodecError(f"{self.name}: {grammar}: cannot decode {len(item.payload)} bytes "
                                    f"({item.payload[:64].hex()}): {exc}") from None


class JsonPayloadCodec:
    def __init__(self) -> None:
        from freev2g_virtual_plc.codec import MessageCodec

        self._codec = MessageCodec()

    def encode(self, message: Any) -> V2gtpMessage:
        from freev2g_virtual_plc.codec import CodecError

        try:
            obj = self._codec.encode(message)
        except CodecError as exc:
            raise PayloadCodecError(str(exc)) from None
        return V2gtpMessage(json.dumps(obj, separators=(",", ":")).encode(), JSON_PAYLOAD_TYPE)

    def decode(self, item: V2gtpMessage) -> Any:
        from freev2g_virtual_plc.codec import CodecError

        if item.payload_type != JSON_PAYLOAD_TYPE:
            raise PayloadCodecError(f"V2GTP payload type {item.payload_type:#06x}, expected the "
                                    f"freev2g JSON type {JSON_PAYLOAD_TYPE:#06x}")
        try:
            return self._codec.decode(json.loads(item.payload))
        except (ValueError, CodecError) as exc:
            raise PayloadCodecError(f"bad freev2g JSON payload: {exc}") from None


class CodecPipe:
    """A Medium of message objects over a Medium of V2gtpMessages. A payload the codec rejects
    closes the connection and raises PayloadCodecError (the sheet: drop the message and, on
    TCP, the connection)."""

    def __init__(self, medium: Any, codec: PayloadCodec) -> None:
        self.medium, self.codec = medium, codec

    @property
    def closed(self) -> bool:
        return self.medium.closed

    def open_tap(self, traffic: Any, *, role: str) -> Any:
        """The session log taps the bytes below the codec (WireMedium.open_tap)."""
        return self.medium.open_tap(traffic, role=role)

    async def send(self, message: Any) -> None:
        await self.medium.send(self.codec.encode(message))

    async def recv(self) -> Any:
        item = await self.medium.recv()
        try:
            return self.codec.decode(item)
        except PayloadCodecError:
            await self.medium.close()
            raise

    async def close(self) -> None:
        await self.medium.close()

    async def wait_closed(self) -> None:
        await self.medium.wait_closed()
