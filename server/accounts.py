"""The administrative log of a data folder: begun on its first start, read for the audit.

A data folder from before the administrative log (`core.adminlog`) holds devices,
workers and departments that no administrative event accounts for. On the first start
with an empty administrative log, `adopt` writes one event for each of them, flagged
"as found"; afterwards the log accounts for every change and `audit verify` reports a
row that it does not (`core.accounts`).
"""

from __future__ import annotations

from collections.abc import Callable

from core.accounts import WorkerRow
from core.adminlog import change
from core.log import CaseLog
from core.verify import Report, verify
from server.store import AdminStore


def adopt(log: CaseLog, store: AdminStore) -> int:
    """Write an "as found" administrative event for every device, worker and department
    when the administrative log is empty; how many were written."""
    if log.admin_events():
        return 0
    found = [
        change("department.added", as_found=True, department=d.id, authority=d.authority) for d in store.departments()
    ]
    disabled = store.disabled_workers()
    for w in store.workers():
        found.append(change("worker.added", as_found=True, worker=w.id, department=w.department, role=w.role))
        if w.id in disabled:
            found.append(change("worker.disabled", as_found=True, worker=w.id))
    for d in log.devices():
        keys = {"signing_key": d.signing_key, "agreement_key": d.agreement_key}
        found.append(change("device.enrolled", as_found=True, device=d.device_id, worker=d.worker, **keys))
        if d.revoked_at is not None:
            found.append(change("device.revoked", as_found=True, device=d.device_id))
    for c in found:
        log.record_admin(c)
    return len(found)


def worker_rows(store: AdminStore) -> list[WorkerRow]:
    """The workers as the administration tables hold them, to hold against the administrative log."""
    disabled = store.disabled_workers()
    return [WorkerRow(w.id, w.department, w.role, w.id in disabled) for w in store.workers()]


def verify_accounted(
    log: CaseLog, store: AdminStore, server_key: bytes, progress: Callable[[int, int], None] | None = None
) -> Report:
    """`core.verify.verify` of the whole log, its batches held against the administrative
    log's devices and the administration tables against its events."""
    departments = [d.id for d in store.departments()]
    return verify(log, progress, server_key=server_key, workers=worker_rows(store), departments=departments)
