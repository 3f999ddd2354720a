"""The client commands that talk to the server: `init` (enrollment) and `sync`.

They alone need the network client and the sync protocol, so they live apart from the
recording commands and are loaded only when argv names them (`tovholder.__main__.COMMANDS`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from client.commands.common import SERVER_ENV, open_laptop
from client.errors import AlreadyEnrolled, DeviceRefused
from client.laptop import Laptop, read_passphrase
from client.store import DB_NAME, store_path
from client.sync import Backoff, Syncer, check_new_passphrase, check_server_url, enroll_laptop
from core.console import emit
from core.errors import InvalidInput, WrongPassphrase
from core.runtime import tune_for_throughput
from sync.protocol import PullRequest, encode_pull


def cmd_init(args: argparse.Namespace) -> None:
    """Enroll this laptop with a server and create its encrypted store.

    Refused before the passphrase is asked for when the server URL is plain http:// to
    another machine, and before anything is sent when the passphrase is too short.
    """
    server = args.server or os.environ.get(SERVER_ENV)
    if not server:
        raise InvalidInput(f"say which server to enroll with: --server URL or {SERVER_ENV}")
    server = server.rstrip("/")
    check_server_url(server)
    ca_pem = args.ca.read_text() if args.ca else None
    passphrase = read_passphrase(confirm=True)
    check_new_passphrase(passphrase)
    aside = asyncio.run(set_aside_if_revoked(args.dir, passphrase)) if store_path(args.dir).exists() else None
    meta = asyncio.run(enroll_laptop(args.dir, server, args.code, passphrase, ca_pem=ca_pem))
    shown = {k: meta[k] for k in ("device_id", "worker", "department", "role", "server_url")}
    emit({**shown, "revoked_store": None if aside is None else str(aside)}, as_json=args.json, title="enrolled")


async def set_aside_if_revoked(folder: Path, passphrase: str) -> Path:
    """Move the store of a laptop the server revoked into ``FOLDER/revoked-TIME/`` (its
    unsynced events stay there, for `client --data FOLDER/revoked-TIME outbox export`);
    AlreadyEnrolled when the server still accepts it, or the passphrase does not open it."""
    try:
        laptop = Laptop.open(folder, passphrase, reading=True)
    except WrongPassphrase:
        raise AlreadyEnrolled(
            f"{folder} holds a laptop store this passphrase does not open; use another folder"
        ) from None
    with laptop:
        syncer = Syncer(laptop, backoff=Backoff(attempts=1))
        request = PullRequest(int(laptop.store.meta("cursor", 0)), 1, (), ())
        try:
            async with syncer._client() as client:
                await syncer._post(client, "/v1/sync/pull", encode_pull(request))
        except DeviceRefused as exc:
            if "revoked" not in str(exc):
                raise
        else:
            raise AlreadyEnrolled(f"{folder} holds a laptop store the server still accepts; use another folder")
    aside = folder / f"revoked-{time.strftime('%Y%m%dT%H%M%S')}"
    aside.mkdir(mode=0o700)
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        if (folder / name).exists():
            os.replace(folder / name, aside / name)
    return aside


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
