"""Status codes of the C core and the exceptions the facades raise for them.

Shared by freev2g.framing (HCI frames, whitebeet-hci.md section 2) and the envelopes
(whitebeet-hci.md 1.2, charging-domain.md 2.5). Import the names from freev2g.framing.
"""
from __future__ import annotations

from enum import IntEnum

from .loader import load_core

lib = load_core().lib


class CoreStatus(IntEnum):
    """Status codes returned by the C core (core/cext/fv2g_status.h)."""

    OK = lib.FV2G_OK
    INVALID_ARGUMENT = lib.FV2G_ERR_INVALID_ARGUMENT
    BUFFER_TOO_SMALL = lib.FV2G_ERR_BUFFER_TOO_SMALL
    TRUNCATED = lib.FV2G_ERR_TRUNCATED
    TRAILING_BYTES = lib.FV2G_ERR_TRAILING_BYTES
    BAD_START_MARKER = lib.FV2G_ERR_BAD_START_MARKER
    BAD_END_MARKER = lib.FV2G_ERR_BAD_END_MARKER
    BAD_CHECKSUM = lib.FV2G_ERR_BAD_CHECKSUM
    FRAME_TOO_LONG = lib.FV2G_ERR_FRAME_TOO_LONG
    UNCHECKED_REFUSED = lib.FV2G_ERR_UNCHECKED_REFUSED
    ETHERTYPE = lib.FV2G_ERR_ETHERTYPE
    ENCAP_VERSION = lib.FV2G_ERR_ENCAP_VERSION
    ENCAP_TYPE = lib.FV2G_ERR_ENCAP_TYPE
    ENCAP_SIZE = lib.FV2G_ERR_ENCAP_SIZE
    V2GTP_VERSION = lib.FV2G_ERR_V2GTP_VERSION
    V2GTP_PAYLOAD_TYPE = lib.FV2G_ERR_V2GTP_PAYLOAD_TYPE
    V2GTP_LENGTH = lib.FV2G_ERR_V2GTP_LENGTH


class FramingError(ValueError):
    """Base of every wire-format error; `status` is the C core's code."""

    def __init__(self, message: str, status: CoreStatus = CoreStatus.INVALID_ARGUMENT):
        super().__init__(message)
        self.status = status


class FrameMarkerError(FramingError):
    """Missing 0xC0 start or 0xC1 end marker where the layout puts it."""


class ChecksumError(FramingError):
    """Checksum mismatch, or checksum 0x00 ("not computed") when that is refused."""


class FrameLengthError(FramingError):
    """Payload longer than the limit, or data shorter/longer than the frame it holds."""


class EncapsulationError(FramingError):
    """Malformed Ethernet encapsulation (section 1.2)."""


class EtherTypeError(EncapsulationError):
    pass


class EncapsulationVersionError(EncapsulationError):
    pass


class EncapsulationTypeError(EncapsulationError):
    pass


class EncapsulationSizeError(EncapsulationError):
    pass


class V2gtpError(FramingError):
    """Malformed V2GTP header or message (charging-domain.md 2.5)."""


class V2gtpVersionError(V2gtpError):
    pass


class V2gtpPayloadTypeError(V2gtpError):
    pass


class V2gtpLengthError(V2gtpError):
    pass


_ERROR_CLASSES: dict[int, type[FramingError]] = {
    CoreStatus.TRUNCATED: FrameLengthError,
    CoreStatus.TRAILING_BYTES: FrameLengthError,
    CoreStatus.FRAME_TOO_LONG: FrameLengthError,
    CoreStatus.BAD_START_MARKER: FrameMarkerError,
    CoreStatus.BAD_END_MARKER: FrameMarkerError,
    CoreStatus.BAD_CHECKSUM: ChecksumError,
    CoreStatus.UNCHECKED_REFUSED: ChecksumError,
    CoreStatus.ETHERTYPE: EtherTypeError,
    CoreStatus.ENCAP_VERSION: EncapsulationVersionError,
    CoreStatus.ENCAP_TYPE: EncapsulationTypeError,
    CoreStatus.ENCAP_SIZE: EncapsulationSizeError,
    CoreStatus.V2GTP_VERSION: V2gtpVersionError,
    CoreStatus.V2GTP_PAYLOAD_TYPE: V2gtpPayloadTypeError,
    CoreStatus.V2GTP_LENGTH: V2gtpLengthError,
}


def raise_for_status(status: int, message: str) -> None:
    """Raise the exception class mapped to a negative C status code; no-op for OK."""
    if status >= 0:
        return
    code = CoreStatus(status)
    raise _ERROR_CLASSES.get(code, FramingError)(message, code)
