"""Typed facade over the C core's wire codecs (one implementation: core/cext/).

* HCI frames of the WHITE beet framing protocol: whitebeet-hci.md section 2 (2.1 layout,
  2.2 checksum incl. the 0xFF case, 2.7 size limit, 2.8 resynchronisation).
* Ethernet encapsulation of HCI frames: whitebeet-hci.md section 1.2.
* V2GTP header: charging-domain.md section 2.5.

C status codes become specific exceptions, C constants IntEnums, and C objects live exactly as
long as the Python objects that own them (ffi.gc).
"""
from __future__ import annotations

import threading
from enum import IntEnum
from typing import Iterator

from attrs import field, frozen

from .cext.errors import (
    ChecksumError,
    CoreStatus,
    EncapsulationError,
    EncapsulationSizeError,
    EncapsulationTypeError,
    EncapsulationVersionError,
    EtherTypeError,
    FrameLengthError,
    FrameMarkerError,
    FramingError,
    V2gtpError,
    V2gtpLengthError,
    V2gtpPayloadTypeError,
    V2gtpVersionError,
    raise_for_status,
)
from .cext.loader import load_core

_core = load_core()
ffi, lib = _core.ffi, _core.lib
CORE_MODULE_NAME: str = _core.__name__


class FrameMarker(IntEnum):
    """Section 2.1 markers; CHECKSUM_NONE is the checksum byte meaning "not computed" (2.2)."""

    START = lib.FV2G_FRAME_START
    END = lib.FV2G_FRAME_END
    CHECKSUM_NONE = lib.FV2G_CHECKSUM_NONE


FRAME_OVERHEAD_BYTES: int = lib.FV2G_FRAME_OVERHEAD_BYTES
MAX_FRAME_BYTES: int = lib.FV2G_FRAME_MAX_TOTAL_BYTES  # section 2.7 (4096, see open question 17)
DEFAULT_MAX_PAYLOAD: int = lib.FV2G_FRAME_DEFAULT_MAX_PAYLOAD
WIRE_MAX_PAYLOAD: int = lib.FV2G_FRAME_WIRE_MAX_PAYLOAD


def _octet(_instance: object, attribute: object, value: int) -> None:
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise ValueError(f"{getattr(attribute, 'name', 'value')} must be an int 0..255, got {value!r}")


# ---- HCI frames (section 2) ----------------------------------------------------------------


def frame_checksum(frame: bytes) -> int:
    """Section 2.2 checksum of a complete frame (its own checksum byte counts as 0x00)."""
    if len(frame) < FRAME_OVERHEAD_BYTES:
        raise FrameLengthError(f"a frame has at least {FRAME_OVERHEAD_BYTES} bytes, got {len(frame)}")
    return lib.fv2g_frame_checksum(ffi.from_buffer("uint8_t[]", frame), len(frame))


def encode_frame(
    module_id: int,
    sub_id: int,
    request_id: int,
    payload: bytes = b"",
    *,
    checksum: bool = True,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
) -> bytes:
    """One frame (section 2.1); checksum=False writes 0x00 ("not computed")."""
    for name, value in (("module_id", module_id), ("sub_id", sub_id), ("request_id", request_id)):
        if not isinstance(value, int) or not 0 <= value <= 0xFF:
            raise ValueError(f"{name} must be an int 0..255, got {value!r}")
    if not 0 <= max_payload <= WIRE_MAX_PAYLOAD:
        raise ValueError(f"max_payload must be 0..{WIRE_MAX_PAYLOAD}, got {max_payload}")
    size = len(payload) + FRAME_OVERHEAD_BYTES
    out = ffi.new("uint8_t[]", size)
    n = lib.fv2g_frame_encode(
        module_id, sub_id, request_id, ffi.from_buffer("uint8_t[]", payload), len(payload),
        1 if checksum else 0, max_payload, out, size,
    )
    if n < 0:
        raise_for_status(n, f"frame {module_id:#04x}/{sub_id:#04x}: payload of {len(payload)} bytes "
                        f"exceeds max_payload {max_payload}")
    return ffi.buffer(out, n)[:]


@frozen
class Frame:
    """One HCI frame: header fields and payload (section 2.1)."""

    module_id: int = field(validator=_octet)
    sub_id: int = field(validator=_octet)
    request_id: int = field(validator=_octet)
    payload: bytes = field(default=b"", converter=bytes)

    def to_bytes(self, checksum: bool = True, *, max_payload: int = DEFAULT_MAX_PAYLOAD) -> bytes:
        return encode_frame(self.module_id, self.sub_id, self.request_id, self.payload,
                            checksum=checksum, max_payload=max_payload)

    @classmethod
    def from_bytes(
        cls, data: bytes, *, max_payload: int = DEFAULT_MAX_PAYLOAD, accept_zero_checksum: bool = True
    ) -> "Frame":
        """Exactly one frame; raises FrameMarkerError, ChecksumError or FrameLengthError."""
        view = ffi.new("fv2g_frame_view *")
        status = lib.fv2g_frame_parse(ffi.from_buffer("uint8_t[]", data), len(data), max_payload,
                                      1 if accept_zero_checksum else 0, view)
        if status != CoreStatus.OK:
            raise_for_status(status, _describe_rejection(bytes(data), status, max_payload))
        start = view.payload_offset
        return cls(view.module_id, view.sub_id, view.request_id,
                   bytes(data[start:start + view.payload_length]))


def _describe_rejection(data: bytes, status: int, max_payload: int) -> str:
    head = data[:6].hex(" ")
    if status == CoreStatus.BAD_START_MARKER:
        return f"frame starts with {data[0]:#04x}, expected 0xc0 (bytes {head})"
    if len(data) < 6:
        return f"truncated frame: {len(data)} bytes ({head})"
    length = int.from_bytes(data[4:6], "big")
    where = f"frame {data[1]:#04x}/{data[2]:#04x} req {data[3]:#04x} (length field {length})"
    if status == CoreStatus.FRAME_TOO_LONG:
        return f"{where}: payload length exceeds max_payload {max_payload}"
    total = length + FRAME_OVERHEAD_BYTES
    if status == CoreStatus.TRUNCATED:
        return f"{where}: needs {total} bytes, got {len(data)}"
    if status == CoreStatus.TRAILING_BYTES:
        return f"{where}: {len(data) - total} bytes after the end marker"
    if status == CoreStatus.BAD_END_MARKER:
        return f"{where}: byte {total - 1} is {data[total - 1]:#04x}, expected end marker 0xc1"
    if status == CoreStatus.UNCHECKED_REFUSED:
        return f"{where}: checksum 0x00 (not computed) refused"
    expected = lib.fv2g_frame_checksum(ffi.from_buffer("uint8_t[]", data), total)
    return f"{where}: checksum {data[total - 2]:#04x}, expected {expected:#04x}"


@frozen
class DecoderStats:
    """Counters of a FrameDecoder; bytes_in == frame_bytes + garbage_bytes + pending_bytes."""

    bytes_in: int
    frames: int
    frame_bytes: int
    garbage_bytes: int
    bad_checksum: int
    too_long: int
    bad_end_marker: int
    unchecked: int
    pending_bytes: int

    @property
    def errors(self) -> int:
        return self.bad_checksum + self.too_long + self.bad_end_marker


@frozen
class DecoderWork:
    """Work a FrameDecoder has done: what tests use to check it stays linear in its input.

    checks: candidate verdicts asked for; scanned_bytes: bytes searched for a start marker;
    summed_bytes: bytes read for checksums; copied_bytes: bytes copied or moved inside the
    decoder's candidate buffer. Unlike DecoderStats these depend on how the stream was cut.
    """

    checks: int
    scanned_bytes: int
    summed_bytes: int
    copied_bytes: int

    @property
    def examined_bytes(self) -> int:
        return self.scanned_bytes + self.summed_bytes + self.copied_bytes


class FrameBatch:
    """Frames of one C decode call as arrays (views into the decoder's buffers).

    Valid until the decoder is fed again; copy what you keep. `payload_offsets[i]` indexes
    `payload`.
    """

    __slots__ = ("count", "module_ids", "sub_ids", "request_ids", "checksums",
                 "payload_offsets", "payload_lengths", "payload")

    def __init__(self, decoder: "FrameDecoder", count: int, payload_used: int):
        self.count = count
        self.module_ids = decoder._mv_module[:count]
        self.sub_ids = decoder._mv_sub[:count]
        self.request_ids = decoder._mv_request[:count]
        self.checksums = decoder._mv_checksum[:count]
        self.payload_offsets = decoder._mv_offset[:count]
        self.payload_lengths = decoder._mv_length[:count]
        self.payload = decoder._mv_payload[:payload_used]

    def frames(self) -> list[Frame]:
        data = bytes(self.payload)
        return [
            Frame(m, s, r, data[o:o + n])
            for m, s, r, o, n in zip(self.module_ids.tolist(), self.sub_ids.tolist(),
                                     self.request_ids.tolist(), self.payload_offsets.tolist(),
                                     self.payload_lengths.tolist())
        ]


class FrameDecoder:
    """Streaming HCI frame decoder (sections 2.1, 2.2, 2.8) over the C core.

    Feed chunks of any size; complete valid frames come out. Uses the length field (no byte
    stuffing); after a rejected candidate the search resumes at the byte after its start
    marker. A received checksum 0x00 means "not computed" and is accepted unless
    accept_zero_checksum is False. Lengths above max_payload (default 4088 = 4096 - 8) are
    rejected as soon as the header is seen. One decoder serves one stream; feeding it from
    two threads at once raises RuntimeError.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD, accept_zero_checksum: bool = True,
                 *, batch_frames: int = 1024):
        if not 0 <= max_payload <= WIRE_MAX_PAYLOAD:
            raise ValueError(f"max_payload must be 0..{WIRE_MAX_PAYLOAD}, got {max_payload}")
        if batch_frames < 1:
            raise ValueError(f"batch_frames must be >= 1, got {batch_frames}")
        self.max_payload = max_payload
        self.accept_zero_checksum = accept_zero_checksum
        raw = lib.fv2g_decoder_new(max_payload, 1 if accept_zero_checksum else 0)
        if raw == ffi.NULL:
            raise MemoryError("fv2g_decoder_new failed")
        # C side: a running-sum ring (up to 8 bytes per frame byte) and a two-frame buffer
        self._decoder = ffi.gc(raw, lib.fv2g_decoder_free, size=10 * (max_payload + 8) + 256)
        self._in_use = threading.Lock()
        payload_capacity = max(max_payload, 1, batch_frames * 64)
        self._arrays = {  # owners of the memory the batch struct points to
            "module_id": ffi.new("uint8_t[]", batch_frames),
            "sub_id": ffi.new("uint8_t[]", batch_frames),
            "request_id": ffi.new("uint8_t[]", batch_frames),
            "checksum": ffi.new("uint8_t[]", batch_frames),
            "payload_offset": ffi.new("uint32_t[]", batch_frames),
            "payload_length": ffi.new("uint32_t[]", batch_frames),
            "payload": ffi.new("uint8_t[]", payload_capacity),
        }
        batch = ffi.new("fv2g_frame_batch *")
        batch.capacity = batch_frames
        batch.payload_capacity = payload_capacity
        for name, array in self._arrays.items():
            setattr(batch, name, array)
        self._batch = batch
        a = self._arrays
        self._mv_module = memoryview(ffi.buffer(a["module_id"]))
        self._mv_sub = memoryview(ffi.buffer(a["sub_id"]))
        self._mv_request = memoryview(ffi.buffer(a["request_id"]))
        self._mv_checksum = memoryview(ffi.buffer(a["checksum"]))
        self._mv_offset = memoryview(ffi.buffer(a["payload_offset"])).cast("B").cast("I")
        self._mv_length = memoryview(ffi.buffer(a["payload_length"])).cast("B").cast("I")
        self._mv_payload = memoryview(ffi.buffer(a["payload"]))

    def feed_batches(self, data: bytes) -> Iterator[FrameBatch]:
        """The batch API: decode `data`, yielding up to batch_frames frames per C call."""
        buf = ffi.from_buffer("uint8_t[]", data)
        total = len(buf)
        offset = 0
        feed, decoder, batch = lib.fv2g_decoder_feed, self._decoder, self._batch
        # cffi releases the GIL around C calls: a second thread (or a nested feed while these
        # batches are being read) must not touch the same C state.
        if not self._in_use.acquire(blocking=False):
            raise RuntimeError("FrameDecoder is already being fed (another thread or a nested feed)")
        try:
            while True:
                offset += feed(decoder, buf + offset, total - offset, batch)
                if batch.count:
                    yield FrameBatch(self, batch.count, batch.payload_used)
                if not batch.full:
                    return
        finally:
            self._in_use.release()

    def feed(self, data: bytes) -> list[Frame]:
        """Decode `data` (any chunk of the stream); returns the frames it completed."""
        frames: list[Frame] = []
        for batch in self.feed_batches(data):
            frames.extend(batch.frames())
        return frames

    @property
    def stats(self) -> DecoderStats:
        raw = ffi.new("fv2g_decoder_stats *")
        lib.fv2g_decoder_get_stats(self._decoder, raw)
        return DecoderStats(raw.bytes_in, raw.frames, raw.frame_bytes, raw.garbage_bytes,
                            raw.bad_checksum, raw.too_long, raw.bad_end_marker, raw.unchecked,
                            lib.fv2g_decoder_pending(self._decoder))

    @property
    def work(self) -> DecoderWork:
        raw = ffi.new("fv2g_decoder_work *")
        lib.fv2g_decoder_get_work(self._decoder, raw)
        return DecoderWork(raw.checks, raw.scanned_bytes, raw.summed_bytes, raw.copied_bytes)

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete candidate frame held until more data arrives."""
        return lib.fv2g_decoder_pending(self._decoder)

    def reset(self) -> None:
        """Back to the state after construction: drop a partial frame, zero the counters."""
        if not self._in_use.acquire(blocking=False):
            raise RuntimeError("FrameDecoder.reset() while it is being fed")
        try:
            lib.fv2g_decoder_reset(self._decoder)
        finally:
            self._in_use.release()


from .cext.envelopes import (  # noqa: E402  (one public namespace for every wire codec)
    ETH_DEFAULT_MAX_HCI_FRAME_BYTES,
    ETH_HEADER_BYTES,
    ETH_MIN_FRAME_BYTES,
    ETHERTYPE_HCI,
    V2GTP_DEFAULT_MAX_LENGTH,
    V2GTP_HEADER_BYTES,
    HciEthernetFrame,
    V2gtpHeader,
    V2gtpPayloadType,
    build_hci_ethernet,
    build_v2gtp,
    parse_hci_ethernet,
    parse_v2gtp,
    parse_v2gtp_header,
)

__all__ = [
    "CORE_MODULE_NAME", "DEFAULT_MAX_PAYLOAD", "ETH_DEFAULT_MAX_HCI_FRAME_BYTES", "ETH_HEADER_BYTES",
    "ETH_MIN_FRAME_BYTES", "ETHERTYPE_HCI", "FRAME_OVERHEAD_BYTES", "MAX_FRAME_BYTES",
    "V2GTP_DEFAULT_MAX_LENGTH", "V2GTP_HEADER_BYTES", "WIRE_MAX_PAYLOAD",
    "ChecksumError", "CoreStatus", "DecoderStats", "DecoderWork", "EncapsulationError", "EncapsulationSizeError",
    "EncapsulationTypeError", "EncapsulationVersionError", "EtherTypeError", "Frame", "FrameBatch",
    "FrameDecoder", "FrameLengthError", "FrameMarker", "FrameMarkerError", "FramingError",
    "HciEthernetFrame", "V2gtpError", "V2gtpHeader", "V2gtpLengthError", "V2gtpPayloadType",
    "V2gtpPayloadTypeError", "V2gtpVersionError", "build_hci_ethernet", "build_v2gtp",
    "encode_frame", "frame_checksum", "parse_hci_ethernet", "parse_v2gtp", "parse_v2gtp_header",
]
