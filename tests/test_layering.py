"""The house's forbidden arrows, read from the code: every import of every module of hf_access.

Imports inside functions (lazy ones) count; imports under ``if TYPE_CHECKING:`` do not (they
never run). The rules are those of ARCHITECTURE.md:

- no import circle anywhere in hf_access;
- ``core`` imports no other part of the library;
- ``hub`` and ``gitlab`` never import each other;
- ``fleet`` imports only ``core``;
- nothing but ``cli`` imports ``cli``;
- ``testing`` imports nothing from the rest of the library;
- ``cli`` imports no ``_private`` module from outside ``cli``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hf_access"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, lazy ones included, skipping ``if TYPE_CHECKING:`` bodies."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _resolve(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The hf_access modules an import statement names (``from . import x`` names ``pkg.x``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith("hf_access")]
    if node.level == 0:
        base = node.module or ""
        if not base.startswith("hf_access"):
            return []
    else:
        parts = module.split(".")
        if not is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    # `from pkg import module` depends on the module; `from pkg import name` on pkg itself.
    modules = [f"{base}.{a.name}" for a in node.names if _exists(f"{base}.{a.name}")]
    return modules if len(modules) == len(node.names) else [base, *modules]


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _imports(tree):
            for target in _resolve(module, path.name == "__init__.py", node):
                if target != module and _exists(target):
                    edges.add(target)
        graph[module] = edges
    return graph


GRAPH = _graph()


def _part(module: str) -> str:
    """``hf_access.hub.client`` -> ``hub``; ``hf_access._version`` -> ``_version``; the
    package itself (the public face) -> ``hf_access``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "hf_access"


def _arrows() -> Iterator[tuple[str, str]]:
    for source, targets in GRAPH.items():
        for target in targets:
            yield source, target


def test_the_graph_is_read() -> None:
    assert "hf_access.core.transport" in GRAPH
    assert "hf_access.core.sansio" in GRAPH["hf_access.core.transport"]
    assert "hf_access.hub.wire" in GRAPH["hf_access.hub.client"]


def test_no_import_circle() -> None:
    """Tarjan's strongly connected components: every one must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH.get(node, ())):
            # A package's __init__ importing its own submodules is how packages re-export;
            # a submodule importing its package's __init__ back would be the circle.
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
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert circles == []


@pytest.mark.parametrize(
    ("part", "allowed"),
    [
        ("core", set()),
        ("hub", {"core"}),
        ("gitlab", {"core"}),
        ("fleet", {"core"}),
        ("testing", set()),
    ],
)
def test_what_each_part_may_import(part: str, allowed: set[str]) -> None:
    # The version string is the one module outside the parts that every part may read.
    allowed = allowed | {part, "_version"}
    wrong = sorted(
        f"{source} -> {target}"
        for source, target in _arrows()
        if _part(source) == part and _part(target) not in allowed
    )
    assert wrong == []


def test_only_cli_imports_cli() -> None:
    wrong = sorted(
        f"{source} -> {target}"
        for source, target in _arrows()
        if _part(target) == "cli" and _part(source) != "cli"
    )
    assert wrong == []


def test_cli_imports_no_private_module_of_another_part() -> None:
    def private(module: str) -> bool:
        return any(
            piece.startswith("_") and not piece.startswith("__") for piece in module.split(".")
        )

    wrong = sorted(
        f"{source} -> {target}"
        for source, target in _arrows()
        if _part(source) == "cli" and _part(target) != "cli" and private(target)
    )
    assert wrong == []


def test_the_rules_catch_a_forbidden_arrow(tmp_path: Path) -> None:
    """The reader itself: a lazy import counts, a TYPE_CHECKING one does not."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ..hub import client\n"
        "def f():\n"
        "    from ..gitlab import wire\n"
    )
    tree = ast.parse(source)
    names = [t for n in _imports(tree) for t in _resolve("hf_access.core.x", False, n)]
    assert "hf_access.gitlab.wire" in names
    assert not any(name.startswith("hf_access.hub") for name in names)
