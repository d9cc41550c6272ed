from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    """A fresh test PKI made by the same code as `make pki` (openssl CLI)."""
    from freev2g_v2g_wire.pki import make_pki

    out = tmp_path_factory.mktemp("pki")
    make_pki(out)
    return out
