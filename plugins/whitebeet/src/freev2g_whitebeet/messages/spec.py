"""Message specs and the catalogue (whitebeet-hci.md 2.5, 2.6, 3).

A command (H->M) has `params` and, in its immediate response after the result code, `result`.
A notification (M->H, request id 0xFF) has `fields`. A reply is an M->H message with its own
sub-id and no result code (Ping reply, 2.9). Every payload layout is one `Record`, so encoding
and decoding come from the same table.
"""
from __future__ import annotations

import enum
from typing import Any, Iterable

from attrs import field, frozen

from ..codec import HciCodecError, HciDecodeError, Record


class Module(enum.IntEnum):
    """Module ids (3.1)."""

    NETWORK = 0x05
    FRAMING = 0x0E
    GPIO = 0x0F
    SYSTEM = 0x10
    FIRMWARE_UPDATE = 0x11
    TIME = 0x12
    V2G = 0x27
    SLAC = 0x28
    CP = 0x29
    PLC = 0x2A
    FRAMING_ERROR = 0xFF


def module_label(module: int) -> str:
    try:
        return f"{Module(module).name}(0x{module:02X})"
    except ValueError:
        return f"module 0x{module:02X}"


class Kind(enum.Enum):
    COMMAND = "command"
    NOTIFICATION = "notification"
    REPLY = "reply"


class Result(enum.IntEnum):
    """Generic result codes (2.6); module-specific codes start at 0x10."""

    OK = 0x00
    BUSY = 0x01
    SUB_ID_UNKNOWN = 0x02
    COMMAND_UNKNOWN = 0x03
    MALFORMED = 0x04
    UNEXPECTED = 0x05
    MODULE_SPECIFIC_10 = 0x10  # System: file not found; SLAC: wrong state; V2G: setting failed
    MODULE_SPECIFIC_11 = 0x11  # V2G: wrong state
    INTERNAL_ERROR = 0xFF


NOTIFICATION_REQUEST_ID = 0xFF


class UnknownMessageError(HciCodecError):
    def __init__(self, module: int, sub: int, direction: str):
        super().__init__(f"{module_label(module)}: unknown sub-id 0x{sub:02X} ({direction})")
        self.module, self.sub = module, sub


@frozen
class MessageSpec:
    module: int
    sub: int
    name: str  # dotted, unique: "cp.set_mode", "v2g.evse.update_dc_parameters"
    kind: Kind
    params: Record  # command params, notification fields or reply payload
    result: Record | None = None  # command result data after the code
    role: str = "both"  # "evse" | "ev" | "both"

    @property
    def where(self) -> str:
        return f"{module_label(self.module)}/0x{self.sub:02X} {self.name}"

    def make(self, **values: Any) -> Any:
        return self.params.make(**values)

    def encode(self, value: Any = None, **values: Any) -> bytes:
        """Command params / notification payload."""
        return self.params.encode(values if value is None else value)

    def decode(self, payload: bytes, *, strict: bool = True) -> Any:
        return self.params.decode_payload(payload, f"{self.where} ({self.kind.value})", strict=strict)

    def encode_response(self, code: int, value: Any = None, **values: Any) -> bytes:
        if code != Result.OK or self.result is None:
            return bytes([code])
        return bytes([code]) + self.result.encode(values if value is None else value)

    def decode_response(self, payload: bytes, *, strict: bool = True) -> "Response":
        where = f"{self.where} (response)"
        if not payload:
            raise HciDecodeError(where, 0, "empty response, expected a result code")
        code = payload[0]
        data = None
        if code == Result.OK and self.result is not None:
            data = self.result.decode_payload(payload[1:], where, strict=strict)
        elif code == Result.OK and strict and len(payload) > 1:
            raise HciDecodeError(where, 1, f"{len(payload) - 1} unexpected bytes after the result code")
        return Response(spec=self, code=code, data=data)


@frozen
class Response:
    spec: MessageSpec
    code: int
    data: Any = None

    @property
    def ok(self) -> bool:
        return self.code == Result.OK


@frozen
class Catalogue:
    """All message specs of one dialect, indexed by name and (module, sub)."""

    specs: tuple[MessageSpec, ...] = field(converter=tuple)
    _by_name: dict[str, MessageSpec] = field(init=False, eq=False, repr=False)
    _host: dict[tuple[int, int], MessageSpec] = field(init=False, eq=False, repr=False)
    _module: dict[tuple[int, int], MessageSpec] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        by_name: dict[str, MessageSpec] = {}
        host: dict[tuple[int, int], MessageSpec] = {}
        module: dict[tuple[int, int], MessageSpec] = {}
        for spec in self.specs:
            if spec.name in by_name:
                raise ValueError(f"duplicate message name {spec.name}")
            by_name[spec.name] = spec
            table = host if spec.kind is Kind.COMMAND else module
            key = (spec.module, spec.sub)
            if key in table:
                raise ValueError(f"duplicate {spec.kind.value} id {spec.where} / {table[key].name}")
            table[key] = spec
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_host", host)
        object.__setattr__(self, "_module", module)

    def __getitem__(self, name: str) -> MessageSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no HCI message named {name!r}") from None

    def names(self) -> Iterable[str]:
        return self._by_name.keys()

    def command(self, module: int, sub: int) -> MessageSpec:
        try:
            return self._host[(module, sub)]
        except KeyError:
            raise UnknownMessageError(module, sub, "host to module") from None

    def from_module(self, module: int, sub: int) -> MessageSpec:
        """Spec of an M->H frame: a notification/reply, else the response of that command."""
        spec = self._module.get((module, sub)) or self._host.get((module, sub))
        if spec is None:
            raise UnknownMessageError(module, sub, "module to host")
        return spec

    def module_message(self, module: int, sub: int) -> MessageSpec | None:
        """The notification or reply (M->H only) with this id, None if there is none."""
        return self._module.get((module, sub))

    def is_unsolicited(self, module: int, sub: int) -> bool:
        spec = self._module.get((module, sub))
        return spec is not None and spec.kind is Kind.NOTIFICATION

    def module_known(self, module: int) -> bool:
        return any(k[0] == module for k in self._host)
