"""`admin outbox import FILE --worker W --device NEW --dir DIR [--dry-run]`: review and
import a revoked laptop's outbox file (`server.admin.handover`), on the data folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.console import emit
from core.errors import InvalidInput
from server.admin.handover import import_outbox, review
from server.commands.targets import local
from server.context import ServerContext


def _import(args: argparse.Namespace) -> int:
    try:
        raw = Path(args.file).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the outbox file {args.file}: {exc.strerror}") from None

    def act(ctx: ServerContext) -> Any:
        if args.dry_run:
            return review(ctx, raw, args.worker, args.device)
        return import_outbox(ctx, raw, args.worker, args.device)

    result = local(args, act)
    if args.json:
        emit(result, as_json=True)
    elif args.dry_run:
        emit(
            result["events"],
            as_json=False,
            title=f"outbox of {result['device']} (nothing imported)",
            columns=("event", "case", "kind", "occurred_at", "held"),
        )
    else:
        emit({k: v for k, v in result.items() if k not in ("rejected",)}, as_json=False, title="outbox imported")
        if result["rejected"]:
            emit(result["rejected"], as_json=False, title="rejected", columns=("event", "case", "reason"))
    return 0


def register(kinds: Any) -> None:
    """Add `admin outbox import` to the admin group."""
    actions = kinds.add_parser("outbox", help="a revoked laptop's outbox file").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    p = actions.add_parser("import", help="review (--dry-run) and import a laptop's outbox file under a new device")
    p.add_argument("file", metavar="FILE", help="the file `tovholder client outbox export` wrote")
    p.add_argument("--worker", required=True, help="the worker whose laptop wrote the file")
    p.add_argument("--device", required=True, help="the worker's new, enrolled device")
    p.add_argument("--dir", required=True, help="the server data folder")
    p.add_argument("--dry-run", action="store_true", help="list what the file holds; import nothing")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_import)
