"""`tovholder search cpr --department DEPT`: the department's cases with a person of a CPR number.

The number comes from ``TOVHOLDER_CPR`` or a hidden prompt, never from the command line
(argv is visible to every user of the machine and kept in shell histories). Like the
other reading commands it asks a running server (``--server URL`` or ``TOVHOLDER_SERVER``;
the number travels in a POST body) or acts on a server data folder (``--dir DIR``), with
a staff token of the department from ``TOVHOLDER_TOKEN``; either way the search is written
to the access log.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any
from urllib.parse import quote

from core.console import emit, fail
from server.commands.targets import local, remote, target_options, token_from_env
from server.context import ServerContext
from server.errors import Unauthorized
from server.reading.queries import search_cpr, staff_of
from server.reading.service import Reading


def cpr_from_env() -> str:
    """The CPR number: TOVHOLDER_CPR, else a hidden prompt (never argv)."""
    cpr = os.environ.get("TOVHOLDER_CPR", "").strip()
    if not cpr and sys.stdin.isatty():
        cpr = getpass.getpass("CPR number (DDMMYY-SSSS): ").strip()
    if not cpr:
        fail("set TOVHOLDER_CPR or answer the prompt (a CPR number is never taken from the command line)")
    return cpr


def _search(args: argparse.Namespace) -> int:
    cpr = cpr_from_env()
    if args.dir:

        def act(ctx: ServerContext) -> Any:
            who = ctx.store.principal(token_from_env())
            if who is None:
                raise Unauthorized("the token in TOVHOLDER_TOKEN is not valid for this server")
            staff = staff_of(who, args.department)
            return search_cpr(Reading.of(ctx), staff, args.department, cpr, args.purpose)

        rows = local(args, act)
    else:
        body = remote(
            args,
            "POST",
            f"/v1/departments/{quote(args.department)}/search",
            {"cpr": cpr, "purpose": args.purpose},
        )
        rows = body["cases"]
    emit(
        rows,
        as_json=args.json,
        title=f"cases of {args.department} with this CPR number",
        columns=["case", "kind", "lead", "status", "persons"],
    )
    return 0


def register(groups: Any) -> None:
    """Add the `search` group with `search cpr` to the `tovholder` parser."""
    group = groups.add_parser("search", help="find a department's cases by a person's CPR number")
    actions = group.add_subparsers(dest="search_action", metavar="ACTION", required=True)
    p = actions.add_parser(
        "cpr",
        parents=[target_options()],
        help="the cases your department may see with a person of a CPR number (TOVHOLDER_CPR or a prompt)",
    )
    p.add_argument("--department", required=True, help="your department (the token's)")
    p.add_argument("--purpose", default="casework", help="why you search (written to the access log)")
    p.set_defaults(func=_search)
