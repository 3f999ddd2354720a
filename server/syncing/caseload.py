"""Caseloads: which cases a worker's devices receive when they pull.

A worker's caseload is the cases an administrator assigned to them plus the cases whose
`case opened` event they recorded themselves. Assignments are rows of their own; the
openers are a small index kept beside the log, caught up from the library's notification
log filtered by the `case.opened` topic (the readable header names the author, so no case
key is needed). Catching up is idempotent, so a crash between an append and the index
update only delays the index until the next pull. The tables live behind the log's
storage seam (`core.logstore.LogStore`).
"""

from __future__ import annotations

import threading
from uuid import UUID

from core.errors import CodecError, InvalidInput
from core.log import CaseLog, unpack_envelope
from core.sealing import parse


class Caseload:
    """Assignments and case openers, stored in the log's database."""

    def __init__(self, log: CaseLog) -> None:
        self.log = log
        self.store = log.recorder
        self._lock = threading.Lock()

    # -- assignments ---------------------------------------------------------------------
    def assign(self, case_id: str, worker: str) -> bool:
        """Assign a case to a worker; False when it already was. InvalidInput for a bad id."""
        try:
            case_id = str(UUID(case_id))
        except (ValueError, TypeError, AttributeError):
            raise InvalidInput("a case id is a UUID") from None
        return self.store.assign(case_id, worker)

    def unassign(self, case_id: str, worker: str) -> bool:
        """Remove an assignment; False when there was none."""
        return self.store.unassign(case_id, worker)

    def assigned(self, worker: str) -> list[str]:
        """The cases assigned to a worker, sorted."""
        return self.store.assigned(worker)

    # -- openers -------------------------------------------------------------------------
    def catch_up(self, page: int = 1000) -> int:
        """Index the authors of `case opened` events appended since the last catch-up."""
        with self._lock:
            return self._catch_up(page)

    def _catch_up(self, page: int) -> int:
        after = self.store.openers_position()
        while True:
            rows = self.store.notifications(after, page, ("case.opened",))
            if not rows:
                return after
            found: list[tuple[str, str]] = []
            for row in rows:
                try:
                    sealed = parse(unpack_envelope(row.state)[0])
                except CodecError:
                    continue  # `audit verify` reports unreadable rows; routing skips them
                found.append((row.case_id, sealed.header.author))
            after = rows[-1].position
            self.store.add_openers(found, after)

    def opened_by(self, worker: str) -> list[str]:
        """The cases a worker opened, sorted."""
        return self.store.opened_by(worker)

    def of(self, worker: str) -> set[str]:
        """The worker's caseload: assigned cases and cases they opened."""
        self.catch_up()
        return set(self.assigned(worker)) | set(self.opened_by(worker))
