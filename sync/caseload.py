"""Caseloads: which cases a worker's devices receive when they pull.

A worker's caseload is the cases an administrator assigned to them plus the cases whose
`case opened` event they recorded themselves. Assignments are rows of their own; the
openers are a small index kept beside the log, caught up from the library's notification
log filtered by the `case.opened` topic (the readable header names the author, so no case
key is needed). Catching up is idempotent, so a crash between an append and the index
update only delays the index until the next pull.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from core.errors import CodecError, InvalidInput
from core.log import CaseLog, unpack_envelope
from core.sealing import parse


class Caseload:
    """Assignments and case openers, stored in the log's database."""

    def __init__(self, log: CaseLog) -> None:
        self.log = log
        self._lock = threading.Lock()
        t = log.tables
        self.p = t.p
        self.assignments = f"{t.q}sync_assignments"
        self.openers = f"{t.q}sync_case_openers"
        self.tracking = f"{t.q}sync_openers_position"
        run = log.recorder.run
        run(
            f"CREATE TABLE IF NOT EXISTS {self.assignments} (case_id TEXT NOT NULL, "
            "worker TEXT NOT NULL, PRIMARY KEY (case_id, worker))",
            commit=True,
        )
        run(
            f"CREATE TABLE IF NOT EXISTS {self.openers} (case_id TEXT PRIMARY KEY, worker TEXT NOT NULL)",
            commit=True,
        )
        run(f"CREATE TABLE IF NOT EXISTS {self.tracking} (position BIGINT NOT NULL)", commit=True)
        run(
            f"CREATE INDEX IF NOT EXISTS sync_assignments_worker ON {self.assignments} (worker)",
            commit=True,
        )
        run(
            f"CREATE INDEX IF NOT EXISTS sync_case_openers_worker ON {self.openers} (worker)",
            commit=True,
        )

    # -- assignments ---------------------------------------------------------------------
    def assign(self, case_id: str, worker: str) -> bool:
        """Assign a case to a worker; False when it already was. InvalidInput for a bad id."""
        try:
            case_id = str(UUID(case_id))
        except (ValueError, TypeError, AttributeError):
            raise InvalidInput("a case id is a UUID") from None
        p = self.p
        rows = self.log.recorder.run(
            f"SELECT 1 FROM {self.assignments} WHERE case_id={p} AND worker={p}", (case_id, worker)
        )
        if rows:
            return False
        try:
            self.log.recorder.run(f"INSERT INTO {self.assignments} VALUES ({p},{p})", (case_id, worker), commit=True)
        except IntegrityError:
            return False  # assigned meanwhile by another request
        return True

    def unassign(self, case_id: str, worker: str) -> bool:
        """Remove an assignment; False when there was none."""
        p = self.p
        rows = self.log.recorder.run(
            f"SELECT 1 FROM {self.assignments} WHERE case_id={p} AND worker={p}", (case_id, worker)
        )
        if not rows:
            return False
        self.log.recorder.run(
            f"DELETE FROM {self.assignments} WHERE case_id={p} AND worker={p}",
            (case_id, worker),
            commit=True,
        )
        return True

    def assigned(self, worker: str) -> list[str]:
        p = self.p
        return [
            r[0]
            for r in self.log.recorder.run(
                f"SELECT case_id FROM {self.assignments} WHERE worker={p} ORDER BY case_id",
                (worker,),
            )
        ]

    # -- openers -------------------------------------------------------------------------
    def catch_up(self, page: int = 1000) -> int:
        """Index the authors of `case opened` events appended since the last catch-up."""
        with self._lock:
            return self._catch_up(page)

    def _catch_up(self, page: int) -> int:
        run = self.log.recorder.run
        rows = run(f"SELECT position FROM {self.tracking}")
        after = int(rows[0][0]) if rows else 0
        if not rows:
            run(f"INSERT INTO {self.tracking} VALUES (0)", commit=True)
        while True:
            notes = self.log.recorder.select_notifications(after + 1, page, topics=("case.opened",))
            if not notes:
                return after
            found: list[tuple[str, str]] = []
            for n in notes:
                try:
                    sealed = parse(unpack_envelope(bytes(n.state))[0])
                except CodecError:
                    continue  # `audit verify` reports unreadable rows; routing skips them
                found.append((_case_id(n.originator_id), sealed.header.author))
            self._add_openers(found)
            after = notes[-1].id
            run(f"UPDATE {self.tracking} SET position={self.p}", (after,), commit=True)

    def _add_openers(self, found: Iterable[tuple[str, str]]) -> None:
        p = self.p
        for case_id, worker in found:
            if self.log.recorder.run(f"SELECT 1 FROM {self.openers} WHERE case_id={p}", (case_id,)):
                continue
            try:
                self.log.recorder.run(f"INSERT INTO {self.openers} VALUES ({p},{p})", (case_id, worker), commit=True)
            except IntegrityError:
                continue  # another thread or server instance indexed it first

    def opened_by(self, worker: str) -> list[str]:
        p = self.p
        return [
            r[0]
            for r in self.log.recorder.run(
                f"SELECT case_id FROM {self.openers} WHERE worker={p} ORDER BY case_id", (worker,)
            )
        ]

    def of(self, worker: str) -> set[str]:
        """The worker's caseload: assigned cases and cases they opened."""
        self.catch_up()
        return set(self.assigned(worker)) | set(self.opened_by(worker))


def _case_id(originator_id: Any) -> str:
    return str(originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id)))
