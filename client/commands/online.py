"""The client commands that talk to the server: `init` (enrollment) and `sync`.

They alone need the network client and the sync protocol, so they live apart from the
recording commands and are loaded only when argv names them (`tovholder.__main__.COMMANDS`).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from client.commands.common import SERVER_ENV, open_laptop
from client.errors import AlreadyEnrolled
from client.laptop import read_passphrase
from client.store import store_path
from client.sync import Backoff, Syncer, check_new_passphrase, check_server_url, enroll_laptop
from core.console import emit
from core.errors import InvalidInput
from core.runtime import tune_for_throughput


def cmd_init(args: argparse.Namespace) -> None:
    """Enroll this laptop with a server and create its encrypted store.

    Refused before the passphrase is asked for when the server URL is plain http:// to
    another machine, and before anything is sent when the passphrase is too short.
    """
    server = args.server or os.environ.get(SERVER_ENV)
    if not server:
        raise InvalidInput(f"say which server to enroll with: --server URL or {SERVER_ENV}")
    server = server.rstrip("/")
    if store_path(args.dir).exists():
        raise AlreadyEnrolled(f"{args.dir} already holds a laptop store; use another folder")
    check_server_url(server)
    ca_pem = args.ca.read_text() if args.ca else None
    passphrase = read_passphrase(confirm=True)
    check_new_passphrase(passphrase)
    meta = asyncio.run(enroll_laptop(args.dir, server, args.code, passphrase, ca_pem=ca_pem))
    emit(
        {k: meta[k] for k in ("device_id", "worker", "department", "role", "server_url")},
        as_json=args.json,
        title="enrolled",
    )


def cmd_sync(args: argparse.Namespace) -> None:
    """Push the outbox, then pull the caseload."""
    tune_for_throughput()
    with open_laptop(args) as laptop:
        syncer = Syncer(
            laptop,
            batch_size=args.batch,
            page_size=args.page,
            progress=not args.json,
            backoff=Backoff(attempts=max(1, args.attempts)),
        )
        report = asyncio.run(syncer.sync())
    emit(report.as_dict(), as_json=args.json, title="sync")
