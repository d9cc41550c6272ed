"""The distribution carries the C core: sdist has every C source and header, and a wheel built
from that sdist (not from the checkout) is a stable-ABI (abi3) wheel with a working extension."""
from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CEXT = ROOT / "core" / "cext"


def build(*args: str, cwd: Path) -> None:
    # --no-isolation: setuptools, wheel and cffi come from this environment (no downloads).
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", *args],
                          cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    build("--sdist", "--outdir", str(out), cwd=ROOT)
    (archive,) = out.glob("freev2g-*.tar.gz")
    return archive


def test_sdist_contains_every_c_source_and_header(sdist: Path) -> None:
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    expected = {f"core/cext/{p.name}" for pattern in ("*.c", "*.h") for p in CEXT.glob(pattern)}
    assert expected and expected <= names, sorted(expected - names)
    assert {"core/cext/build_ffi.py", "setup.py", "pyproject.toml"} <= names


def test_wheel_built_from_sdist_is_abi3_and_imports(sdist: Path, tmp_path: Path) -> None:
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "src", filter="data")
    (unpacked,) = (tmp_path / "src").iterdir()
    build("--wheel", "--outdir", str(tmp_path / "wheel"), cwd=unpacked)
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    assert "-cp311-abi3-" in wheel.name, wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "installed")
    assert any(n.startswith("freev2g/_core") and n.endswith(".so") for n in names), names
    assert "freev2g/_core.abi3.so" in names
    # The extension from the wheel (first on sys.path) really works.
    probe = ("import freev2g.framing as f, freev2g.timing as t; "
             "assert f.__file__.startswith(%r), f.__file__; "
             "assert f.encode_frame(0x10, 0x41, 1) == bytes.fromhex('C0104101 00002BC1'); "
             "print(f.CORE_MODULE_NAME)") % str(tmp_path / "installed")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path / "installed"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "freev2g._core"
