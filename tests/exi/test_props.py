"""Hypothesis properties of the EXI codec over every generated grammar (fact sheet §8.3).

Messages come from random walks over the grammar tables in the C core (grammar_walk.py):
optional elements, choices/substitution groups, repetitions up to their bounds, values at and
inside their facets. Properties: decode(encode(x)) == x at the event level and through the
message-dict API; a value just outside its facets is a declared ExiEncodeError; random bytes,
bit flips and truncations are a declared ExiDecodeError or a valid decode, never a crash.
tests/sanitizer/run.sh runs this file again against the ASan+UBSan build of the C core.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from freev2g import exi
from freev2g.exi import codec

HERE = Path(__file__).resolve().parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"exi_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


W = _load("grammar_walk")
V = _load("vectors")

PROPS = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                        HealthCheck.data_too_large])
PROTOCOLS = list(exi.PROTOCOLS)
# Repeated choices whose element order a dict cannot keep (xmldsig KeyInfo & its children).
ORDER_LOSING = frozenset({"KeyInfo", "X509Data", "PGPData", "SPKIData"})
RANGE_OR_LENGTH = {-105, -106}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPS
@given(data=st.data())
def test_event_round_trip(protocol, data):
    w = W.walk(data.draw, protocol)
    assume(w is not None)
    encoded = codec.encode_tape(protocol, w.tape, bytes(w.arena))
    tape2, arena2 = codec.decode_tape(protocol, encoded)
    assert W.normalise(protocol, tape2, arena2) == W.normalise(protocol, w.tape, bytes(w.arena))


@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPS
@given(data=st.data())
def test_message_round_trip(protocol, data):
    w = W.walk(data.draw, protocol, avoid=ORDER_LOSING | W.abstract_names(protocol))
    assume(w is not None)
    encoded = codec.encode_tape(protocol, w.tape, bytes(w.arena))
    msg = exi.decode(protocol, encoded, any_root=True)
    assert exi.encode(protocol, msg, any_root=True) == encoded
    assert exi.from_json(protocol, exi.to_json(protocol, msg)) == msg


@pytest.mark.parametrize("protocol", ["din", "iso2", "iso20-common", "iso20-dc", "iso20-ac", "xmldsig"])
@PROPS
@given(data=st.data())
def test_fragment_round_trip(protocol, data):
    w = W.walk(data.draw, protocol, avoid=ORDER_LOSING | W.abstract_names(protocol), fragment=True)
    assume(w is not None)
    encoded = codec.encode_tape(protocol, w.tape, bytes(w.arena), fragment=True)
    tape2, arena2 = codec.decode_tape(protocol, encoded, fragment=True)
    assert W.normalise(protocol, tape2, arena2) == W.normalise(protocol, w.tape, bytes(w.arena))
    element = exi.decode_fragment(protocol, encoded)
    assert exi.encode_fragment(protocol, element) == encoded


# xmldsig-core alone has no bounded type (strings, base64Binary, xs:integer only)
@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p != "xmldsig"])
@PROPS
@given(data=st.data())
def test_value_outside_facets_is_declared_encode_error(protocol, data):
    w = W.walk(data.draw, protocol, violate=True)
    assume(w is not None and w.violations == 1)
    with pytest.raises(exi.ExiEncodeError) as ei:
        codec.encode_tape(protocol, w.tape, bytes(w.arena))
    assert ei.value.status in RANGE_OR_LENGTH
    assert ei.value.bit_offset is not None


@pytest.mark.parametrize("protocol", PROTOCOLS)
@PROPS
@given(tail=st.binary(max_size=200), header=st.sampled_from([b"\x80", b""]))
def test_random_bytes_never_crash(protocol, tail, header):
    try:
        msg = exi.decode(protocol, header + tail, any_root=True)
    except exi.ExiDecodeError as e:
        assert e.protocol == protocol
    else:  # a valid document by chance: it re-encodes to the same content (minimal integers)
        again = exi.encode(protocol, msg, allow_deviations=True, any_root=True)
        assert exi.decode(protocol, again, any_root=True) == msg


@PROPS
@given(vector=st.sampled_from(V.VALID), data=st.data())
def test_bit_flips_and_truncations_of_vectors(vector, data):
    raw = bytearray(V.data(vector))
    bit = data.draw(st.integers(8, len(raw) * 8 - 1))
    raw[bit // 8] ^= 0x80 >> (bit % 8)
    cut = data.draw(st.integers(1, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        try:
            msg = exi.decode(vector[0], candidate, any_root=True)
        except exi.ExiDecodeError as e:
            assert e.bit_offset is not None
        else:  # same content; bytes may differ only by non-minimal Unsigned forms
            again = exi.encode(vector[0], msg, allow_deviations=True, any_root=True)
            assert exi.decode(vector[0], again, any_root=True) == msg


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_sap_request_entry_counts(n):
    entries = [{"ProtocolNamespace": f"urn:example:{i}", "VersionNumberMajor": 2, "VersionNumberMinor": i,
                "SchemaID": i, "Priority": 1 + i % 20} for i in range(n)]
    msg = {"supportedAppProtocolReq": {"AppProtocol": entries}}
    assert exi.decode("sap", exi.encode("sap", msg)) == msg


def _sap(**over):
    entry = {"ProtocolNamespace": "urn:din:70121:2012:MsgDef", "VersionNumberMajor": 2,
             "VersionNumberMinor": 0, "SchemaID": 1, "Priority": 1}
    entry.update(over)
    return {"supportedAppProtocolReq": {"AppProtocol": [entry]}}


@pytest.mark.parametrize("field,ok,bad", [
    ("Priority", [1, 20], [0, 21]),
    ("SchemaID", [0, 255], [-1, 256]),
    ("VersionNumberMajor", [0, 2**32 - 1], [-1, 2**32]),
    ("ProtocolNamespace", ["u" * 100, ""], ["u" * 101]),
])
def test_sap_facets_at_and_outside_bounds(field, ok, bad):
    for v in ok:
        assert exi.decode("sap", exi.encode("sap", _sap(**{field: v}))) == _sap(**{field: v})
    for v in bad:
        with pytest.raises(exi.ExiEncodeError) as ei:
            exi.encode("sap", _sap(**{field: v}))
        assert "AppProtocol" in (ei.value.element or "")


def test_sap_more_than_20_entries_is_declared_error():
    msg = {"supportedAppProtocolReq": {"AppProtocol": [_sap()["supportedAppProtocolReq"]["AppProtocol"][0]] * 21}}
    with pytest.raises(exi.ExiEncodeError, match="not allowed") as ei:
        exi.encode("sap", msg)
    assert ei.value.element == "supportedAppProtocolReq/AppProtocol[20]"


def test_abstract_element_needs_allow_deviations():
    """-2 BodyElement is abstract: in the EXI grammar (Body code 2, sheet §2.6) but never valid."""
    msg = {"V2G_Message": {"Header": {"SessionID": b"\x01"}, "Body": {"BodyElement": {}}}}
    with pytest.raises(exi.ExiEncodeError, match="abstract") as ei:
        exi.encode("iso2", msg)
    assert ei.value.element == "V2G_Message/Body/BodyElement"
    data = exi.encode("iso2", msg, allow_deviations=True)
    assert exi.decode("iso2", data) == msg


def test_message_shape_errors_name_the_field():
    with pytest.raises(exi.ExiEncodeError, match="unknown field"):
        exi.encode("din", {"V2G_Message": {"Header": {"SessionID": b"1", "Bogus": 1}}})
    with pytest.raises(exi.ExiEncodeError, match="not one of"):
        exi.encode("sap", {"supportedAppProtocolRes": {"ResponseCode": "OK"}})
    with pytest.raises(exi.ExiEncodeError, match="not a global element"):
        exi.encode("din", {"NoSuchMessage": {}})
    with pytest.raises(exi.ExiEncodeError, match="not a message"):
        exi.encode("din", {"CurrentDemandReq": {}})
    with pytest.raises(exi.ExiEncodeError, match="not allowed") as ei:  # Body missing
        exi.encode("din", {"V2G_Message": {"Header": {"SessionID": b"1"}}})
    assert ei.value.message == "V2G_Message"
