"""The documentation keeps up with the code: every command and every HTTP route is in
docs/contract.md, and every rule the code cites ("rule 8") is a numbered rule of
docs/domain.md.

The commands come from the parser the `tovholder` entry point builds and the routes from
the application factory, so the test follows modules wherever they move.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path
from typing import get_type_hints

import pytest
from starlette.routing import BaseRoute

from server.app import create_app
from tovholder.__main__ import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CODE_DIRS = ("core", "sync", "server", "client", "tovholder", "tests")
RULE_CITATION = re.compile(r"\b[Rr]ules? (\d+)(?:(?:,| and| to) (\d+))*")


def contract() -> str:
    return (DOCS / "contract.md").read_text()


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path reachable from the parser, groups and leaves alike."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name)
                yield from commands(sub, (*path, name))


def route_paths(routes: list[BaseRoute]) -> Iterator[str]:
    for route in routes:
        path = getattr(route, "path", None)
        if isinstance(path, str):
            sub = getattr(route, "routes", None)
            if sub:
                yield from (path + p for p in route_paths(list(sub)))
            else:
                yield path


def test_every_command_is_in_the_contract() -> None:
    text = contract()
    missing = [" ".join(c) for c in commands(build_parser()) if f"tovholder {' '.join(c)}" not in text]
    # A client command is written `tovholder client --data DIR case open` in the contract.
    missing = [
        c
        for c in missing
        if not (c.startswith("client ") and f"tovholder client --data DIR {c.removeprefix('client ')}" in text)
    ]
    assert not missing, f"commands not in docs/contract.md: {missing}"


def test_every_route_is_in_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # As tests/server/conftest.py does, but through the command and the factory's own
    # signature, so the test does not depend on where the server context lives.
    folder = tmp_path / "server"
    assert main(["server", "init", str(folder), "--json"]) == 0
    capsys.readouterr()  # the admin token
    context_class = get_type_hints(create_app)["ctx"]
    ctx = context_class.open(folder, {})
    try:
        paths = sorted(set(route_paths(list(create_app(ctx).routes))))
    finally:
        ctx.close()
    assert "/v1/sync/push" in paths and "/v1/departments/{dept}/cases/{case}" in paths
    text = contract()
    # A path counts only as itself: `/ui` inside `/ui/cases` does not count for `/ui`.
    missing = [p for p in paths if not re.search(re.escape(p) + r"(?![\w/{}-])", text)]
    assert not missing, f"routes not in docs/contract.md: {missing}"


def cited_rules() -> dict[int, list[str]]:
    """Rule numbers cited in the code and tests, with where."""
    cited: dict[int, list[str]] = {}
    for top in CODE_DIRS:
        for file in sorted((ROOT / top).rglob("*.py")):
            for n, line in enumerate(file.read_text().splitlines(), start=1):
                for m in RULE_CITATION.finditer(line):
                    numbers = [int(x) for x in re.findall(r"\d+", m.group(0))]
                    if " to " in m.group(0):
                        numbers = list(range(numbers[0], numbers[-1] + 1))
                    # Three digits after "rule" are an HTTP status ("a broken rule 422").
                    for number in (n for n in numbers if n < 100):
                        cited.setdefault(number, []).append(f"{file.relative_to(ROOT)}:{n}")
    return cited


def numbered_rules() -> set[int]:
    """The numbers of the list under the rules heading of docs/domain.md."""
    text = (DOCS / "domain.md").read_text()
    section = text.split("## Rules that the software holds", 1)[1].split("\n## ", 1)[0]
    return {int(m) for m in re.findall(r"^(\d+)\. \*\*", section, flags=re.MULTILINE)}


def test_every_cited_rule_is_numbered_in_the_domain() -> None:
    cited = cited_rules()
    numbered = numbered_rules()
    assert numbered == set(range(1, len(numbered) + 1)), "the rules of docs/domain.md are numbered 1, 2, 3, ..."
    assert {1, 2, 8} <= set(cited), "the code cites rules; the pattern no longer finds them"
    unknown = {n: where for n, where in cited.items() if n not in numbered}
    assert not unknown, f"rules cited in the code but not numbered in docs/domain.md: {unknown}"
