"""The `server` command group: make a server data folder, and serve it over HTTP(S)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from core.console import emit
from server.context import ServerContext, init_data_dir, kek_beside_database


def _init(args: argparse.Namespace) -> int:
    path, token = init_data_dir(args.dir, args.database_url, Path(args.plan) if args.plan else None)
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
    # Loaded here, as it is only needed to serve: the other commands of the server's
    # groups start without uvicorn and the Starlette application.
    from server.run import pin_certificate, serve, serve_workers
    from server.witness import watch

    ctx = ServerContext.open(args.dir)
    s = ctx.settings
    cert, key = args.cert or s.cert, args.key or s.key
    pin_certificate(ctx, cert)
    if kek_beside_database(s):
        print(
            f"warning: the key-encryption key {s.path(s.kek_file)} sits beside the database it protects, "
            "so a copy of the folder opens every case; set TOVHOLDER_KEK or point kek_file at a file elsewhere",
            file=sys.stderr,
        )
    host, port = args.host or s.host, args.port or s.port
    if args.witness:
        watch(ctx, args.witness)
    if args.workers != 1:
        serve_workers(ctx, host, port, cert, key, args.workers, args.witness or "")
    else:
        serve(ctx, host, port, cert, key)
    return 0


def register(groups: Any) -> None:
    """Add the `server` group (`init`, `run`) to the `tovholder` parser."""
    group = groups.add_parser("server", help="set up and run the sync server")
    actions = group.add_subparsers(dest="server_action", metavar="ACTION", required=True)
    p = actions.add_parser("init", help="create a server data folder; prints the first admin token once")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--database-url", help="postgresql://... (default: SQLite in DIR)")
    p.add_argument(
        "--plan",
        metavar="FILE",
        help="the municipality's delegation plan to start from (JSON, as DIR/delegation-plan.json; default: "
        "the plan of the laws in force)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_init)
    p = actions.add_parser("run", help="serve the HTTP API (HTTPS with --cert/--key)")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port (default 8000)")
    p.add_argument("--cert", help="TLS certificate chain (PEM)")
    p.add_argument("--key", help="TLS private key (PEM)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on one port (default 1); more than one only on PostgreSQL",
    )
    p.add_argument(
        "--witness",
        metavar="DIR",
        help="append each newly signed tree head as a JSON line to DIR/tree-heads.jsonl, "
        "a folder outside the data folder (audit verify --heads reads the file)",
    )
    p.set_defaults(func=_run)
