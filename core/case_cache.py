"""Decrypted cases kept in memory for reading, extended from the log's tail on each use.

`CaseCache` keeps each case's decrypted events and folded state, keyed by the last
sequence it has applied, and reads only the events after that sequence when asked again
(so several server instances stay honest: an event appended anywhere is in the next
answer). A case of a few hundred events is judged for a department in a few
milliseconds from here (`core.case_view`), and nothing decrypted ever touches the disk.
The cache is held within a byte budget (`core.memory_budget`), so a process's memory
stays bounded however long its cases grow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core import events as ev
from core.case import CaseState, fold
from core.errors import KeyNotHeld
from core.log import CaseLog, LoggedEvent
from core.memory_budget import Budgeted, estimate

#: Bytes of decrypted cases one cache keeps by default (the `cache_mib` setting sets it).
CASE_BUDGET = 96 * 1024 * 1024


@dataclass
class CachedCase:
    """One case decrypted in memory: its logged events, typed events and folded state."""

    case_id: str
    logged: list[LoggedEvent] = field(default_factory=list)
    events: list[ev.CaseEvent] = field(default_factory=list)
    sealed_bytes: int = 0  # of the logged events, for the size estimate
    state: CaseState = field(init=False)

    def __post_init__(self) -> None:
        self.state = CaseState(self.case_id)

    @property
    def seq(self) -> int:
        return self.state.seq


class CaseCache:
    """Decrypted cases kept in memory (least recently used dropped first, within `budget`
    bytes as estimated by `core.memory_budget.estimate`), never on disk.

    `get` reads the case's tail after the sequence it holds, so a read always includes
    everything the log has, also what another server instance appended.
    """

    def __init__(self, log: CaseLog, budget: int = CASE_BUDGET) -> None:
        self.log = log
        self.cases: Budgeted[str, CachedCase] = Budgeted(budget)

    def get(self, case_id: str) -> CachedCase:
        """The case with every event the log holds; KeyNotHeld for an unknown case,
        CaseErased when its key was destroyed (and the case has no tombstone yet)."""
        cached = self.cases.get(case_id)
        if cached is None:
            cached = CachedCase(case_id)
        newer = self.log.case_events(case_id, after=cached.seq)
        if not newer and not cached.seq:
            raise KeyNotHeld(f"no case {case_id} is held here")
        if newer:
            # Extend a copy so a concurrent reader never sees half an extension.
            fresh = CachedCase(case_id, list(cached.logged), list(cached.events), cached.sealed_bytes)
            fresh.state = fold(case_id, fresh.events) if cached.seq else fresh.state
            for le in newer:
                e = self.log.open(le)
                fresh.logged.append(le)
                fresh.events.append(e)
                fresh.sealed_bytes += len(le.sealed.raw)
                fresh.state.apply(e)
            cached = fresh
        self.cases.put(case_id, cached, estimate(cached.sealed_bytes))
        return cached

    def held(self, case_id: str) -> CachedCase | None:
        """The case as decrypted earlier, if it is still in memory (no database read: it
        may lack the newest events; `get` has them)."""
        return self.cases.get(case_id)

    def forget(self, case_id: str) -> None:
        """Drop a case's plaintext from memory (after erasure, or to free room)."""
        self.cases.pop(case_id)
