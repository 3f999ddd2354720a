"""Dependencies point one way: core -> sync -> server / client, never upward.

Parses every module's imports (including those inside functions) and fails on an edge
that ARCHITECTURE.md forbids.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN: dict[str, set[str]] = {
    "core": {"sync", "server", "client", "tovholder", "starlette", "uvicorn", "httpx"},
    "sync": {"server", "client", "tovholder", "starlette", "uvicorn"},
    "server": {"client", "tovholder"},
    "client": {"server", "tovholder"},
}


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


def upward_edges(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for top, line in imported_packages(path):
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package: str) -> None:
    assert (ROOT / package).is_dir()
    assert upward_edges(package) == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from server.app import x\n    import sync.protocol\n")
    assert imported_packages(module) == {("os", 1), ("server", 4), ("sync", 5)}
