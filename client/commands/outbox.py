"""`client outbox export FILE`: a revoked laptop hands its unsynced events on.

Reads the store only (so it works on a full disk too) and writes a new file, sealed and
signed for the server (`client.outbox`, `sync.handover`), that an administrator reviews
and imports with `tovholder admin outbox import`. Declared in `client.cli` by its path and
loaded only for itself: it needs the sync protocol, which recording offline never loads.
"""

from __future__ import annotations

import argparse

from client.commands.common import open_laptop
from client.outbox import export_outbox
from core.console import emit


def cmd_outbox_export(args: argparse.Namespace) -> None:
    with open_laptop(args, reading=True) as laptop:
        held = export_outbox(laptop, args.file)
    emit({"file": str(args.file), "device": laptop.device_id, **held}, as_json=args.json, title="outbox exported")
