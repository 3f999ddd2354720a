"""Who was enrolled when, as the administrative log tells it, and what it does not account for.

`audit verify` replays the administrative log (`core.adminlog`) in position order beside
the case events. Its events count only when the server's device key, given from the
server's key file rather than from the database, signed them. A batch manifest is then
checked against the key its device had in the administrative log at that position: the
device enrolled before the batch and not revoked before it. A device row, a worker row or
a department row that no administrative event accounts for is reported: a row inserted
in the database is not a device.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.adminlog import SERVER, Change
from core.logstore import Device


@dataclass
class Enrolled:
    """A device as the administrative log knows it."""

    worker: str
    signing_key: bytes
    agreement_key: bytes
    position: int
    revoked: int | None = None
    handed_over: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class WorkerRow:
    """A worker as the administration tables hold them (`server.store`)."""

    id: str
    department: str
    role: str
    disabled: bool


@dataclass
class Accounts:
    """The administrative log replayed up to some position."""

    server_key: bytes
    devices: dict[str, Enrolled] = field(default_factory=dict)
    workers: dict[str, WorkerRow] = field(default_factory=dict)
    departments: set[str] = field(default_factory=set)
    events: int = 0
    as_found: int = 0

    def apply(self, c: Change, position: int) -> None:
        """Take one administrative change, found at `position`, into account."""
        self.events += 1
        self.as_found += c["as_found"]
        self._take(c, position)

    def found(self, c: Change) -> None:
        """Take an "as found" change as true from the log's start, before the replay: it
        accounts for a row that was there before the administrative log, and so for the
        batches its device signed before the change was written. A revocation found
        counts from its own position, when the replay reaches it."""
        if c["as_found"] and c["kind"] != "device.revoked":
            self._take(c, 0)

    def _take(self, c: Change, position: int) -> None:
        kind = c["kind"]
        if c["as_found"] and kind != "device.revoked":
            position = 0  # it accounts for a row that was there from the log's start
        if kind == "device.enrolled":
            self.devices[c["device"]] = Enrolled(c["worker"], c["signing_key"], c["agreement_key"], position)
        elif kind == "device.revoked" and c["device"] in self.devices:
            self.devices[c["device"]].revoked = position
        elif kind == "outbox.imported" and c["device"] in self.devices:
            self.devices[c["device"]].handed_over.update(c["batches"])
        elif kind in ("worker.added", "worker.changed"):
            self.workers[c["worker"]] = WorkerRow(c["worker"], c["department"], c["role"], False)
        elif kind == "worker.disabled" and c["worker"] in self.workers:
            w = self.workers[c["worker"]]
            self.workers[w.id] = WorkerRow(w.id, w.department, w.role, True)
        elif kind == "department.added":
            self.departments.add(c["department"])

    def signing_key(self, device_id: str, position: int, batch_id: str) -> bytes | str:
        """The key a batch stored at `position` must be signed with, or why there is none:
        the device enrolled before `position` and not revoked before it (the replay may
        have gone further, as a laptop's has). A revoked device's batch counts only when an
        import of its outbox named it."""
        if device_id == SERVER:
            return self.server_key
        enrolled = self.devices.get(device_id)
        if enrolled is None or enrolled.position >= position:
            return (
                f"device {device_id} signed the batch at position {position}, but no administrative event "
                "enrolled it before: the device row is not a device"
            )
        if enrolled.revoked is not None and enrolled.revoked < position and batch_id not in enrolled.handed_over:
            return (
                f"device {device_id} signed the batch at position {position}, but the administrative log "
                f"revoked it before, at position {enrolled.revoked}"
            )
        return enrolled.signing_key

    def unaccounted(
        self, devices: Iterable[Device], workers: Iterable[WorkerRow] = (), departments: Iterable[str] = ()
    ) -> list[str]:
        """The rows of the administration tables that no administrative event accounts for."""
        found = [msg for d in devices if (msg := self._device_problem(d))]
        for w in workers:
            known = self.workers.get(w.id)
            if known != w:
                found.append(f"worker {w.id}: {_differs(known, w)}")
        found += [f"department {d}: no administrative event added it" for d in departments if d not in self.departments]
        return found

    def _device_problem(self, d: Device) -> str | None:
        if d.device_id == SERVER:
            ok = d.signing_key == self.server_key
            return None if ok else "device server: its row's signing key is not the server's key"
        e = self.devices.get(d.device_id)
        if e is None:
            return f"device {d.device_id}: no administrative event enrolled it: the device row is not a device"
        if (e.worker, e.signing_key, e.agreement_key) != (d.worker, d.signing_key, d.agreement_key):
            return f"device {d.device_id}: its row's worker or keys differ from those the administrative log enrolled"
        if (e.revoked is None) != (d.revoked_at is None):
            return f"device {d.device_id}: its row's revocation differs from the administrative log"
        return None


def _differs(known: Any, row: WorkerRow) -> str:
    if known is None:
        return "no administrative event added this worker"
    return "the row's department, role or disabling differs from the administrative log"
