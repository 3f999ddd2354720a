"""What a field command loads: only its own group, never the server, PostgreSQL or HTTP.

Each command runs as a real process (`python -m tovholder ...` on a real laptop store)
that reports the modules it had loaded when it finished. Start-up time itself is
measured by `python -m bench.startup`, never asserted here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from client.laptop import Laptop
from tovholder.__main__ import COMMANDS, GROUPS, build_parser, command_of

from .conftest import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
# Runs one command through the real entry point, then writes the names of the modules it
# loaded to the file named by the first argument.
REPORT_MODULES = """
import json, sys
from tovholder.__main__ import main
report, argv = sys.argv[1], sys.argv[2:]
try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
with open(report, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""
HEAVY = ("server", "starlette", "uvicorn", "psycopg", "jinja2", "httpx", "eventsourcing", "sync.protocol")


def loaded_by(tmp_path: Path, *argv: str) -> set[str]:
    report = tmp_path / "modules.json"
    env = {**os.environ, "TOVHOLDER_PASSPHRASE": PASSPHRASE}
    done = subprocess.run(
        [sys.executable, "-c", REPORT_MODULES, str(report), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(report.read_text())
    assert result["code"] in (0, None), done.stderr
    return set(result["modules"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.fixture
def laptop_case(make_laptop: Callable[..., Laptop], tmp_path: Path) -> tuple[Path, str]:
    laptop = make_laptop("field")
    case = laptop.open_case("citizen", "jobcenter").case_id
    laptop.close()
    return tmp_path / "field", case


@pytest.mark.parametrize(
    "command",
    [
        ("contact", "record", "{case}", "--kind", "phone"),
        ("contact", "record", "{case}", "--kind", "phone", "--json"),
        ("case", "show", "{case}"),
        ("case", "list"),
        ("status",),
    ],
    ids=" ".join,
)
def test_a_field_command_loads_no_server_database_or_network_code(
    laptop_case: tuple[Path, str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    folder, case = laptop_case
    argv = ["client", "--data", str(folder), *(word.format(case=case) for word in command)]
    modules = loaded_by(tmp_path, *argv)
    assert "client.laptop" in modules  # the command did run
    assert heavy(modules) == []


# What only the commands that draw tables or talk to a server need, and what the records
# of `core.records` spare every command: dataclasses' generated code and `inspect`.
NOT_FOR_RECORDING = ("rich", "msgpack.fallback", "asyncio", "dataclasses", "inspect")


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["table", "json"])
def test_recording_a_contact_loads_no_table_drawing_event_loop_or_dataclasses(
    laptop_case: tuple[Path, str], tmp_path: Path, json_flag: tuple[str, ...]
) -> None:
    folder, case = laptop_case
    modules = loaded_by(
        tmp_path, "client", "--data", str(folder), "contact", "record", case, "--kind", "phone", *json_flag
    )
    assert "client.laptop" in modules
    assert sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in NOT_FOR_RECORDING)) == []


def test_help_loads_no_command_group(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "--help")
    assert not {group.module for group in GROUPS} & modules
    assert heavy(modules) == []


def test_the_table_of_groups_says_what_each_group_says_of_itself() -> None:
    """`tovholder --help` is built from the table alone, so it must agree with the groups."""
    groups = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    listed = {choice.dest: choice.help for choice in groups._choices_actions}
    assert listed == {group.name: group.help for group in GROUPS}


def deferred_paths(parser: argparse.ArgumentParser) -> set[str]:
    """The commands of the full parser that name their path instead of a function."""
    found: set[str] = set()
    for action in parser._actions:
        for sub in (action.choices or {}).values() if isinstance(action, argparse._SubParsersAction) else ():
            path = sub.get_default("deferred")
            found |= {path} if path is not None else deferred_paths(sub)
    return found


def test_every_deferred_command_is_in_the_table_and_loads() -> None:
    assert deferred_paths(build_parser()) == set(COMMANDS)
    for path in COMMANDS:
        assert callable(command_of(argparse.Namespace(deferred=path, func=None)))
