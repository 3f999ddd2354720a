"""Commands for auditors and for erasure: `audit replay`, `audit access-log`,
`audit exceptions`, `audit retention`, `audit export` and `admin case erase`.

The audit commands ask a running server (``--server URL`` or ``TOVHOLDER_SERVER``) or act
on a server data folder (``--dir DIR``); either way they need an auditor's staff token
from ``TOVHOLDER_TOKEN`` (or a prompt), so the access log names who looked. Erasure is
done on the data folder only, by an administrator, after a typed confirmation: it writes
the archive file on the server's own disk and cannot be undone.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import quote

from core.console import emit, fail
from core.retention import erase
from server.admin_cli import local, remote, target_options, token_from_env
from server.context import ServerContext
from server.errors import Forbidden, Unauthorized
from server.reading import (
    AUDITOR,
    Reading,
    access_entries,
    audit_case,
    exception_rows,
    export_case,
    parse_moment,
    retention_report,
)
from server.store import Principal
from sync.protocol import SERVER_ID


def _auditor(ctx: ServerContext) -> Principal:
    who = ctx.store.principal(token_from_env())
    if who is None:
        raise Unauthorized("the token in TOVHOLDER_TOKEN is not valid for this server")
    if who.role != AUDITOR:
        raise Forbidden("this needs an auditor's token")
    return who


def _replay(args: argparse.Namespace) -> int:
    if args.dir:

        def act(ctx: ServerContext) -> Any:
            r = Reading.of(ctx)
            return audit_case(r, _auditor(ctx), args.case, parse_moment(args.as_of, r.now()), "audit")

        result = local(args, act)
    else:
        query = f"?as_of={quote(args.as_of)}" if args.as_of else ""
        result = remote(args, "GET", f"/v1/audit/cases/{quote(args.case)}{query}")
    if args.json:
        emit(result, as_json=True)
        return 0
    emit(
        {k: result[k] for k in ("case", "as_of", "status", "lead")} | {"parties": ", ".join(result["parties"])},
        as_json=False,
        title="case replay",
    )
    emit(
        [
            {
                "seq": i,
                "type": e["type"],
                "department": e["department"],
                "occurred_at": e["occurred_at"],
                "received_at": e.get("received_at"),
            }
            for i, e in enumerate(result["events"], start=1)
        ],
        as_json=False,
        title="events the log held then",
        columns=["seq", "type", "department", "occurred_at", "received_at"],
    )
    for department, seen in result["views"].items():
        emit(
            [
                {"seq": s["seq"], "type": s["type"], "basis": s["basis"], "grounds": ", ".join(s["grounds"])}
                for s in seen
            ],
            as_json=False,
            title=f"what {department} could see",
            columns=["seq", "type", "basis", "grounds"],
        )
    return 0


def _access_log(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(args, lambda ctx: access_entries(Reading.of(ctx), _auditor(ctx), args.case, 1000, "audit"))
    else:
        rows = remote(args, "GET", f"/v1/audit/access-log?case={quote(args.case)}")["entries"]
    emit(
        rows,
        as_json=args.json,
        title=f"access log of case {args.case}",
        columns=["at", "worker", "department", "view", "purpose", "outcome"],
    )
    return 0


def _exceptions(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(args, lambda ctx: exception_rows(Reading.of(ctx), _auditor(ctx), None, "audit"))
    else:
        rows = remote(args, "GET", "/v1/audit/exceptions")["exceptions"]
    emit(
        rows,
        as_json=args.json,
        title="shared on a legal basis without consent",
        columns=["occurred_at", "case", "basis", "recipients", "categories", "reason", "by"],
    )
    return 0


def _retention(args: argparse.Namespace) -> int:
    if args.dir:

        def act(ctx: ServerContext) -> Any:
            r = Reading.of(ctx)
            _auditor(ctx)
            return retention_report(r, r.now())

        result = local(args, act)
    else:
        result = remote(args, "GET", "/v1/audit/retention")
    if args.json:
        emit(result, as_json=True)
        return 0
    columns = ["case", "kind", "lead", "status", "closed_at", "erasure_requested_at"]
    emit(
        result["overdue_erasure_requests"],
        as_json=False,
        title="erasure requests undecided after 30 days",
        columns=columns,
    )
    emit(
        result["due_for_erasure"],
        as_json=False,
        title="cases past their retention period",
        columns=[*columns, "retention_ended"],
    )
    return 0


def _erase(args: argparse.Namespace) -> int:
    if not args.dir:
        fail("erasure is done on the server's data folder: give --dir DIR")
    if not args.yes:
        if not sys.stdin.isatty():
            fail("erasure cannot be undone: confirm with --yes, or run it in a terminal")
        answer = input(f"Erase case {args.case} for good? Type the case id to confirm: ").strip()
        if answer != args.case:
            fail("not confirmed; nothing was erased")

    def act(ctx: ServerContext) -> Any:
        who = ctx.store.principal(token_from_env())
        if who is None or not who.is_admin:
            raise Forbidden("erasing a case needs the administrator's token in TOVHOLDER_TOKEN")
        r = Reading.of(ctx)
        done = erase(
            ctx.log,
            args.case,
            args.archive,
            server_id=SERVER_ID,
            signing=ctx.server_keys.signing,
            now=r.now(),
            years=r.retention_years,
            on_erased=r.forget,
        )
        return {
            "case": done.case_id,
            "archive": done.archive,
            "events": done.events,
            "tombstone": done.tombstone,
            "position": done.position,
        }

    emit(local(args, act), as_json=args.json, title="case erased")
    return 0


def register_audit(actions: Any) -> None:
    """Add `replay`, `access-log`, `exceptions`, `retention` and `export` to the `audit` group."""
    common = target_options()
    p = actions.add_parser("replay", parents=[common], help="a case and what each department could see, as of a moment")
    p.add_argument("case")
    p.add_argument("--as-of", help="ISO 8601 time or YYYY-MM-DD (default: now)")
    p.set_defaults(func=_replay)
    p = actions.add_parser("access-log", parents=[common], help="who looked at a case, when and why")
    p.add_argument("case")
    p.set_defaults(func=_access_log)
    actions.add_parser(
        "exceptions", parents=[common], help="every share made on a legal basis without consent"
    ).set_defaults(func=_exceptions)
    actions.add_parser(
        "retention", parents=[common], help="overdue erasure requests and cases past retention"
    ).set_defaults(func=_retention)
    register_export(actions)


def register_case(case_actions: Any) -> None:
    """Add `erase` to the `admin case` group."""
    p = case_actions.add_parser("erase", help="archive a case to a file, then destroy its key (cannot be undone)")
    p.add_argument("case")
    p.add_argument("--dir", required=True, help="the server data folder")
    p.add_argument("--archive", required=True, help="new file for the JSON archive (mode 0600)")
    p.add_argument("--yes", action="store_true", help="skip the typed confirmation")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_erase)


def _export(args: argparse.Namespace) -> int:
    if args.dir:

        def act(ctx: ServerContext) -> Any:
            r = Reading.of(ctx)
            return export_case(r, _auditor(ctx), args.case, args.person, args.withhold_staff, "right of access")

        result = local(args, act)
    else:
        query = "&".join(
            q
            for q in (
                f"person={quote(args.person)}" if args.person else "",
                "withhold_staff=1" if args.withhold_staff else "",
            )
            if q
        )
        result = remote(args, "GET", f"/v1/citizens/{quote(args.case)}/export{'?' + query if query else ''}")
    emit(result, as_json=True)
    return 0


def register_export(actions: Any) -> None:
    """Add `export` (a citizen's own file, always JSON) to the `audit` group."""
    p = actions.add_parser(
        "export", parents=[target_options()], help="a citizen's own file and the looks at it, as JSON"
    )
    p.add_argument("case")
    p.add_argument("--person", help="only the events concerning this person id")
    p.add_argument("--withhold-staff", action="store_true", help="leave out the names of staff")
    p.set_defaults(func=_export)
