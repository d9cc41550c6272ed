"""Client for the Josev EXI oracle (tests/interop/josev_exi.py running in .venv-josev).

    with JosevExi() as josev:
        msg = josev.decode("din", bytes.fromhex("809a02..."))   # -> {"V2G_Message": {...}}
        data = josev.encode("din", msg)                           # -> bytes

Namespaces: sap, din, iso2, iso20-common, iso20-dc, iso20-ac, iso20-wpt, iso20-acdp (or URNs).
One JVM per JosevExi; it stays up until close().
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).with_name("josev_exi.py")


class JosevUnavailable(RuntimeError):
    """The interop environment is missing or Josev's codec could not start."""


class JosevExiError(RuntimeError):
    """Josev's codec refused a message (the text is Josev's reason)."""


def josev_venv() -> Path:
    return Path(os.environ.get("JOSEV_VENV", ROOT / ".venv-josev"))


def josev_python() -> Path:
    py = josev_venv() / "bin" / "python"
    if not py.exists():
        raise JosevUnavailable(f"{py} is missing: run `make interop-env` (tests/interop/setup_env.sh)")
    return py


@attrs.define
class JosevExi:
    timeout_s: float = 60.0
    version: str = ""
    _proc: subprocess.Popen | None = attrs.field(default=None, init=False)
    _sel: selectors.BaseSelector | None = attrs.field(default=None, init=False)
    _buf: bytes = attrs.field(default=b"", init=False)
    _err: Any = attrs.field(default=None, init=False)
    _next_id: int = attrs.field(default=0, init=False)

    def start(self) -> "JosevExi":
        self._err = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [str(josev_python()), str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._err, cwd=str(ROOT),
        )
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._proc.stdout, selectors.EVENT_READ)
        hello = self._read_line(self.timeout_s)
        if not hello.get("ready"):
            self.close()
            raise JosevUnavailable(f"Josev's EXI codec did not start: {hello.get('error', hello)}")
        self.version = str(hello.get("version", ""))
        return self

    def __enter__(self) -> "JosevExi":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is None:
            return
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        finally:
            self._proc.stdout.close()
            self._sel.close()
            self._err.close()
            self._proc = None

    def decode(self, ns: str, data: bytes | str) -> dict[str, Any]:
        hexstr = data.hex() if isinstance(data, (bytes, bytearray)) else "".join(str(data).split())
        return self.call(op="decode", ns=ns, hex=hexstr)["json"]

    def encode(self, ns: str, message: dict[str, Any]) -> bytes:
        return bytes.fromhex(self.call(op="encode", ns=ns, json=message)["hex"])

    def bench(self, ns: str, message: dict[str, Any], n: int = 100) -> float:
        """Mean seconds per encode+decode of `message`, measured inside the oracle process."""
        return float(self.call(op="bench", ns=ns, json=message, n=n)["seconds_per_message"])

    def call(self, **req: Any) -> dict[str, Any]:
        if self._proc is None:
            raise JosevUnavailable("JosevExi is not started (use it as a context manager or call start())")
        self._next_id += 1
        req["id"] = self._next_id
        self._proc.stdin.write((json.dumps(req) + "\n").encode())
        self._proc.stdin.flush()
        ans = self._read_line(self.timeout_s)
        if ans.get("id") != req["id"]:
            raise JosevUnavailable(f"oracle answered out of order: sent id {req['id']}, got {ans}")
        if not ans.get("ok"):
            raise JosevExiError(f"Josev {req['op']} ({req.get('ns')}): {ans.get('error')}")
        return ans

    def _read_line(self, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self._sel.select(left):
                raise JosevUnavailable(f"no answer from Josev's EXI oracle within {timeout_s:.0f} s")
            chunk = os.read(self._proc.stdout.fileno(), 65536)
            if not chunk:
                self._proc.wait(timeout=10)
                self._err.seek(0)
                tail = self._err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
                raise JosevUnavailable(f"Josev's EXI oracle exited (status {self._proc.returncode}): {tail[0]}")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)
