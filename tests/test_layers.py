"""The layout holds: dependencies point one way, nothing imports in a circle, SQL stays home.

docs/architecture.md: core -> sync -> server / client, never upward; the
composition root `tovholder/` alone may import both ends. Parses every module's imports
(those inside functions too) and fails on:

- an edge the layers forbid;
- an import cycle between the project's modules;
- an import inside a function that would close a cycle if it stood at the top (an import
  made late to dodge a cycle; late imports that only save start-up time are fine);
- SQL outside the storage seam and the projections that own their tables.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "sync", "server", "client", "tovholder")
FORBIDDEN: dict[str, set[str]] = {
    "core": {"sync", "server", "client", "tovholder", "starlette", "uvicorn", "httpx"},
    "sync": {"server", "client", "tovholder", "starlette", "uvicorn"},
    "server": {"client", "tovholder"},
    "client": {"server", "tovholder"},
}

# The modules that may hold SQL: the storage seam of the log, and the stores and
# projections that own their tables.
SQL_HOMES = {
    # the storage seam of the log: its own tables, written once for both backends
    "core.logtables",
    "core.recorders",
    "core.storage",
    # database plumbing: WAL checkpoints, where each case ends
    "core.checkpoint",
    "core.heads",
    "client.database",
    # projections and stores that own their tables
    "core.projection",
    "core.case_index",
    "core.cpr_index",
    "core.access_log",
    "core.monitoring",
    "server.store",
    "client.store",
}

SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(UNIQUE\s+)?(TABLE|INDEX)|"
    r"DROP\s+TABLE|ALTER\s+TABLE|PRAGMA\s+\w+)",
    re.DOTALL,
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) for every absolute import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update((alias.name.split(".")[0], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules an import statement loads (a `from p import m` of a submodule too)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level == 0 and node.module:
        names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    else:
        names = []
    for name in names:
        if name in modules:
            yield name


def _late_imports(tree: ast.Module) -> set[int]:
    """Ids of the import nodes that sit inside a function body."""
    late: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            late.update(id(n) for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom))
    return late


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """Module-level edges between project modules, and the late (function-level) ones."""
    modules = project_modules()
    edges: dict[str, set[str]] = {name: set() for name in modules}
    late_edges: list[tuple[str, str, int]] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        late = _late_imports(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in _targets(node, modules):
                    if target == name:
                        continue
                    if id(node) in late:
                        late_edges.append((name, target, node.lineno))
                    else:
                        edges[name].add(target)
    return edges, late_edges


def reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def upward_edges(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for top, line in imported_packages(path):
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    return bad


def sql_outside_its_homes() -> list[str]:
    bad = []
    for name, path in project_modules().items():
        if name in SQL_HOMES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package: str) -> None:
    assert (ROOT / package).is_dir()
    assert upward_edges(package) == []


def test_no_import_cycles() -> None:
    edges, _ = import_graph()
    assert cycles(edges) == []


def test_no_late_import_dodges_a_cycle() -> None:
    edges, late = import_graph()
    dodging = [f"{m}:{line} imports {t} late" for m, t, line in late if reaches(edges, t, m)]
    assert dodging == []


def test_sql_lives_in_the_storage_seam_and_the_projections_that_own_their_tables() -> None:
    assert all(name in project_modules() for name in SQL_HOMES), "a listed home of SQL no longer exists"
    assert sql_outside_its_homes() == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from server.app import x\n    import sync.protocol\n")
    assert imported_packages(module) == {("os", 1), ("server", 4), ("sync", 5)}


def test_the_checks_see_a_cycle_and_sql() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert reaches({"a": {"b"}, "b": {"c"}}, "a", "c")
    assert not reaches({"a": {"b"}, "b": set()}, "b", "a")
    assert SQL.search("SELECT state FROM stored_events WHERE x = ?")
    assert SQL.search("INSERT INTO devices (id) VALUES (?)")
    assert not SQL.search("select a person from the list")
