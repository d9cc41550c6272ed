"""The bridge's modules import each other without a circle (issue #13, structure).

Reads the package's own source with `ast` (module-level and function-level `from . import x` /
`from .x import y` alike: an import deferred into a function to dodge the circle still counts)
and looks for a cycle in that graph. OCPI_BRIDGE_SRC points it at another copy of the package
(used once to check that it fails on the code before the shared state moved to context.py).
"""
from __future__ import annotations

import ast
import os
from pathlib import Path

import freev2g_ocpi_bridge

PACKAGE = "freev2g_ocpi_bridge"


def _graph(src: Path) -> dict[str, set[str]]:
    modules = {p.stem for p in src.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in src.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 or node.module and node.module.startswith(PACKAGE):
                    base = (node.module or "").removeprefix(PACKAGE).lstrip(".") if node.level == 0 else (node.module or "")
                    if base:
                        deps.add(base.split(".")[0])
                    else:
                        deps.update(a.name for a in node.names if a.name in modules)
        deps.discard("__init__")
        graph[path.stem] = {d for d in deps if d in modules and d != path.stem}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (found := visit(m)):
                return found
        state[n] = 2
        stack.pop()
        return None

    for n in sorted(graph):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_no_import_circle():
    src = Path(os.environ.get("OCPI_BRIDGE_SRC") or Path(freev2g_ocpi_bridge.__file__).parent)
    graph = _graph(src)
    assert "server" in graph and "routes" in graph, f"not the bridge's source: {src}"
    cycle = _cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)
