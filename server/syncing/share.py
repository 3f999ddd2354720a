"""A laptop's share of a case: what its worker's department may see now, plus the worker's own.

The pull (`server.syncing.pull`) sends a case's events whole only where
`core.visibility.department_view` (the pure rule every department view uses) lets the
department of the device's worker see them at the moment of the pull, and every event
the worker recorded; every other event goes as a placeholder (`sync.pulled`). The cases
come decrypted from the server's case cache (`core.case_cache.CaseCache`, shared with the
department views), so a pull decrypts only what was appended since the last look.

A case whose every event was recorded by the worker's own department (or by the worker)
is judged from the readable headers alone, without decrypting anything: rule 4 shows a
department its own events whatever the consents say, and the pull judges only cases of
the worker's caseload, where the department is a party and the case not erased. That is
most of a first sync (a department's own cases), and it keeps the pull's cost near what
it was before it judged.

`ShareJudge` also keeps the time it spent judging, for `bench.sync`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core import events as ev
from core.case_cache import CachedCase, CaseCache
from core.departments import Directory
from core.errors import CaseErased, KeyNotHeld
from core.log import LoggedEvent
from core.visibility import department_view
from sync.pulled import PulledEvent, Ranges, placeholder, to_ranges


@dataclass(frozen=True)
class CaseShare:
    """What a worker's laptop may hold of one case now: the sequences it gets whole, each
    with its grounds (own, consent, legal-basis, recipient), and the case's events."""

    case_id: str
    whole: dict[int, str]
    logged: list[LoggedEvent]

    @property
    def last(self) -> int:
        return len(self.logged)

    def pulled(self, e: LoggedEvent) -> PulledEvent:
        """The event as the laptop gets it: whole, or a placeholder."""
        if e.seq in self.whole:
            return PulledEvent(e.position, e.seq, self.case_id, e.sealed.raw, e.received, e.link)
        return placeholder(e.position, e.seq, self.case_id, e.sealed.digest, e.link)

    def hidden(self) -> Ranges:
        """The case's sequences the laptop may not hold whole, as ranges."""
        return to_ranges(seq for seq in range(1, self.last + 1) if seq not in self.whole)


MAX_OWN = 100_000  # cases remembered as all the department's own


@dataclass
class ShareJudge:
    """Judges cases for pulls from the decrypted case cache, at the moment of the pull."""

    cache: CaseCache
    directory: Callable[[], Directory]
    clock: Callable[[], datetime]
    seconds: float = field(default=0.0)  # spent judging, for bench.sync
    opening: float = field(default=0.0)  # spent getting cases decrypted from the cache
    judged: int = field(default=0)  # events judged
    # (case, department, worker) -> the case's length when every event of it was found to
    # be the department's or the worker's own: while the case has not grown, its share is
    # whole and nothing of it is hidden, so the forget list needs no second reading.
    own: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def all_own(self, case_id: str, department: str, worker: str, length: int | None) -> bool:
        """Whether a case of `length` events was found all the department's own before."""
        return length is not None and self.own.get((case_id, department, worker)) == length

    def share(
        self, case_id: str, department: str, worker: str, at: datetime, whole: Sequence[LoggedEvent] | None = None
    ) -> CaseShare | None:
        """The worker's share of a case in their caseload at `at`; None for an erased or
        unknown case. `whole`, when the caller has read every event of the case already
        (a pull's page that holds it from its first event to its last), spares reading it
        again."""
        started = time.perf_counter()
        if self.cache.held(case_id) is None:
            logged = list(whole) if whole is not None else self.cache.log.case_events(case_id)
            if logged and all(_own(le, department, worker) for le in logged):
                self.seconds += time.perf_counter() - started
                self.judged += len(logged)
                if len(self.own) >= MAX_OWN:
                    self.own.clear()  # a bound on memory; the next pulls read the cases again
                self.own[(case_id, department, worker)] = len(logged)
                return CaseShare(case_id, dict.fromkeys(range(1, len(logged) + 1), "own"), logged)
        try:
            case = self.cache.get(case_id)
        except (KeyNotHeld, CaseErased):
            return None
        finally:
            self.opening += time.perf_counter() - started
        started = time.perf_counter()
        try:
            return _judge(case, department, worker, self.directory(), at)
        finally:
            self.seconds += time.perf_counter() - started
            self.judged += case.seq


def _own(le: LoggedEvent, department: str, worker: str) -> bool:
    """Whether the event's readable header shows the department or the worker recorded it.
    An erasure's tombstone never counts (the server records it in the lead's name): an
    erased case is judged from the cache, which knows it is gone."""
    header = le.sealed.header
    return header.topic != ev.CaseErased.TOPIC and (header.department == department or header.author == worker)


def _judge(case: CachedCase, department: str, worker: str, directory: Directory, at: datetime) -> CaseShare | None:
    if case.state.status == "erased":
        return None
    seen = department_view(case.state, case.events, department, directory, at) or []
    whole = {s.seq: s.basis for s in seen}
    for seq, e in enumerate(case.events, start=1):
        if e.header.author == worker:
            whole[seq] = "own"
    return CaseShare(case.case_id, whole, case.logged)
