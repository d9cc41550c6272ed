import sys
from pathlib import Path

# Test helpers (wb_*.py) next to the tests; pytest runs with --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))

from freev2g.testing import virtual_loop  # noqa: E402,F401  (also provided by the pytest11 entry point)
