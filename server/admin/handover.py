"""An administrator's import of a revoked laptop's outbox file (`sync.handover`).

The file must be signed by a device of the named worker (revoked or not), and the
worker's new device must be enrolled, unrevoked and theirs: the worker carries on there,
and pulls what is imported. The events are judged by the push's own rules
(`server.syncing.push`): rejected with the rule's sentence, duplicates recognised (a
file imported twice stores nothing twice), clashes accepted and flagged. They keep the
device that recorded and signed them: their sealed headers name it, and no byte of them
can change. An import is an event of the administrative log (`core.adminlog`) naming the
file's batches, so `audit verify` accepts them from a revoked device. `--dry-run` lists
what the file holds (cases, event kinds, times, whether the log holds each already) and
stores nothing; it opens no payload.
"""

from __future__ import annotations

from typing import Any

from core.adminlog import change
from core.errors import InvalidInput, UnknownReference
from core.logstore import Device
from core.sealing import parse
from server.context import ServerContext
from server.syncing.push import Worker
from sync.handover import Handover, decode_handover


def _checked(ctx: ServerContext, handover: Handover, worker_id: str, new_device: str) -> tuple[Device, Worker]:
    """The device that signed the file and the worker, once every check passed."""
    worker = ctx.store.worker(worker_id)
    if worker is None:
        raise UnknownReference(f"there is no worker {worker_id}")
    old = ctx.log.device(handover.device)
    if old is None or old.worker != worker_id or handover.worker != worker_id:
        raise InvalidInput(f"the outbox file is from device {handover.device}, not a device of worker {worker_id}")
    handover.verify(old.signing_key)
    new = ctx.log.device(new_device)
    if new is None or new.worker != worker_id or new.revoked_at is not None or new.device_id == old.device_id:
        raise InvalidInput(f"{new_device} is not an enrolled, unrevoked new device of worker {worker_id}")
    return old, Worker(worker.id, worker.department, worker.role)


def review(ctx: ServerContext, raw: bytes, worker_id: str, new_device: str) -> dict[str, Any]:
    """What the file holds, checked, without storing anything."""
    handover = decode_handover(raw)
    old, _ = _checked(ctx, handover, worker_id, new_device)
    rows = []
    for push in handover.pushes():
        push.seal.verify(old.signing_key)
        sealed = [parse(r) for r in push.events]
        held = ctx.log.find([s.event_id for s in sealed])
        for s in sealed:
            h = s.header
            rows.append(
                {
                    "event": h.event_id,
                    "case": h.case_id,
                    "kind": h.topic,
                    "occurred_at": h.occurred_at.isoformat(),
                    "recorded_at": h.recorded_at.isoformat(),
                    "held": h.event_id in held,
                }
            )
    return {"device": old.device_id, "worker": worker_id, "new_device": new_device, "events": rows}


def import_outbox(ctx: ServerContext, raw: bytes, worker_id: str, new_device: str) -> dict[str, Any]:
    """Judge and store the file's batches in order, as pushes of the device that signed it."""
    handover = decode_handover(raw)
    old, worker = _checked(ctx, handover, worker_id, new_device)
    pushes = handover.pushes()
    # The administrative log names the batches stored after the device's revocation on
    # purpose, before they are stored; `audit verify` holds each to this import.
    batches = [push.seal.batch_id for push in pushes]
    ctx.log.record_admin(change("outbox.imported", device=old.device_id, batches=batches))
    counts = {"accepted": 0, "duplicate": 0}
    rejected: list[dict[str, str]] = []
    conflicts: list[str] = []
    for push in pushes:
        answer = ctx.push.push(push, old.device_id, worker, handed_over=True)
        for r in answer.results:
            if r.status == "rejected":
                rejected.append({"event": r.event_id, "case": r.case_id, "reason": r.reason})
            else:
                counts[r.status] += 1
        conflicts.extend(c.conflict_id for c in answer.conflicts)
    return {
        "device": old.device_id,
        "worker": worker_id,
        "new_device": new_device,
        **counts,
        "rejected": rejected,
        "conflicts": conflicts,
    }
