"""Command group of the field laptop: `tovholder client ...`.

Everything but `init` and `sync` works without a connection. The passphrase comes from
TOVHOLDER_PASSPHRASE or a prompt, never from the command line. Each recording command
prints the new event's id and the id of what it made; `--json` prints one JSON document.
The recording and reading commands live by topic in `client.commands`; this module puts
them together with enrollment, sync and status. `init` and `sync` are declared here by
their path ("client sync") and live in `client.commands.online`, which the composition
root loads only for them: the network client is never loaded to record offline.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from client.commands import cases, followup, plan, sharing, work
from client.commands.common import SERVER_ENV, Parsers, open_laptop
from client.commands.show import case_document
from core.console import emit
from core.sealing import from_micros


def register(groups: Any) -> None:
    """Add the `client` command group to the `tovholder` parser."""
    client = groups.add_parser(
        "client",
        help="the field laptop: record offline, then sync",
        description="Record on a field laptop, with or without a connection, and sync later.",
    )
    client.add_argument("--data", metavar="DIR", type=Path, help="the laptop's data folder")
    parsers = Parsers(client.add_subparsers(dest="client_command", metavar="COMMAND", required=True))
    sub = parsers.sub

    p = parsers.leaf(sub, "init", "client init", "enroll this laptop with a server and create its store")
    p.add_argument("dir", metavar="DIR", type=Path, help="the data folder to create")
    p.add_argument("--server", help=f"the server's URL (or {SERVER_ENV})")
    p.add_argument("--code", required=True, help="the one-time enrollment code from IT")
    p.add_argument("--ca", type=Path, help="PEM file of the server's CA, for https")

    cases.register(parsers)
    sharing.register(parsers)
    work.register(parsers)
    plan.register(parsers)
    followup.register(parsers)

    outbox = parsers.group("outbox", "hand the unsynced events of this laptop on, in a file")
    p = parsers.leaf(outbox, "export", "client outbox export", "write the events not yet synced to a new sealed file")
    p.add_argument("file", metavar="FILE", type=Path, help="the new file (mode 0600) for the administrator")

    p = parsers.leaf(sub, "sync", "client sync", "push the outbox and pull the caseload")
    p.add_argument("--batch", type=int, default=500, help="events per pushed batch")
    p.add_argument("--page", type=int, default=1000, help="events per pulled page")
    p.add_argument("--attempts", type=int, default=6, help="tries per request before giving up")
    parsers.leaf(sub, "status", cmd_status, "pending and rejected events, last sync, cursor")

    p = parsers.leaf(sub, "ui", "client ui", "serve the field app on 127.0.0.1 and open the browser", json=False)
    p.add_argument("--port", type=int, default=0, help="the loopback port (default: a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open the browser")
    p.add_argument("--lock-after", type=float, default=10.0, metavar="MINUTES", help="lock when idle this long")
    p.add_argument(
        "--sync-every", type=float, default=60.0, metavar="SECONDS", help="sync in the background this often"
    )


__all__ = ["case_document", "register"]


# --- commands ---------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> None:
    with open_laptop(args, reading=True) as laptop:
        store = laptop.store
        last = store.meta("last_sync")
        pending = store.outbox(statuses=("pending",))
        sent = store.outbox(statuses=("sent",))
        rejected = store.outbox(statuses=("rejected",))
        data = {
            "device": laptop.device_id,
            "worker": laptop.author.worker,
            "department": laptop.author.department,
            "role": laptop.author.role,
            "server": store.meta("server_url"),
            "pending": len(pending),
            "awaiting_confirmation": len(sent),
            "rejected": [{"event": r.event_id, "case": r.case_id, "reason": r.reason} for r in rejected],
            "cases": len(store.held_cases()),
            "confirmed_events": store.count_confirmed(),
            "cursor": int(store.meta("cursor", 0)),
            "last_sync": None if last is None else from_micros(last),
            "tree_head": _kept_head(store.meta("tree_head")),
            "head_evidence": store.meta("head_evidence") or [],
        }
    if args.json:
        emit(data, as_json=True)
        return
    shown = {k: v for k, v in data.items() if k not in ("rejected", "head_evidence")}
    emit({**shown, "head_evidence": len(data["head_evidence"])}, as_json=False, title="status")
    if data["head_evidence"]:
        emit(
            [_evidence_row(e) for e in data["head_evidence"]],
            as_json=False,
            title="the server's history could not be trusted (evidence kept; status --json shows all of it)",
            columns=("found_at", "why", "kept", "served"),
        )
    if data["rejected"]:
        emit(
            data["rejected"],
            as_json=False,
            title="rejected by the server",
            columns=("event", "case", "reason"),
        )


def _kept_head(kept: dict[str, Any] | None) -> str | None:
    """The tree head this laptop kept last, as size and root."""
    return None if not kept else f"size {kept['size']}, root {kept['root']}"


def _evidence_row(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "found_at": from_micros(found["found_at"]),
        "why": found["why"],
        "kept": _kept_head(found.get("kept")) or "none",
        "served": _kept_head(found.get("served")) or "none",
    }
