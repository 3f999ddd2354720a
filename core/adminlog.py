"""The administrative log: who may sign events, as events in the same Merkle tree.

Devices, workers and departments live in tables that an insider with write access to the
database could change. So every administrative change is also an event of a stream of
its own (`ADMIN_STREAM`, type `ADMIN_TOPIC`) in the log's events table, appended in the
same transaction as the row it explains, sealed in the clear and signed by the server's
device key: a leaf of the tree like any case event, chained like a case. It holds no
personal data, only ids, departments, roles and public keys.

A change is a map with a ``kind`` (`KINDS`) and its fields; ``as_found`` marks the
events written once, on a data folder's first start with this log, for the rows that
were there already (their event ids are derived from what they account for, so two
processes starting at once write each only once). `core.accounts` replays the stream.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgpack
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import CodecError
from core.events import Header
from core.sealing import ADMIN_TOPIC as ADMIN_TOPIC  # re-exported: the log's own type
from core.sealing import SealedEvent, seal_in_clear
from core.signing import BatchSeal, sign_batch

ADMIN_STREAM = "ad000000-0000-4000-8000-000000000000"
"""The administrative log's stream id, in the place of a case id; no case has it."""

SERVER = "server"  # the device that signs administrative events (`sync.protocol.SERVER_ID`)
_AS_FOUND = uuid.UUID("5e1d6c1e-7a1b-4c55-9d2e-0a0d11000000")

Change = dict[str, Any]
"""One administrative change: ``kind``, ``as_found`` and the fields of its kind."""

KINDS: dict[str, tuple[str, ...]] = {
    "device.enrolled": ("device", "worker", "signing_key", "agreement_key"),
    "device.revoked": ("device",),
    "worker.added": ("worker", "department", "role"),
    "worker.changed": ("worker", "department", "role"),
    "worker.disabled": ("worker",),
    "department.added": ("department", "authority"),
    # The delegation plan: the legal areas a department decides in (`AdminStore.set_plan`).
    "plan.changed": ("department", "legal_areas", "disability_model"),
    # The municipality's word lists (`core.vocabularies`): a name labelled, or removed.
    "vocabulary.set": ("list", "name", "da", "en"),
    "vocabulary.removed": ("list", "name"),
    # An administrator's import of a revoked laptop's outbox file (`server.admin.handover`):
    # these batches of the device are stored after its revocation, on purpose.
    "outbox.imported": ("device", "batches"),
}


def change(kind: str, *, as_found: bool = False, **fields: Any) -> Change:
    """An administrative change of a known kind with exactly its fields; CodecError otherwise."""
    if kind not in KINDS or set(fields) != set(KINDS[kind]):
        raise CodecError(f"an administrative change {kind!r} needs exactly {', '.join(KINDS.get(kind, ()))}")
    return {"kind": kind, "as_found": as_found, **fields}


def read_change(sealed: SealedEvent) -> Change:
    """The change an administrative event records; CodecError when it is not one."""
    if sealed.topic != ADMIN_TOPIC or sealed.case_id != ADMIN_STREAM:
        raise CodecError("the event is not in the administrative log")
    try:
        found = msgpack.unpackb(sealed.ciphertext)
    except Exception as exc:
        raise CodecError("an administrative event's payload is not msgpack") from exc
    if not isinstance(found, dict) or not isinstance(found.get("as_found"), bool):
        raise CodecError("an administrative event's payload is not a change")
    fields = {k: v for k, v in found.items() if k not in ("kind", "as_found")}
    return change(str(found.get("kind")), as_found=found["as_found"], **fields)


def subject(c: Change) -> str:
    """What a change is about, for messages and for the ids of "as found" events."""
    return str(c.get("device") or c.get("worker") or c.get("department") or f"{c.get('list')}/{c.get('name')}")


class AdminSealer:
    """Seals administrative changes as events of the administrative log, signed by the server."""

    def __init__(self, signing: Ed25519PrivateKey) -> None:
        self.signing = signing

    def __call__(self, c: Change, now: datetime) -> tuple[SealedEvent, BatchSeal]:
        """The sealed event of a change and the server's signed one-event batch."""
        event_id = str(uuid.uuid5(_AS_FOUND, f"{c['kind']}/{subject(c)}") if c["as_found"] else uuid.uuid4())
        header = Header(event_id, ADMIN_STREAM, ADMIN_TOPIC, 1, SERVER, SERVER, "", SERVER, now, now, 0, "")
        sealed = seal_in_clear(header, msgpack.packb(c))
        return sealed, sign_batch(self.signing, f"admin-{event_id}", SERVER, [sealed.digest])
