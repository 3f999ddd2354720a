"""What an administrator does to a server data folder, answered as the HTTP API answers it.

The HTTP endpoints (`server.admin.routes`) and the `admin` commands acting on a data
folder (`server.commands.admin`) share these, so both give the same JSON. Nothing here
knows of HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.departments import Department
from core.errors import ConfigurationError, InvalidInput, KeyNotHeld, RuleViolation
from core.log import Device
from core.logtables import is_case_id
from core.retention import erase
from server.context import ServerContext
from server.errors import NotFound
from server.reading.service import Reading
from server.store import ADMIN
from sync.protocol import SERVER_ID


def department_json(d: Department) -> dict[str, Any]:
    """A department as the API shows it: authority or not, legal areas of the delegation plan."""
    return {
        "id": d.id,
        "name": d.name,
        "authority": d.authority,
        "legal_areas": list(d.legal_areas),
        "disability_model": d.disability_model,
    }


def plan_json(d: Department) -> dict[str, Any]:
    """A department's part of the delegation plan: the legal areas it decides in."""
    return {"department": d.id, "legal_areas": list(d.legal_areas), "disability_model": d.disability_model}


def device_json(d: Device) -> dict[str, Any]:
    """An enrolled laptop as the API shows it: its worker and when it was enrolled, revoked."""
    return {
        "device": d.device_id,
        "worker": d.worker,
        "enrolled_at": d.enrolled_at,
        "revoked_at": d.revoked_at,
    }


def revoke(ctx: ServerContext, device_id: str) -> dict[str, Any]:
    """Revoke a laptop: it is refused at once, at its next request, and the keys of the
    cases it held rotate; NotFound when no such laptop is enrolled (the server's own device
    cannot be revoked)."""
    if device_id == "server" or not ctx.log.revoke_device(device_id):
        raise NotFound(f"device {device_id} is not enrolled")
    ctx.rotation.settle_devices([device_id])
    device = ctx.log.device(device_id)
    return device_json(device) if device else {"device": device_id}


def assign(ctx: ServerContext, case_id: str, worker: str) -> dict[str, Any]:
    """Put a case in a worker's caseload, so their laptops receive it; only a worker whose
    department is a party of the case now may hold it. InvalidInput for what is not a
    case id, NotFound for an unknown worker or case, RuleViolation (nothing stored) for a
    worker whose department is not a party of the case."""
    record = ctx.store.worker(worker)
    if record is None:
        raise NotFound(f"worker {worker} does not exist")
    if not is_case_id(case_id):
        raise InvalidInput("a case id is a UUID")
    try:
        party = ctx.caseload.party(case_id, record.department)
    except KeyNotHeld:
        raise NotFound(f"no case {case_id}") from None
    if not party:
        raise RuleViolation(
            f"worker {worker} cannot be assigned case {case_id}: their department {record.department} "
            "is not a party of the case; a coordinator adds the department to the team first"
        )
    changed = ctx.caseload.assign(case_id, worker)
    return {"case": case_id, "worker": worker, "assigned": True, "changed": changed}


def unassign(ctx: ServerContext, case_id: str, worker: str) -> dict[str, Any]:
    """End an assignment: the worker's laptops drop the case and its keys at their next
    pull, and the case's key rotates when one of them held its current key."""
    changed = ctx.caseload.unassign(case_id, worker)
    ctx.rotation.settle([case_id])
    return {"case": case_id, "worker": worker, "assigned": False, "changed": changed}


def issue_token(ctx: ServerContext, worker: str) -> dict[str, Any]:
    """A fresh staff token for a worker (or an admin token for ``admin``), valid for
    `token_lifetime_seconds`; NotFound for an unknown or disabled worker."""
    if worker != ADMIN and (ctx.store.worker(worker) is None or ctx.store.disabled(worker)):
        raise NotFound(f"worker {worker} does not exist or was disabled")
    token = ctx.store.issue_token(worker)
    return {"worker": worker, "token": token, "expires_at": int(ctx.store.wallclock()) + ctx.store.token_lifetime}


def change_worker(ctx: ServerContext, worker: str, department: str | None, role: str | None) -> dict[str, Any]:
    """Give a worker another role or move them to another department (an event of the
    administrative log); NotFound for an unknown worker, InvalidInput for an unknown role
    or department or when neither is given."""
    if not department and not role:
        raise InvalidInput("a change of a worker names a new role, a new department or both")
    changed = ctx.store.change_worker(worker, department=department, role=role)
    return {"worker": changed.__dict__}


def revoke_tokens(ctx: ServerContext, worker: str) -> dict[str, Any]:
    """Revoke every token of a worker (or of ``admin``): refused at once, in every server
    process; NotFound for an unknown worker."""
    return {"worker": worker, "revoked": ctx.store.revoke_tokens(worker)}


def disable(ctx: ServerContext, worker: str) -> dict[str, Any]:
    """Disable a worker who left: their tokens and laptops are refused at once, in every
    server process, and the keys of the cases their laptops held rotate; NotFound for an
    unknown worker."""
    changed = ctx.store.disable_worker(worker)
    ctx.rotation.settle_devices(d.device_id for d in ctx.log.devices() if d.worker == worker)
    return {"worker": worker, "disabled": True, "changed": changed}


ARCHIVES = "archives"  # the data folder's folder of erasure archives written over HTTP

NO_ARCHIVE_KEY = (
    "erasure needs the archive authority's public key, and none is configured: nothing was erased. "
    "Make a key pair away from the server with `tovholder admin archive keygen FOLDER`, then set "
    "archive_public_key (base64 or a PEM file) in the server's tovholder.toml "
    "or TOVHOLDER_ARCHIVE_PUBLIC_KEY"
)


def erase_with_archive(ctx: ServerContext, case_id: str, archive: Path | str) -> dict[str, Any]:
    """Archive (sealed for the archive authority), tombstone and crypto-shred a case; every
    server process forgets the case's key and plaintext before its next request.

    ConfigurationError when no archive authority's key is configured (nothing erased);
    InvalidInput when the archive file exists; RuleViolation when the case may not be
    erased (rule 10, or its retention period has not run out)."""
    archive_key = ctx.settings.archive_key()
    if archive_key is None:
        raise ConfigurationError(NO_ARCHIVE_KEY)
    reading = Reading.of(ctx)
    done = erase(
        ctx.log,
        case_id,
        archive,
        archive_key=archive_key,
        server_id=SERVER_ID,
        signing=ctx.server_keys.signing,
        now=reading.now(),
        years=reading.retention_years,
        on_erased=reading.forget,
    )
    return {
        "case": done.case_id,
        "archive": done.archive,
        "events": done.events,
        "tombstone": done.tombstone,
        "position": done.position,
    }


def erase_case(ctx: ServerContext, case_id: str, confirm: str) -> dict[str, Any]:
    """`erase_with_archive` over HTTP: the archive goes to ``archives/CASE.json`` in the
    data folder (mode 0600).

    InvalidInput unless `confirm` repeats the case id (the typed confirmation of the
    command line); NotFound for what is not a case id."""
    if confirm != case_id:
        raise InvalidInput("erasure cannot be undone: confirm it by sending the case id as 'confirm'")
    if not is_case_id(case_id):
        raise NotFound(f"no case {case_id}")
    folder = ctx.settings.data_dir / ARCHIVES
    folder.mkdir(mode=0o700, exist_ok=True)
    return erase_with_archive(ctx, case_id, folder / f"{case_id}.json")
