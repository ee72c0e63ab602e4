"""DESIGN.md's layers: each package imports only from the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

LAYERS = ["api", "store", "runtime", "controllers", "engines", "node", "kube", "server", "cli"]
TOP = {"server", "cli"}  # the top layer: may import every other, and each other
ROOT = Path(__file__).resolve().parents[2] / "petset"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {m.split(".")[1] for m in found if m.startswith("petset.") and m.count(".") >= 1}


def test_each_layer_imports_only_layers_above_it() -> None:
    problems = []
    for layer in LAYERS:
        allowed = set(LAYERS[: LAYERS.index(layer) + 1])
        if layer in TOP:
            allowed |= TOP
        for path in sorted((ROOT / layer).rglob("*.py")):
            for target in _imports(path) - allowed:
                if target in LAYERS:
                    problems.append(f"{path.relative_to(ROOT.parent)} imports petset.{target}")
    assert not problems, "layer violations (see DESIGN.md):\n" + "\n".join(problems)


def test_api_layer_does_no_io() -> None:
    banned = {"subprocess", "socket", "sqlite3", "httpx", "threading"}
    problems = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            problems += [f"{path.name} imports {n}" for n in names if n in banned]
    assert not problems, problems
