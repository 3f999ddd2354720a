"""Caseloads: which cases a worker's devices receive when they pull and may push to.

A worker's caseload is the cases an administrator assigned to them plus the cases whose
`case opened` event they recorded themselves, each only while the worker's department is
a party of the case and the case is not erased: a department that leaves the team takes
the case off its workers' laptops, its opener's included. Party status is folded from the
case's membership events (`core.case_index.IndexFolds`, decrypted with the KEK), read up
to the case's last sequence on every question, so a change appended by any server
process or administrator's command counts at the next pull or push. Assignments are rows of their own; the
openers are a small index kept beside the log, caught up from the library's notification
log filtered by the `case.opened` topic (the readable header names the author, so no case
key is needed); when no case was opened since, its position moves to the log's head as
it stood before the question, as a view's does (`core.projection`). Catching up is
idempotent, so a crash between an append and the index update only delays the index
until the next pull. The tables live behind the log's
storage seam (`core.logstore.LogStore`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from uuid import UUID

from core.case import CaseState
from core.case_index import FOLD_BUDGET, IndexFolds
from core.errors import CodecError, InvalidInput, KeyNotHeld
from core.log import CaseLog, LoggedEvent, unpack_envelope
from core.sealing import parse

Tails = Mapping[str, Sequence[LoggedEvent]]  # cases' latest events, read with one question


class Caseload:
    """Assignments and case openers, stored in the log's database."""

    def __init__(self, log: CaseLog, budget: int = FOLD_BUDGET) -> None:
        self.log = log
        self.store = log.recorder
        self.folds = IndexFolds(log, budget)
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
            head = self.store.max_position()
            rows = self.store.notifications(after, page, ("case.opened",))
            if not rows:
                # None since: the index stands at the head as it was before the question,
                # so the next catch-up reads only what was appended after it, not the
                # same run of other events again on every push.
                if head > after:
                    self.store.add_openers((), head)
                return max(head, after)
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

    # -- party status ---------------------------------------------------------------------
    def states(self, case_ids: Iterable[str], tails: Tails | None = None) -> dict[str, CaseState]:
        """Membership and status of each named case that has events, as the log holds it
        now (one question for where the cases end, then only their newer events, not even
        those when `tails` holds them: the cases' events read just before)."""
        last = self.store.last_seqs(sorted(set(case_ids)))
        tails = tails or {}
        return {case_id: self.folds.state(case_id, seq, tails.get(case_id, ())) for case_id, seq in last.items()}

    def folded_to(self, case_id: str) -> int:
        """The sequence the case's membership is folded to in memory (0 when it is not)."""
        found = self.folds.folded.get(case_id)
        return 0 if found is None else found[0]

    def party(self, case_id: str, department: str) -> bool:
        """Whether a department is a party of the case now (and the case not erased).
        KeyNotHeld for a case the log has no event of."""
        state = self.states([case_id]).get(case_id)
        if state is None:
            raise KeyNotHeld(f"no case {case_id} is held here")
        return _holds(state, department)

    # -- the caseload ----------------------------------------------------------------------
    def of(self, worker: str, department: str) -> set[str]:
        """The worker's caseload: cases assigned to them or opened by them, while their
        department is a party of the case and the case is not erased."""
        return self._holding(worker, department, None)

    def among(self, worker: str, department: str, case_ids: Iterable[str], tails: Tails | None = None) -> set[str]:
        """Those of `case_ids` in the worker's caseload now (what a push may touch)."""
        return self._holding(worker, department, set(case_ids), tails)

    def _holding(self, worker: str, department: str, only: set[str] | None, tails: Tails | None = None) -> set[str]:
        if only is not None and not only:
            return set()
        self.catch_up()
        candidates = set(self.assigned(worker)) | set(self.opened_by(worker))
        if only is not None:
            candidates &= only
        return {c for c, state in self.states(candidates, tails).items() if _holds(state, department)}

    def once_held(self, worker: str, among: Iterable[str]) -> list[str]:
        """Those of `among` that were ever in the worker's caseload's reach: assigned now or
        before, or opened by them; never a case id the worker had nothing to do with."""
        among = set(among)
        mine = set(self.assigned(worker)) | set(self.opened_by(worker))
        return sorted((mine & among) | set(self.store.formerly_assigned(worker, among)))


def _holds(state: CaseState, department: str) -> bool:
    return state.status != "erased" and state.is_party(department)
