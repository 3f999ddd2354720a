"""The `admin` command group: departments, workers, devices, case assignments, erasure and
the rebuild of the department views; the whole tree is assembled here (`register`).

Each command either talks HTTP to a running server (``--server URL`` or
``TOVHOLDER_SERVER``, with the admin token from ``TOVHOLDER_TOKEN`` or a prompt) or
acts directly on a server data folder (``--dir DIR``, for scripts and the demo). Both
paths give the same JSON answer as the HTTP API (`server.commands.targets`). Erasing a
case and rebuilding the views act on the data folder only: erasure writes the archive
file on the server's own disk, sealed for the archive authority (`core.archive`; it
refuses when no archive key is configured), and cannot be undone, so it asks for a
typed confirmation. `admin archive keygen` makes the archive authority's key pair.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from core.archive import generate_key_pair, public_key_text
from core.console import emit, fail
from core.departments import Department
from server.admin.actions import (
    assign,
    change_worker,
    department_json,
    device_json,
    disable,
    erase_with_archive,
    issue_token,
    plan_json,
    revoke,
    revoke_tokens,
    unassign,
)
from server.commands.outbox import register as outbox_commands
from server.commands.targets import local, perform, remote, target_options, token_from_env
from server.commands.views import rebuild
from server.commands.vocabulary import register as vocabulary_commands
from server.context import ServerContext
from server.errors import Forbidden


def _department_add(args: argparse.Namespace) -> int:
    areas = tuple(args.legal_area or ())
    if args.dir:
        dept = Department(args.id, args.name, not args.non_authority, areas, args.disability_model)

        def act(ctx: ServerContext) -> Any:
            ctx.store.add_department(dept)
            return {"department": department_json(dept)}

        result = local(args, act)
    else:
        result = remote(
            args,
            "POST",
            "/v1/admin/departments",
            {
                "id": args.id,
                "name": args.name,
                "authority": not args.non_authority,
                "legal_areas": list(areas),
                "disability_model": args.disability_model,
            },
        )
    emit(result["department"], as_json=args.json, title="department added")
    return 0


def _plan_show(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(args, lambda ctx: [plan_json(d) for d in ctx.store.departments()])
    else:
        rows = remote(args, "GET", "/v1/admin/plan")["plan"]
    emit(rows, as_json=args.json, title="delegation plan", columns=["department", "legal_areas", "disability_model"])
    return 0


def _plan_set(args: argparse.Namespace) -> int:
    areas = tuple(args.legal_area or ())
    if args.dir:
        result = local(
            args, lambda ctx: {"plan": plan_json(ctx.store.set_plan(args.department, areas, args.disability_model))}
        )
    else:
        body: dict[str, Any] = {"legal_areas": list(areas)}
        if args.disability_model is not None:
            body["disability_model"] = args.disability_model
        result = remote(args, "PUT", f"/v1/admin/plan/{args.department}", body)
    emit(result["plan"], as_json=args.json, title="delegation plan changed")
    return 0


def _department_list(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(args, lambda ctx: [department_json(d) for d in ctx.store.departments()])
    else:
        rows = remote(args, "GET", "/v1/admin/departments")["departments"]
    emit(rows, as_json=args.json, title="departments", columns=["id", "name", "authority"])
    return 0


def _worker_add(args: argparse.Namespace) -> int:
    if args.dir:

        def act(ctx: ServerContext) -> Any:
            token = ctx.store.add_worker(args.id, args.department, args.role)
            return {
                "worker": {"id": args.id, "department": args.department, "role": args.role},
                "token": token,
            }

        result = local(args, act)
    else:
        result = remote(
            args,
            "POST",
            "/v1/admin/workers",
            {"id": args.id, "department": args.department, "role": args.role},
        )
    if args.json:
        emit(result, as_json=True)
    else:
        emit({**result["worker"], "token": result["token"]}, as_json=False, title="worker added")
        print("The staff token is shown only this once; hand it to the worker.", file=sys.stderr)
    return 0


def _worker_list(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(args, lambda ctx: [w.__dict__ for w in ctx.store.workers()])
    else:
        rows = remote(args, "GET", "/v1/admin/workers")["workers"]
    emit(rows, as_json=args.json, title="workers", columns=["id", "department", "role"])
    return 0


def _worker_token(args: argparse.Namespace) -> int:
    result = perform(args, lambda ctx: issue_token(ctx, args.id), "POST", f"/v1/admin/workers/{args.id}/tokens")
    emit(result, as_json=args.json, title="token issued")
    if not args.json:
        print("The token is shown only this once; hand it to the worker.", file=sys.stderr)
    return 0


def _worker_change(args: argparse.Namespace) -> int:
    result = perform(
        args,
        lambda ctx: change_worker(ctx, args.id, args.department, args.role),
        "POST",
        f"/v1/admin/workers/{args.id}/change",
        {"department": args.department, "role": args.role},
    )
    emit(result["worker"], as_json=args.json, title="worker changed")
    return 0


def _worker_disable(args: argparse.Namespace) -> int:
    result = perform(args, lambda ctx: disable(ctx, args.id), "POST", f"/v1/admin/workers/{args.id}/disable")
    emit(result, as_json=args.json, title="worker disabled")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    result = perform(
        args, lambda ctx: revoke_tokens(ctx, args.worker), "POST", f"/v1/admin/workers/{args.worker}/tokens/revoke"
    )
    emit(result, as_json=args.json, title="tokens revoked")
    return 0


def _device_enroll(args: argparse.Namespace) -> int:
    if args.dir:

        def act(ctx: ServerContext) -> Any:
            code, expires = ctx.store.enrollment_code(args.worker, ctx.settings.enrollment_ttl_seconds)
            return {"worker": args.worker, "code": code, "expires_at": expires}

        result = local(args, act)
    else:
        result = remote(args, "POST", "/v1/admin/devices/enrollments", {"worker": args.worker})
    if isinstance(result.get("expires_at"), int):  # for people: when the code stops working
        result["expires"] = datetime.fromtimestamp(result["expires_at"], UTC).isoformat(timespec="seconds")
    emit(result, as_json=args.json, title="one-time enrollment code")
    return 0


def _device_revoke(args: argparse.Namespace) -> int:
    result = perform(args, lambda ctx: revoke(ctx, args.device), "POST", f"/v1/admin/devices/{args.device}/revoke")
    emit(result, as_json=args.json, title="device revoked")
    return 0


def _device_list(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(
            args,
            lambda ctx: [device_json(d) for d in ctx.log.devices() if d.device_id != "server"],
        )
    else:
        rows = remote(args, "GET", "/v1/admin/devices")["devices"]
    emit(
        rows,
        as_json=args.json,
        title="devices",
        columns=["device", "worker", "enrolled_at", "revoked_at"],
    )
    return 0


def _case_assign(args: argparse.Namespace) -> int:
    if args.dir:
        result = local(args, lambda ctx: assign(ctx, args.case, args.worker))
    else:
        result = remote(args, "POST", f"/v1/admin/cases/{args.case}/assignments", {"worker": args.worker})
    emit(result, as_json=args.json, title="case assigned")
    return 0


def _case_unassign(args: argparse.Namespace) -> int:
    result = perform(
        args,
        lambda ctx: unassign(ctx, args.case, args.worker),
        "DELETE",
        f"/v1/admin/cases/{args.case}/assignments/{args.worker}",
    )
    emit(result, as_json=args.json, title="case unassigned")
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
        return erase_with_archive(ctx, args.case, args.archive)

    emit(local(args, act), as_json=args.json, title="case erased")
    return 0


def _archive_keygen(args: argparse.Namespace) -> int:
    private, public, key = generate_key_pair(args.folder)
    result = {"private_key": str(private), "public_key_file": str(public), "archive_public_key": public_key_text(key)}
    emit(result, as_json=args.json, title="archive authority key pair")
    print(
        f'Set archive_public_key = "{result["archive_public_key"]}" in the server\'s tovholder.toml. '
        f"Move {private} to the archive authority, off this machine: "
        "it alone opens erasure archives.",
        file=sys.stderr,
    )
    return 0


def _archive(kinds: Any) -> None:
    actions = kinds.add_parser("archive", help="the archive authority's key that erasure archives are sealed for")
    actions = actions.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser(
        "keygen",
        help="write a new archive authority key pair into FOLDER (never the server's data folder)",
    )
    p.add_argument("folder", metavar="FOLDER", help="a folder outside the server's data folder")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_archive_keygen)


def _departments(kinds: Any, common: argparse.ArgumentParser) -> None:
    dept = kinds.add_parser("department", help="the municipality's departments").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = dept.add_parser("add", parents=[common], help="add a department")
    p.add_argument("id")
    p.add_argument("--name", required=True)
    p.add_argument(
        "--non-authority",
        action="store_true",
        help="not a public authority (housing association, drop-in): sees only what consent covers",
    )
    p.add_argument(
        "--legal-area",
        action="append",
        metavar="AREA",
        help='a legal area it decides in under the delegation plan, e.g. "barnets lov § 86" (repeatable)',
    )
    p.add_argument("--disability-model", action="store_true", help="its measures wait for the analysis meeting")
    p.set_defaults(func=_department_add)
    dept.add_parser("list", parents=[common], help="list departments").set_defaults(func=_department_list)


def _plan(kinds: Any, common: argparse.ArgumentParser) -> None:
    plan = kinds.add_parser("plan", help="the delegation plan: which department decides in which legal area")
    actions = plan.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("show", parents=[common], help="each department's legal areas").set_defaults(func=_plan_show)
    p = actions.add_parser(
        "set", parents=[common], help="replace a department's legal areas; laptops learn it at their next sync"
    )
    p.add_argument("department")
    p.add_argument(
        "--legal-area",
        action="append",
        metavar="AREA",
        help='a legal area it decides in, e.g. "barnets lov § 86" (repeatable; none: it decides in none)',
    )
    model = p.add_mutually_exclusive_group()
    model.add_argument("--disability-model", dest="disability_model", action="store_true", default=None)
    model.add_argument("--no-disability-model", dest="disability_model", action="store_false")
    p.set_defaults(func=_plan_set)


def _workers(kinds: Any, common: argparse.ArgumentParser) -> None:
    worker = kinds.add_parser("worker", help="workers and their staff tokens").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = worker.add_parser("add", parents=[common], help="add a worker; prints their staff token once")
    p.add_argument("id")
    p.add_argument("--department", required=True)
    p.add_argument("--role", required=True, help="outreach, caseworker, coordinator, auditor or admin")
    p.set_defaults(func=_worker_add)
    worker.add_parser("list", parents=[common], help="list workers").set_defaults(func=_worker_list)
    p = worker.add_parser("token", parents=[common], help="issue a fresh token of a worker (or of admin); printed once")
    p.add_argument("id", help="the worker's id, or admin")
    p.set_defaults(func=_worker_token)
    p = worker.add_parser("change", parents=[common], help="give a worker another role or department")
    p.add_argument("id")
    p.add_argument("--department", help="the worker's new department")
    p.add_argument("--role", help="the worker's new role")
    p.set_defaults(func=_worker_change)
    p = worker.add_parser(
        "disable", parents=[common], help="disable a worker who left: their tokens and laptops are refused at once"
    )
    p.add_argument("id")
    p.set_defaults(func=_worker_disable)


def _tokens(kinds: Any, common: argparse.ArgumentParser) -> None:
    token = kinds.add_parser("token", help="staff and admin tokens").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = token.add_parser("revoke", parents=[common], help="revoke every token of a worker (or of admin)")
    p.add_argument("--worker", required=True, help="the worker's id, or admin")
    p.set_defaults(func=_token_revoke)


def _devices(kinds: Any, common: argparse.ArgumentParser) -> None:
    device = kinds.add_parser("device", help="field laptops").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = device.add_parser("enroll", parents=[common], help="print a one-time enrollment code for a laptop")
    p.add_argument("--worker", required=True)
    p.set_defaults(func=_device_enroll)
    p = device.add_parser("revoke", parents=[common], help="revoke a laptop: it can no longer sync")
    p.add_argument("device")
    p.set_defaults(func=_device_revoke)
    device.add_parser("list", parents=[common], help="list enrolled laptops").set_defaults(func=_device_list)


def _cases(kinds: Any, common: argparse.ArgumentParser) -> None:
    case = kinds.add_parser("case", help="which worker's laptops receive a case").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    for name, func, text in (
        ("assign", _case_assign, "assign a case to a worker"),
        ("unassign", _case_unassign, "remove a case from a worker's caseload"),
    ):
        p = case.add_parser(name, parents=[common], help=text)
        p.add_argument("case")
        p.add_argument("--worker", required=True)
        p.set_defaults(func=func)
    p = case.add_parser("erase", help="archive a case to a file, then destroy its key (cannot be undone)")
    p.add_argument("case")
    p.add_argument("--dir", required=True, help="the server data folder")
    p.add_argument(
        "--archive",
        required=True,
        help="new file for the archive (mode 0600), sealed for the setting archive_public_key",
    )
    p.add_argument("--yes", action="store_true", help="skip the typed confirmation")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_erase)


def _views(kinds: Any) -> None:
    actions = kinds.add_parser("views", help="the department views derived from the log").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = actions.add_parser(
        "rebuild", help="drop the department views and rebuild them from the whole log, with progress"
    )
    p.add_argument("--dir", help="the server data folder whose views to rebuild")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=rebuild)


def register(groups: Any) -> None:
    """Add the `admin` group and its whole tree to the `tovholder` parser."""
    common = target_options()
    group = groups.add_parser("admin", help="departments, workers, devices and case assignments")
    kinds = group.add_subparsers(dest="admin_kind", metavar="WHAT", required=True)
    _departments(kinds, common)
    _plan(kinds, common)
    vocabulary_commands(kinds, common)
    _workers(kinds, common)
    _tokens(kinds, common)
    _devices(kinds, common)
    _cases(kinds, common)
    _views(kinds)
    _archive(kinds)
    outbox_commands(kinds)
