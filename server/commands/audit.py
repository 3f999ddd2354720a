"""The `audit` command group, for auditors: verify the log, replay a case, read the access
log, the exceptions report, the retention report and a citizen's own file, and open an
erasure archive with the archive authority's private key; the whole tree is assembled
here (`register`).

The commands ask a running server (``--server URL`` or ``TOVHOLDER_SERVER``) or act on a
server data folder (``--dir DIR``); either way they need an auditor's staff token from
``TOVHOLDER_TOKEN`` (or a prompt), so the access log names who looked (verifying the log
takes an administrator's token too, and on a data folder needs none: it reads no case;
opening an erasure archive needs only the archive authority's private key).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.archive import load_private_key, open_archive
from core.console import emit, fail
from core.console import progress as progress_bar
from server.accounts import verify_accounted
from server.commands.heads import register as register_heads
from server.commands.heads import verify_heads
from server.commands.targets import local, remote, target_options, token_from_env
from server.context import ServerContext
from server.errors import Forbidden, Unauthorized
from server.reading.queries import (
    AUDITOR,
    access_entries,
    audit_case,
    exception_rows,
    export_case,
    parse_moment,
    report_json,
    retention_report,
)
from server.reading.service import Reading
from server.store import Principal


def _report_rows(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"case": p["case"], "position": p["position"], "seq": p["seq"], "problem": p["problem"]} for p in problems]


def _verify_local(data_dir: str, show_progress: bool) -> dict[str, Any]:
    ctx = ServerContext.open(data_dir)
    try:
        with progress_bar(show_progress) as bar:
            task = bar.add_task("verifying the log", total=ctx.log.max_position() or 1)
            report = verify_accounted(
                ctx.log,
                ctx.store,
                ctx.server_keys.signing_public,
                lambda done, total: bar.update(task, completed=done, total=total or 1),
            )
    finally:
        ctx.close()
    return report_json(report)


def _verify(args: argparse.Namespace) -> int:
    if args.heads:
        return verify_heads(args)
    if args.dir:
        result = _verify_local(args.dir, not args.json)
    else:
        result = dict(remote(args, "GET", "/v1/audit/verify", timeout=600.0))
    if args.json:
        emit(result, as_json=True)
    else:
        summary = {k: result.get(k) for k in ("ok", "events", "cases", "batches")}
        emit(summary, as_json=False, title="log verification")
        if result.get("problems"):
            emit(
                _report_rows(result["problems"]),
                as_json=False,
                title="problems found",
                columns=["case", "position", "seq", "problem"],
            )
    return 0 if result.get("ok") and not result.get("problems") else 1


def _caller(ctx: ServerContext) -> Principal:
    who = ctx.store.principal(token_from_env())
    if who is None:
        raise Unauthorized("the token in TOVHOLDER_TOKEN is not valid for this server")
    return who


def _auditor(ctx: ServerContext) -> Principal:
    who = _caller(ctx)
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


def _export(args: argparse.Namespace) -> int:
    if args.dir:

        def act(ctx: ServerContext) -> Any:
            r = Reading.of(ctx)
            return export_case(r, _caller(ctx), args.case, args.person, args.withhold_staff, args.request)

        result = local(args, act)
    else:
        query = "&".join(
            q
            for q in (
                f"request={quote(args.request, safe='')}",
                f"person={quote(args.person)}" if args.person else "",
                "withhold_staff=1" if args.withhold_staff else "",
            )
            if q
        )
        result = remote(args, "GET", f"/v1/citizens/{quote(args.case)}/export{'?' + query if query else ''}")
    emit(result, as_json=True)
    return 0


def _archive_open(args: argparse.Namespace) -> int:
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        fail(f"cannot read the archive file {args.file}: {exc.strerror}")
    emit(open_archive(data, load_private_key(args.key)), as_json=True)
    return 0


def register(groups: Any) -> None:
    """Add the `audit` group and its whole tree to the `tovholder` parser."""
    common = target_options()
    group = groups.add_parser("audit", help="verify the log, replay cases, read the access log")
    actions = group.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    p = actions.add_parser("verify", help="verify chains and signatures of the whole log; exit 1 on problems")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--dir", help="verify this server data folder directly")
    where.add_argument("--server", help="ask this server (staff token from TOVHOLDER_TOKEN)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--heads", metavar="FILE", help="instead, check the log extends every signed tree head in FILE (exit 1 if not)"
    )
    p.set_defaults(func=_verify)
    register_heads(actions)
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
    p = actions.add_parser(
        "export",
        parents=[common],
        help="a citizen's own file and the looks at it, as JSON, answering a right-of-access request",
    )
    p.add_argument("case")
    p.add_argument(
        "--request", required=True, help="the reference of the right-of-access request this export answers (logged)"
    )
    p.add_argument("--person", help="only the events concerning this person id")
    p.add_argument("--withhold-staff", action="store_true", help="leave out the names of staff")
    p.set_defaults(func=_export)
    archive = actions.add_parser("archive", help="erasure archives, for the archive authority")
    archive_actions = archive.add_subparsers(dest="archive_action", metavar="ACTION", required=True)
    p = archive_actions.add_parser(
        "open", help="decrypt an erasure archive with the archive authority's private key; prints its JSON"
    )
    p.add_argument("file", metavar="FILE", help="the sealed archive file that `admin case erase` wrote")
    p.add_argument("--key", required=True, help="the archive authority's private key file (PEM)")
    p.set_defaults(func=_archive_open)
