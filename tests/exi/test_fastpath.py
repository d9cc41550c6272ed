"""The compiled per-type walkers (core/exi/fastpath.py) against the generic ones.

They are the hot path of encode()/decode(): whenever they accept a message or a tape, the
result must be exactly what the generic walkers (writer.py / reader.py) give, key order
included; whenever they refuse, the generic walkers decide. Messages: random grammar walks
(grammar_walk.py) over every protocol and every message of the Josev session fixtures.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from freev2g import exi
from freev2g.exi import codec
from freev2g.exi.fastpath import fast
from freev2g.exi.plans import plans
from freev2g.exi.reader import read_message
from freev2g.exi.writer import TracedWriter

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "interop" / "fixtures"
JOSEV = [(m["protocol"], bytes.fromhex(m["exi"])) for f in sorted(FIXTURES.glob("josev_*.json"))
         for m in json.loads(f.read_text())["messages"]]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"exi_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


W = _load("grammar_walk")
PROPS = settings(max_examples=100, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                        HealthCheck.data_too_large])


def _ordered(x):
    """Nested items with key order, so that == also compares the order of dict keys."""
    if isinstance(x, dict):
        return [(k, _ordered(v)) for k, v in x.items()]
    if isinstance(x, list):
        return [_ordered(v) for v in x]
    return (type(x).__name__, x)


def _same_both_ways(protocol: str, data: bytes, fragment: bool = False) -> tuple[bool, bool]:
    """Check fast == generic for decode and for encode; return which of them the fast path took."""
    p = plans(protocol)
    tape, arena = codec.decode_tape(protocol, data, fragment=fragment)
    generic = read_message(p, tape, arena, fragment=fragment)
    got = fast(protocol).decode(tape, arena, fragment=fragment)
    if got is not None:
        assert _ordered(got) == _ordered(generic)
    built = fast(protocol).encode(generic, fragment=fragment)
    if built is not None:
        w = TracedWriter(p, fragment, abstract_ok=True)
        w.message(generic)
        assert built[0] == w.tape and bytes(built[1]) == bytes(w.arena)
    return got is not None, built is not None


@pytest.mark.parametrize("protocol", list(exi.PROTOCOLS))
@PROPS
@given(data=st.data())
def test_fast_walkers_agree_with_generic_ones(protocol, data):
    w = W.walk(data.draw, protocol, avoid=W.abstract_names(protocol))
    assume(w is not None)
    _same_both_ways(protocol, codec.encode_tape(protocol, w.tape, bytes(w.arena)))


def test_josev_messages_take_the_fast_path_and_agree():
    taken = [_same_both_ways(protocol, data) for protocol, data in JOSEV]
    assert len(taken) >= 100
    assert all(dec and enc for dec, enc in taken), [m for m, t in zip(JOSEV, taken) if not all(t)][:3]


def test_refused_input_falls_back_to_the_precise_error():
    msg = exi.decode(JOSEV[0][0], JOSEV[0][1])
    root = next(iter(msg))
    bad = {root: dict(msg[root], NotAField=1)}
    assert fast(JOSEV[0][0]).encode(bad) is None
    with pytest.raises(exi.ExiEncodeError, match="NotAField"):
        exi.encode(JOSEV[0][0], bad)
