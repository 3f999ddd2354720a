"""The laptop's outbox as the server takes it: signed push bodies, and the handover file.

A push body (`push_body`) is what `client sync` sends and what `client outbox export`
writes: the sealed events as recorded, the batch signed once by the device, and the keys
of the batch's cases opened here (not yet pushed) wrapped for the server's X25519 key.
Kept apart from `client.sync`, so exporting on a revoked laptop loads no network client.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from client.database import translated
from client.laptop import Laptop
from client.store import Pending
from core import events as ev
from core.errors import InvalidInput
from core.keys import CaseKey, grant_key
from core.sealing import to_micros
from core.signing import sign_batch
from sync.handover import encode_handover
from sync.protocol import SERVER_ID, KeyGrant, PushRequest, encode_push

EXPORT_BATCH = 500  # events per batch in a handover file


def push_body(
    laptop: Laptop, batch: Sequence[Pending], unpushed: dict[str, CaseKey], server_public: bytes, after: str | None
) -> tuple[bytes, str]:
    """The encoded push of one batch, following batch `after`; and its batch id."""
    raws = tuple(p.sealed for p in batch)
    batch_id = ev.new_id()
    seal = sign_batch(
        laptop.store.device_keys.signing, batch_id, laptop.device_id, [hashlib.sha256(r).digest() for r in raws]
    )
    cases = {p.case_id for p in batch}
    grants = tuple(
        KeyGrant(k.case_id, k.key_id, grant_key(k, server_public, SERVER_ID)) for c, k in unpushed.items() if c in cases
    )
    return encode_push(PushRequest(seal, raws, grants, after)), batch_id


def export_outbox(laptop: Laptop, file: Path) -> dict[str, int]:
    """Write the events the server has not confirmed (pending, and sent but not pulled
    back) to a new file (mode 0600), sealed and signed for the server; what it holds."""
    if file.exists():
        raise InvalidInput(f"{file} exists already; name a new file (nothing was written)")
    store = laptop.store
    outbox = store.outbox(statuses=("pending", "sent"))
    server_public = bytes(store.meta("server_agreement_key"))
    unpushed = {k.case_id: k for k in store.unpushed_keys()}
    bodies: list[bytes] = []
    previous: str | None = None
    for start in range(0, len(outbox), EXPORT_BATCH):
        body, previous = push_body(laptop, outbox[start : start + EXPORT_BATCH], unpushed, server_public, previous)
        bodies.append(body)
    raw = encode_handover(
        store.device_keys.signing, laptop.device_id, laptop.author.worker, to_micros(ev.utcnow()), tuple(bodies)
    )
    with translated(file), open(file, "xb", opener=_private) as f:
        f.write(raw)
    return {"events": len(outbox), "cases": len({p.case_id for p in outbox}), "keys": len(unpushed)}


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
