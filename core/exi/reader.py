"""Event tape (from the C decoder) -> message dict."""
from __future__ import annotations

from typing import Any

from .errors import ExiDecodeError
from .plans import BIG, EV_AT, EV_CH, EV_EE, EV_SE, MASK64, Plans, big_from_arena


def read_message(p: Plans, t: list[int], arena: bytes, fragment: bool = False) -> dict[str, Any]:
    dconv = p.dconv
    plain = [c[0] == 0 for c in dconv]   # integers: the tape word is the value
    nplain = len(plain)
    attr_names = p.attr_names

    def value(dtw: int, v: int) -> Any:
        if dtw & BIG:
            off, ln = v >> 32, v & 0xFFFFFFFF
            return big_from_arena(arena[off:off + ln])
        code, extra = dconv[dtw]
        if code == 0:
            return v
        if code == 3:
            off = v >> 32
            return arena[off:off + (v & 0xFFFFFFFF)].decode("utf-8")
        if code == 4:
            off = v >> 32
            return arena[off:off + (v & 0xFFFFFFFF)]
        if code == 1:
            return v == 1
        if code == 2:
            return extra[v]
        return v & MASK64

    def simple(pos: int) -> tuple[Any, int]:
        w = t[pos]
        if w >> 24 == EV_EE:      # second-level EE: element without its value
            return None, pos + 1
        if w >> 24 != EV_CH or t[pos + 3] >> 24 != EV_EE:
            raise _mismatch(p, "simple element without one value", pos)
        return value(t[pos + 1], t[pos + 2]), pos + 4

    def complex_(plan: dict[int, tuple], pos: int) -> tuple[dict[str, Any], int]:
        obj: dict[str, Any] = {}
        while True:
            w = t[pos]
            kind = w >> 24
            if kind == EV_SE:
                f = plan.get(w & 0xFFFFFF)
                if f is None:
                    raise _mismatch(p, f"element {p.sch.local(w & 0xFFFFFF)}", pos)
                if f[2] is not None:
                    child, pos = complex_(f[2], pos + 1)
                else:  # simple element: SE CH EE inline (or a second-level EE: no value)
                    w2 = t[pos + 1] >> 24
                    if w2 == EV_CH and t[pos + 4] >> 24 == EV_EE:
                        dtw = t[pos + 2]
                        child = t[pos + 3] if dtw < nplain and plain[dtw] else value(dtw, t[pos + 3])
                        pos += 5
                    elif w2 == EV_EE:
                        child = None
                        pos += 2
                    else:
                        raise _mismatch(p, "simple element without one value", pos)
                if f[1]:
                    lst = obj.get(f[0])
                    if lst is None:
                        obj[f[0]] = [child]
                    else:
                        lst.append(child)
                else:
                    obj[f[0]] = child
            elif kind == EV_EE:
                return obj, pos + 1
            elif kind == EV_AT:
                obj[attr_names[w & 0xFFFFFF]] = value(t[pos + 1], t[pos + 2])
                pos += 3
            elif kind == EV_CH:
                obj["value"] = value(t[pos + 1], t[pos + 2])
                pos += 3
            else:
                raise _mismatch(p, "unknown event", pos)

    name, plan = (p.frag_roots if fragment else p.roots)[t[0] & 0xFFFFFF]
    val = simple(1)[0] if plan is None else complex_(plan, 1)[0]
    return {name: val}


def _mismatch(p: Plans, text: str, pos: int) -> ExiDecodeError:
    return ExiDecodeError(f"decoded stream does not match the schema description: {text}",
                          protocol=p.sch.name, element=f"tape word {pos}")
