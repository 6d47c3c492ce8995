"""The import graph keeps the shape docs/architecture.md describes.

Read from the source with `ast` (nothing is imported), so a violation names the module and
the import line to change.
- no cycles between modules (a package's `__init__` importing its own route modules is
  composition, as in microblog's blueprints, not a dependency);
- the lower layers (models, database and other infrastructure, pure helpers) never import a
  feature package;
- no module imports another module's `_private` name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FEATURES = (
    "auth",
    "links",
    "live",
    "tracking",
    "webhooks",
    "sandbox",
    "api",
    "audit",
    "alerts",
    "outbound",
    "mail",
    "organisation",
    "insights",
    "savedviews",
    "retention",
)
# Modules every feature may build on; none of them may reach up into a feature.
LOWER_LAYERS = (
    "webapp.models",
    "webapp.extensions",
    "webapp.database",
    "webapp.config",
    "webapp.pagination",
    "webapp.display",
    "webapp.outbox",
)


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in (ROOT / "webapp").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every webapp import in `name`."""
    path, _ = MODULES[name]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("webapp"):
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                target = child if child in MODULES else node.module
                found.append((target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend(
                (alias.name, "", node.lineno)
                for alias in node.names
                if alias.name.startswith("webapp")
            )
    return found


def _edges() -> dict[str, set[str]]:
    edges = {}
    for name, (_, is_package) in MODULES.items():
        targets = {target for target, _, _ in _imports(name) if target in MODULES}
        # A package importing its own children registers routes; not a dependency.
        edges[name] = {
            t for t in targets if t != name and not (is_package and t.startswith(name + "."))
        }
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle():
    assert _cycles(_edges()) == []


def test_the_cycle_check_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


LOWER_MODULES = sorted(
    name
    for name in MODULES
    if any(name == layer or name.startswith(layer + ".") for layer in LOWER_LAYERS)
)


@pytest.mark.parametrize("name", LOWER_MODULES)
def test_lower_layers_never_import_a_feature(name):
    features = tuple(f"webapp.{feature}" for feature in FEATURES)
    upward = [
        f"line {line}: {target}"
        for target, _, line in _imports(name)
        if target.startswith(features)
    ]
    assert upward == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_a_private_name(name):
    private = [
        f"line {line}: {target}.{imported}"
        for target, imported, line in _imports(name)
        if imported.startswith("_") and not imported.startswith("__")
    ]
    assert private == []


def test_tests_and_benchmarks_use_public_names_only():
    offenders = []
    for folder in ("tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("webapp"):
                    offenders.extend(
                        f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{alias.name}"
                        for alias in node.names
                        if alias.name.startswith("_") and not alias.name.startswith("__")
                    )
    assert offenders == []
