"""`tovholder`: one command line for the server, the field laptop, auditors and the demo.

The composition root: each command group lives beside what it drives, and `GROUPS` says
which module registers it. A command loads only the module of the group that argv
names, so a laptop command never pays for the server (or the server for the laptop);
`tovholder --help` lists every group from the table without loading any of them. This
is the one place where a module is imported inside a function, and `GROUPS` the one
place that names the group modules.

Within a group, a command whose work needs heavy modules (the network client of `client
init` and `client sync`) is declared by its group with its path ("client sync") in place
of a function, and `COMMANDS` says where it lives, so recording a contact offline never
loads httpx. The server's groups are registered by `SERVER_COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from core.console import fail
from core.errors import TovholderError


class Group(NamedTuple):
    """A command group: its name, the module whose `register(groups)` adds it, its help."""

    name: str
    module: str
    help: str


SERVER_COMMANDS = "server.commands"
GROUPS: tuple[Group, ...] = (
    Group("server", SERVER_COMMANDS, "set up and run the sync server"),
    Group("admin", SERVER_COMMANDS, "departments, workers, devices and case assignments"),
    Group("audit", SERVER_COMMANDS, "verify the log, replay cases, read the access log"),
    Group("search", SERVER_COMMANDS, "find a department's cases by a person's CPR number"),
    Group("client", "client.cli", "the field laptop: record offline, then sync"),
    Group("demo", "tovholder.demo", "run the whole story end to end in a temporary folder"),
)
COMMANDS: dict[str, str] = {
    "client init": "client.commands.online:cmd_init",
    "client sync": "client.commands.online:cmd_sync",
    "client outbox export": "client.commands.outbox:cmd_outbox_export",
    "client ui": "client.ui.app:cmd_ui",
}


def _parser(wanted: set[str]) -> argparse.ArgumentParser:
    """The `tovholder` parser with the named groups in full and the others as one line."""
    parser = argparse.ArgumentParser(
        prog="tovholder",
        description="One shared, encrypted, immutable history per social-work case.",
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    modules = {group.module for group in GROUPS if group.name in wanted}
    for group in GROUPS:
        if group.module in modules:
            # A module registers all its groups at once, at the place of its first one.
            modules.discard(group.module)
            importlib.import_module(group.module).register(groups)
        elif group.name not in groups.choices:
            groups.add_parser(group.name, help=group.help)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The full parser, every group and command loaded (for tests and documentation)."""
    return _parser({group.name for group in GROUPS})


def named_group(argv: Sequence[str]) -> str | None:
    """The group argv names: its first word that is not an option, if it is a group."""
    names = {group.name for group in GROUPS}
    for word in argv:
        if not word.startswith("-"):
            return word if word in names else None
    return None


def command_of(args: argparse.Namespace) -> Any:
    """The function that runs the parsed command, loading it when `COMMANDS` names it."""
    if getattr(args, "deferred", None) is None:
        return args.func
    module, _, name = COMMANDS[args.deferred].partition(":")
    return getattr(importlib.import_module(module), name)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    name = named_group(words)
    args = _parser(set() if name is None else {name}).parse_args(words)
    command = command_of(args)
    try:
        result = command(args)
    except TovholderError as exc:
        fail(str(exc), getattr(exc, "exit_status", 1))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
