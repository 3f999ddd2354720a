"""Decrypted cases kept in memory for reading, extended from the log's tail on each use.

`CaseCache` keeps each case's decrypted events and folded state, keyed by the last
sequence it has applied, and reads only the events after that sequence when asked again
(so several server instances stay honest: an event appended anywhere is in the next
answer). A case of a few hundred events is judged for a department in a few
milliseconds from here (`core.case_view`), and nothing decrypted ever touches the disk.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from core import events as ev
from core.case import CaseState, fold
from core.errors import KeyNotHeld
from core.log import CaseLog, LoggedEvent


@dataclass
class CachedCase:
    """One case decrypted in memory: its logged events, typed events and folded state."""

    case_id: str
    logged: list[LoggedEvent] = field(default_factory=list)
    events: list[ev.CaseEvent] = field(default_factory=list)
    state: CaseState = field(init=False)

    def __post_init__(self) -> None:
        self.state = CaseState(self.case_id)

    @property
    def seq(self) -> int:
        return self.state.seq


class CaseCache:
    """Decrypted cases kept in memory (least recently used dropped first), never on disk.

    `get` reads the case's tail after the sequence it holds, so a read always includes
    everything the log has, also what another server instance appended.
    """

    def __init__(self, log: CaseLog, size: int = 500) -> None:
        self.log = log
        self.size = size
        self._cases: OrderedDict[str, CachedCase] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, case_id: str) -> CachedCase:
        """The case with every event the log holds; KeyNotHeld for an unknown case,
        CaseErased when its key was destroyed (and the case has no tombstone yet)."""
        with self._lock:
            cached = self._cases.get(case_id)
        if cached is None:
            cached = CachedCase(case_id)
        newer = self.log.case_events(case_id, after=cached.seq)
        if not newer and not cached.seq:
            raise KeyNotHeld(f"no case {case_id} is held here")
        if newer:
            # Extend a copy so a concurrent reader never sees half an extension.
            fresh = CachedCase(case_id, list(cached.logged), list(cached.events))
            fresh.state = fold(case_id, fresh.events) if cached.seq else fresh.state
            for le in newer:
                e = self.log.open(le)
                fresh.logged.append(le)
                fresh.events.append(e)
                fresh.state.apply(e)
            cached = fresh
        with self._lock:
            self._cases[case_id] = cached
            self._cases.move_to_end(case_id)
            while len(self._cases) > self.size:
                self._cases.popitem(last=False)
        return cached

    def held(self, case_id: str) -> CachedCase | None:
        """The case as decrypted earlier, if it is still in memory (no database read: it
        may lack the newest events; `get` has them)."""
        with self._lock:
            return self._cases.get(case_id)

    def forget(self, case_id: str) -> None:
        """Drop a case's plaintext from memory (after erasure, or to free room)."""
        with self._lock:
            self._cases.pop(case_id, None)
