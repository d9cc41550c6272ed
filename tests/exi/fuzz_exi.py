"""Time-boxed mutation fuzzer for the EXI decoder (and encoder on whatever decodes).

    FREEV2G_CORE_MODULE=... python tests/exi/fuzz_exi.py SECONDS [SEED]

Mutates the public vectors (bit flips, byte changes, truncation, splices, random tails) and
decodes each candidate with every grammar. Anything but a declared ExiDecodeError or a valid
decode that re-encodes to the same bytes (or, for streams with non-minimal Unsigned Integer
forms, to bytes that decode to the same message) is a failure (exit 1). Run it against the ASan+UBSan
build (tests/sanitizer/run.sh shows how that module is built) so memory errors abort loudly.
Not collected by pytest (file name); tests/exi/test_props.py has the quick properties.
"""
from __future__ import annotations

import importlib.util
import random
import sys
import time
from pathlib import Path

from freev2g import exi

_spec = importlib.util.spec_from_file_location("exi_vectors", Path(__file__).with_name("vectors.py"))
V = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(V)


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    b = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        if op == 0 and len(b) > 1:
            bit = rng.randrange(8, len(b) * 8)
            b[bit // 8] ^= 0x80 >> (bit % 8)
        elif op == 1 and len(b) > 1:
            b[rng.randrange(1, len(b))] = rng.randrange(256)
        elif op == 2:
            del b[rng.randrange(1, len(b) + 1):]
        elif op == 3:
            other = rng.choice(seeds)
            cut = rng.randrange(1, len(other) + 1)
            b = b[:rng.randrange(1, len(b) + 1)] + other[cut:]
        elif op == 4:
            b += rng.randbytes(rng.randrange(1, 16))
        else:
            b = bytearray(b"\x80") + rng.randbytes(rng.randrange(0, 64))
    return bytes(b)


def main(argv: list[str]) -> int:
    seconds = float(argv[1]) if len(argv) > 1 else 10.0
    rng = random.Random(int(argv[2]) if len(argv) > 2 else 15118)
    seeds = [V.data(v) for v in V.VALID]
    protocols = list(exi.PROTOCOLS)
    end = time.monotonic() + seconds
    n = valid = errors = relaxed = 0
    while time.monotonic() < end:
        data = mutate(rng, seeds)
        for proto in protocols:
            for fragment in (False, True):
                n += 1
                try:
                    if fragment:
                        msg = exi.decode_fragment(proto, data)
                    else:
                        msg = exi.decode(proto, data, any_root=True)
                except exi.ExiDecodeError:
                    errors += 1
                    continue
                valid += 1
                again = (exi.encode_fragment(proto, msg, allow_deviations=True) if fragment else
                         exi.encode(proto, msg, allow_deviations=True, any_root=True))
                if again != data:  # legal only for non-minimal Unsigned forms: same content
                    back = exi.decode_fragment(proto, again) if fragment else exi.decode(proto, again, any_root=True)
                    if back != msg:
                        print(f"FAIL: {proto} fragment={fragment} {data.hex()} re-encodes to {again.hex()}")
                        return 1
                    relaxed += 1
    print(f"fuzz: {n} decodes in {seconds:.0f} s: {errors} declared errors, {valid} valid "
          f"({valid - relaxed} re-encoded byte-identically, {relaxed} with non-minimal integers re-encoded "
          f"to the same content), no crash")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
