"""The `admin` command group: departments, workers, devices and case assignments.

Each command either talks HTTP to a running server (``--server URL`` or
``TOVHOLDER_SERVER``, with the admin token from ``TOVHOLDER_TOKEN`` or a prompt) or
acts directly on a server data folder (``--dir DIR``, for scripts and the demo). Both
paths give the same JSON answer as the HTTP API.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import ssl
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from core.console import emit, fail
from core.departments import Department
from server.admin import actions as admin_routes
from server.context import ServerContext


def token_from_env() -> str:
    """The staff or admin token: TOVHOLDER_TOKEN, else a prompt (never argv)."""
    token = os.environ.get("TOVHOLDER_TOKEN", "").strip()
    if token:
        return token
    if sys.stdin.isatty():
        token = getpass.getpass("Token: ").strip()
    if not token:
        fail("set TOVHOLDER_TOKEN to your token (it is never taken from the command line)")
    return token


def trust(ca_file: str | None) -> ssl.SSLContext | bool:
    """Verify HTTPS against the municipality's CA (TOVHOLDER_CA), else the system's CAs."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def server_url(args: argparse.Namespace) -> str:
    url = getattr(args, "server", None) or os.environ.get("TOVHOLDER_SERVER", "")
    if not url:
        fail("say which server: --server URL or TOVHOLDER_SERVER, or act on a data folder with --dir")
    return str(url).rstrip("/")


async def _request(url: str, method: str, path: str, json: Any, ca: str | None) -> Any:
    async with httpx.AsyncClient(base_url=url, timeout=30.0, verify=trust(ca)) as client:
        try:
            response = await client.request(
                method, path, json=json, headers={"Authorization": f"Bearer {token_from_env()}"}
            )
        except httpx.HTTPError as exc:
            fail(f"cannot reach the server at {url}: {type(exc).__name__}")
    try:
        body = response.json()
    except ValueError:
        fail(f"the server answered {response.status_code} without a JSON body")
    if response.status_code >= 400:
        message = body.get("error", {}).get("message") if isinstance(body, dict) else None
        fail(f"the server refused ({response.status_code}): {message or 'no reason given'}")
    return body


def remote(args: argparse.Namespace, method: str, path: str, json: Any = None) -> Any:
    return asyncio.run(_request(server_url(args), method, path, json, os.environ.get("TOVHOLDER_CA")))


def local(args: argparse.Namespace, action: Callable[[ServerContext], Any]) -> Any:
    ctx = ServerContext.open(args.dir)
    try:
        return action(ctx)
    finally:
        ctx.close()


def _department_add(args: argparse.Namespace) -> int:
    if args.dir:
        dept = Department(args.id, args.name, not args.non_authority)

        def act(ctx: ServerContext) -> Any:
            ctx.store.add_department(dept)
            return {"department": admin_routes.department_json(dept)}

        result = local(args, act)
    else:
        result = remote(
            args,
            "POST",
            "/v1/admin/departments",
            {"id": args.id, "name": args.name, "authority": not args.non_authority},
        )
    emit(result["department"], as_json=args.json, title="department added")
    return 0


def _department_list(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(args, lambda ctx: [admin_routes.department_json(d) for d in ctx.store.departments()])
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
    if args.dir:
        result = local(args, lambda ctx: admin_routes.revoke(ctx, args.device))
    else:
        result = remote(args, "POST", f"/v1/admin/devices/{args.device}/revoke")
    emit(result, as_json=args.json, title="device revoked")
    return 0


def _device_list(args: argparse.Namespace) -> int:
    if args.dir:
        rows = local(
            args,
            lambda ctx: [admin_routes.device_json(d) for d in ctx.log.devices() if d.device_id != "server"],
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
        result = local(args, lambda ctx: admin_routes.assign(ctx, args.case, args.worker))
    else:
        result = remote(args, "POST", f"/v1/admin/cases/{args.case}/assignments", {"worker": args.worker})
    emit(result, as_json=args.json, title="case assigned")
    return 0


def _case_unassign(args: argparse.Namespace) -> int:
    if args.dir:
        result = local(args, lambda ctx: admin_routes.unassign(ctx, args.case, args.worker))
    else:
        result = remote(args, "DELETE", f"/v1/admin/cases/{args.case}/assignments/{args.worker}")
    emit(result, as_json=args.json, title="case unassigned")
    return 0


def target_options() -> argparse.ArgumentParser:
    """--dir / --server / --json, shared by every admin command."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--dir", help="act directly on this server data folder")
    where.add_argument("--server", help="server URL (default: TOVHOLDER_SERVER); token from TOVHOLDER_TOKEN")
    common.add_argument("--json", action="store_true", help="print one JSON document")
    return common


def register(groups: Any) -> None:
    common = target_options()
    group = groups.add_parser("admin", help="departments, workers, devices and case assignments")
    kinds = group.add_subparsers(dest="admin_kind", metavar="WHAT", required=True)

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
    p.set_defaults(func=_department_add)
    dept.add_parser("list", parents=[common], help="list departments").set_defaults(func=_department_list)

    worker = kinds.add_parser("worker", help="workers and their staff tokens").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = worker.add_parser("add", parents=[common], help="add a worker; prints their staff token once")
    p.add_argument("id")
    p.add_argument("--department", required=True)
    p.add_argument("--role", required=True, help="outreach, caseworker, coordinator, auditor or admin")
    p.set_defaults(func=_worker_add)
    worker.add_parser("list", parents=[common], help="list workers").set_defaults(func=_worker_list)

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
    from server import audit_cli, views_cli  # imported here: they build on this module's helpers

    audit_cli.register_case(case)
    views_cli.register_views(kinds)
