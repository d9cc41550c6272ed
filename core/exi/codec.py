"""encode/decode between message dicts (keys = XSD element names) and EXI bytes.

A message is ``{root_name: content}``; complex content is a dict of child names, repeated
elements (maxOccurs > 1) are lists, attributes use their XSD names, a simple-content value is
under ``"value"``. Values: int, bool, str (strings and enumerations), bytes (hexBinary /
base64Binary). The C core (core/cext/exi_runtime.c) interprets the generated grammar tables;
reader.py / writer.py only walk the message and the event tape (format: exi_runtime.h).
"""
from __future__ import annotations

import struct
import threading
from array import array
from typing import Any

from ..cext.loader import load_core
from .errors import STATUS_TEXT, ExiDecodeError, ExiEncodeError
from .fastpath import fast
from .plans import plans
from .reader import read_message
from .schemas import schema
from .writer import TracedWriter, fast_tape

_core = load_core()
ffi, lib = _core.ffi, _core.lib

MAX_MESSAGE_BYTES = 1 << 16      # V2GTP payloads of real messages stay far below this
MAX_WORDS = 1 << 18
ARENA_BYTES = MAX_MESSAGE_BYTES * 4


class _Scratch:
    """Reusable C buffers, one set per thread (cffi releases the GIL during the C call)."""

    def __init__(self) -> None:
        self.tape = ffi.new("int64_t[]", MAX_WORDS)
        self.tape_view = memoryview(ffi.buffer(self.tape)).cast("q")
        self.tape_bytes = self.tape_view.cast("B")
        self.arena = ffi.new("uint8_t[]", ARENA_BYTES)
        self.arena_buf = ffi.buffer(self.arena)
        self.out = ffi.new("uint8_t[]", MAX_MESSAGE_BYTES)
        self.out_buf = ffi.buffer(self.out)
        self.res = ffi.new("fv2g_exi_result *")


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.s = _Scratch()


_tls = _PerThread()
_words: dict[int, struct.Struct] = {}


def _words_struct(n: int) -> struct.Struct:
    """n native int64 words; one Struct per tape length, reused (pack/unpack without an array)."""
    st = _words.get(n)
    if st is None:
        if len(_words) > 1024:
            _words.clear()
        st = _words[n] = struct.Struct(f"{n}q")
    return st


_entries: dict[str, tuple[Any, Any]] = {}


def _entry(protocol: str) -> tuple[Any, Any]:
    """(plans, fast walkers) of a protocol name or alias; ValueError if unknown."""
    e = _entries.get(protocol)
    if e is None:
        p = plans(protocol)
        e = _entries[protocol] = (p, fast(p.sch.name))
    return e


def prepare(*protocols: str) -> None:
    """Build the tables and compile the fast path of each protocol now (tens of ms each), so the
    first message of a session does not pay for it inside a protocol timeout (at `--speed 10`
    V2G_EVCC_Msg_Timeout is 200 ms of wall time). ValueError for an unknown name."""
    for protocol in protocols:
        _entry(protocol)


def decode(protocol: str, data: bytes, *, any_root: bool = False) -> dict[str, Any]:
    """Decode one EXI document of `protocol` into a message dict; ExiDecodeError if invalid.

    Only message roots are accepted (DIN/-2 V2G_Message, SAP req/res, -20 *Req/*Res) unless
    any_root: the document grammar also lists every other global element (e.g. a bare
    xmldsig Signature)."""
    p, fp = _entry(protocol)
    if type(data) is not bytes:
        if not isinstance(data, (bytearray, memoryview)):
            raise ExiDecodeError(f"EXI data must be bytes, not {type(data).__name__}", protocol=p.sch.name)
        data = bytes(data)
    tape, arena = _decode_words(p.sch, data, 0)
    msg = fp.decode(tape, arena)
    if msg is None:
        msg = read_message(p, tape, arena)
    if not any_root:
        name = next(iter(msg))
        if name not in p.sch.message_roots:
            raise ExiDecodeError(f"{name} is a global element but not a message", protocol=p.sch.name,
                                 message=name, bit_offset=8)
    return msg


def decode_fragment(protocol: str, data: bytes) -> dict[str, Any]:
    """Decode an EXI fragment (one element + ED, EXI §8.5.2), e.g. a signed part; the
    fragment grammar lists every element declared in the schema set (sheet §1.7)."""
    p = plans(protocol)
    tape, arena = _decode_words(p.sch, bytes(data), lib.FV2G_EXI_FRAGMENT)
    msg = fast(p.sch.name).decode(tape, arena, fragment=True)
    return msg if msg is not None else read_message(p, tape, arena, fragment=True)


def encode_fragment(protocol: str, element: dict[str, Any], *, allow_deviations: bool = False) -> bytes:
    """Encode ``{element_name: content}`` as an EXI fragment (the digest input of a signed
    part: e.g. SignedInfo with protocol "xmldsig", AuthorizationReq with "iso2")."""
    return _encode(plans(protocol), element, allow_deviations, fragment=True)


def decode_tape(protocol: str, data: bytes, fragment: bool = False) -> tuple[list[int], bytes]:
    """The C decoder's raw output: event tape words and value arena."""
    tape, arena = _decode_words(schema(protocol), data, lib.FV2G_EXI_FRAGMENT if fragment else 0)
    return list(tape), arena


def _decode_words(sch, data: bytes, flags: int) -> tuple[tuple[int, ...], bytes]:
    if len(data) > MAX_MESSAGE_BYTES:
        raise ExiDecodeError(f"{len(data)} bytes is above the {MAX_MESSAGE_BYTES}-byte limit",
                             protocol=sch.name, bit_offset=0)
    s = _tls.s
    res = s.res
    rc = lib.fv2g_exi_decode(sch.index, data, len(data), s.tape, MAX_WORDS, s.arena, ARENA_BYTES, flags, res)
    if rc != 0:
        raise ExiDecodeError(STATUS_TEXT.get(rc, f"status {rc}"), protocol=sch.name,
                             message=sch.local(res.root) if res.root >= 0 else None,
                             element=sch.local(res.qname) if res.qname >= 0 else None,
                             bit_offset=res.bit_offset, status=rc)
    return _words_struct(res.n_words).unpack_from(s.tape_bytes, 0), s.arena_buf[:res.arena_used]


def encode(protocol: str, message: dict[str, Any], *, allow_deviations: bool = False,
           any_root: bool = False) -> bytes:
    """Encode a message dict ``{root: content}``; ExiEncodeError if the schema does not allow it.

    allow_deviations: write a second-level EE for a simple element without value (None) or a
    simple-content element without "value" (what EXIficient writes for an empty
    SignatureValue), and allow abstract elements (e.g. BodyElement), which the EXI grammar
    has but no valid instance may use. Off by default: both are errors.
    any_root: also allow global elements that are not messages (see decode).
    """
    p = _entry(protocol)[0]
    sch = p.sch
    if not any_root and type(message) is dict and len(message) == 1:
        name = next(iter(message))
        if name not in sch.message_roots and name in sch.roots:
            raise ExiEncodeError(f"{name} is a global element but not a message (any_root=True allows it)",
                                 protocol=sch.name, message=name)
    return _encode(p, message, allow_deviations, fragment=False)


def _encode(p, message: Any, allow_deviations: bool, fragment: bool) -> bytes:
    sch = p.sch
    built = _entry(sch.name)[1].encode(message, fragment)
    if built is None:
        built = fast_tape(p, message, fragment)
    traced = None
    if built is None:
        traced = TracedWriter(p, fragment, abstract_ok=allow_deviations)
        traced.message(message)           # raises the precise error, or builds the tape
        built = traced.tape, traced.arena
    tape, arena = built
    try:
        return _encode_words(sch, tape, arena, (lib.FV2G_EXI_ENC_ALLOW_DEVIATIONS if allow_deviations else 0)
                             | (lib.FV2G_EXI_FRAGMENT if fragment else 0))
    except ExiEncodeError as exc:
        if traced is None:
            traced = TracedWriter(p, fragment, abstract_ok=allow_deviations)
            traced.message(message)
        path = traced.path_of(exc.event_index) if exc.event_index is not None else None
        raise ExiEncodeError(exc.text, protocol=sch.name, message=traced.root, element=path or exc.element,
                             bit_offset=exc.bit_offset, status=exc.status) from None


def encode_tape(protocol: str, tape: list[int], arena: bytes, *, allow_deviations: bool = False,
                fragment: bool = False) -> bytes:
    """Encode raw event tape words (see core/cext/exi_runtime.h) with the C encoder."""
    flags = ((lib.FV2G_EXI_ENC_ALLOW_DEVIATIONS if allow_deviations else 0)
             | (lib.FV2G_EXI_FRAGMENT if fragment else 0))
    return _encode_words(schema(protocol), tape, arena, flags)


def _encode_words(sch, tape: list[int], arena: bytes | bytearray, flags: int) -> bytes:
    if len(tape) > MAX_WORDS or len(arena) > ARENA_BYTES:
        raise ExiEncodeError("message too large", protocol=sch.name)
    s = _tls.s
    res = s.res
    n = len(tape)
    try:
        _words_struct(n).pack_into(s.tape_bytes, 0, *tape)
    except struct.error:
        array("q", tape)          # the OverflowError / TypeError of a word that is not an int64
        raise
    rc = lib.fv2g_exi_encode(sch.index, s.tape, n, ffi.from_buffer(arena), len(arena), s.out, MAX_MESSAGE_BYTES,
                             flags, res)
    if rc < 0:
        err = ExiEncodeError(STATUS_TEXT.get(rc, f"status {rc}"), protocol=sch.name,
                             message=sch.local(res.root) if res.root >= 0 else None,
                             element=sch.local(res.qname) if res.qname >= 0 else None,
                             bit_offset=res.bit_offset, status=rc)
        err.event_index = res.event_index
        raise err
    return s.out_buf[:rc]
