"""Interop tests against Josev (issue #18). The environment comes from `make interop-env`
(tests/interop/setup_env.sh); without it these tests fail with that instruction, never skip."""
import sys
from pathlib import Path

import pytest

# Helpers (josev_*.py) next to the tests; pytest runs with
# --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

from josev_oracle import JosevExi, JosevUnavailable  # noqa: E402


@pytest.fixture(scope="session")
def josev_exi():
    """One Josev EXI oracle (one JVM) shared by the whole test session."""
    try:
        oracle = JosevExi().start()
    except JosevUnavailable as exc:
        pytest.fail(str(exc))
    yield oracle
    oracle.close()
