"""Imports run one way inside ``reference/stack`` (STYLE.md): no module reaches back to one that imports it,
whether at import time, inside a function or under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "reference" / "stack"


def _graph() -> dict[str, set[str]]:
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("reference.stack."):
                    found.add(node.module.split(".")[2])
                elif node.module == "reference.stack":
                    found |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("reference.stack.")}
        graph[path.stem] = found - {path.stem}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_reference_stack_has_no_import_cycle() -> None:
    graph = _graph()
    assert {"stack", "faults", "fault_steps", "scenario", "clients"} <= set(graph)
    graph.pop("__init__", None)  # the package's face imports everything, and nothing imports it back
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])
