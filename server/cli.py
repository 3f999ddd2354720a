"""Command groups of the server side: `server`, `admin`, `audit`."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.console import emit, fail
from core.verify import verify
from server import admin_cli, audit_cli, search_cli
from server.context import ServerContext, init_data_dir, read_secret
from server.reading.queries import report_json
from server.run import serve


def _init(args: argparse.Namespace) -> int:
    path, token = init_data_dir(args.dir, args.database_url)
    result = {"data_dir": str(path), "admin_token": token}
    if args.json:
        emit(result, as_json=True)
    else:
        emit(result, as_json=False, title="server data folder created")
        Console(stderr=True).print(
            "The admin token is shown only this once; keep it in a password manager and pass it as TOVHOLDER_TOKEN."
        )
    return 0


def _run(args: argparse.Namespace) -> int:
    ctx = ServerContext.open(args.dir)
    s = ctx.settings
    cert, key = args.cert or s.cert, args.key or s.key
    if cert and ctx.ca_pem is None:
        # Laptops pin what they get at enrollment: the certificate itself when self-signed.
        ctx.ca_pem = read_secret(Path(cert), "TLS certificate")
    serve(ctx, args.host or s.host, args.port or s.port, cert, key)
    return 0


def _report_rows(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"case": p["case"], "position": p["position"], "seq": p["seq"], "problem": p["problem"]} for p in problems]


def _verify_local(data_dir: str, show_progress: bool) -> dict[str, Any]:
    ctx = ServerContext.open(data_dir)
    try:
        with Progress(
            TextColumn("[bold]verifying the log"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=not show_progress,
        ) as bar:
            task = bar.add_task("verify", total=ctx.log.max_position() or 1)
            report = verify(ctx.log, lambda done, total: bar.update(task, completed=done, total=total or 1))
    finally:
        ctx.close()
    return report_json(report)


async def _verify_remote(url: str) -> dict[str, Any]:
    token = admin_cli.token_from_env()
    async with httpx.AsyncClient(
        base_url=url, timeout=600.0, verify=admin_cli.trust(os.environ.get("TOVHOLDER_CA"))
    ) as c:
        try:
            response = await c.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            fail(f"cannot reach the server at {url}: {type(exc).__name__}")
    try:
        body = response.json()
    except ValueError:
        fail(f"the server answered {response.status_code} without a JSON body")
    if response.status_code >= 400:
        fail(f"the server refused ({response.status_code}): {body.get('error', {}).get('message', '')}")
    return dict(body)


def _audit_verify(args: argparse.Namespace) -> int:
    if args.dir:
        result = _verify_local(args.dir, not args.json)
    else:
        result = asyncio.run(_verify_remote(admin_cli.server_url(args)))
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


def register(groups: Any) -> None:
    """Add the server-side command groups to the `tovholder` parser."""
    group = groups.add_parser("server", help="set up and run the sync server")
    actions = group.add_subparsers(dest="server_action", metavar="ACTION", required=True)
    p = actions.add_parser("init", help="create a server data folder; prints the first admin token once")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--database-url", help="postgresql://... (default: SQLite in DIR)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_init)
    p = actions.add_parser("run", help="serve the HTTP API (HTTPS with --cert/--key)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default 8000)")
    p.add_argument("--cert", help="TLS certificate chain (PEM)")
    p.add_argument("--key", help="TLS private key (PEM)")
    p.set_defaults(func=_run)

    admin_cli.register(groups)

    audit = groups.add_parser("audit", help="verify the log, replay cases, read the access log")
    audit_actions = audit.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    p = audit_actions.add_parser("verify", help="verify chains and signatures of the whole log; exit 1 on problems")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--dir", help="verify this server data folder directly")
    where.add_argument("--server", help="ask this server (staff token from TOVHOLDER_TOKEN)")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_audit_verify)
    audit_cli.register_audit(audit_actions)
    search_cli.register(groups)
