"""`client outbox export FILE`: a revoked laptop hands its unsynced events on.

Reads the store only (so it works on a full disk too) and writes a new file, sealed and
signed for the server (`client.outbox`, `sync.handover`), that an administrator reviews
and imports with `tovholder admin outbox import`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from client.commands.common import Parsers, open_laptop
from client.outbox import export_outbox
from core.console import emit


def register(parsers: Parsers) -> None:
    outbox = parsers.group("outbox", "hand the unsynced events of this laptop on, in a file")
    p = parsers.leaf(outbox, "export", cmd_outbox_export, "write the events not yet synced to a new sealed file")
    p.add_argument("file", metavar="FILE", type=Path, help="the new file (mode 0600) for the administrator")


def cmd_outbox_export(args: argparse.Namespace) -> None:
    with open_laptop(args, reading=True) as laptop:
        held = export_outbox(laptop, args.file)
    emit({"file": str(args.file), "device": laptop.device_id, **held}, as_json=args.json, title="outbox exported")
