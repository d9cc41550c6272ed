"""EXI codec for V2G messages: supportedAppProtocol, DIN 70121, ISO 15118-2, ISO 15118-20.

    from freev2g import exi
    data = exi.encode("din", {"V2G_Message": {"Header": {...}, "Body": {...}}})
    msg = exi.decode("din", data)
    exi.to_json("din", msg)  # bytes as hex (hexBinary) / base64 (base64Binary), JSON-safe

Grammars and type descriptions are generated from the XSDs by tools/exigen (`make exi-gen`);
the codec itself is C (core/cext/exi_*.c). Errors are ExiDecodeError / ExiEncodeError with the
protocol, message, place and bit offset.
"""
from __future__ import annotations

from .codec import decode, decode_fragment, encode, encode_fragment, prepare
from .errors import ExiDecodeError, ExiEncodeError, ExiError
from .json_form import from_json, to_json
from .schemas import PAYLOAD_TYPES, PROTOCOLS, canonical

__all__ = ["PAYLOAD_TYPES", "PROTOCOLS", "ExiDecodeError", "ExiEncodeError", "ExiError", "canonical", "decode", "prepare",
           "decode_fragment", "encode", "encode_fragment", "from_json", "to_json"]
