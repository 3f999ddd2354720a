"""One truth for every server process: a generation counter per kind of change.

Whatever an administrator changes (a device revoked, a case erased, a worker or token
changed, a case assigned, a department added) bumps the generation of its kind in the
same transaction as the change, in the log's `generations` table. Every process that
keeps something of that kind in memory remembers the generation its caches were built
at (`Generations`); before it answers a request that depends on them it reads the
table (one small query, asked from the event loop through `core.heads`) and drops the
caches of every kind whose generation moved. So a change made through HTTP, through an
administrator's command on the data folder, or by another server instance on the same
PostgreSQL takes effect in this process before its next answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

DEVICES = "devices"
ACCOUNTS = "accounts"  # workers and their tokens
ERASURES = "erasures"
ASSIGNMENTS = "assignments"
DEPARTMENTS = "departments"
KINDS = (DEVICES, ACCOUNTS, ERASURES, ASSIGNMENTS, DEPARTMENTS)


class Generations:
    """The generation each kind's caches in this process were built at, and what to drop
    when the database's generation of a kind moves on."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self._drops: dict[str, list[Callable[[], None]]] = {kind: [] for kind in KINDS}
        self._lock = threading.Lock()

    def listen(self, kind: str, drop: Callable[[], None]) -> None:
        """Call `drop` whenever a change of `kind` made anywhere is observed."""
        self._drops[kind].append(drop)

    def moved(self, current: Mapping[str, int]) -> bool:
        """Whether any kind's generation differs from the one the caches were built at."""
        seen = self.seen
        return any(seen.get(kind) != value for kind, value in current.items() if kind in self._drops)

    def observe(self, current: Mapping[str, int]) -> list[str]:
        """Compare the database's generations with those the caches were built at and drop
        the caches of every kind that moved (all of them the first time); the kinds that
        moved."""
        with self._lock:
            moved = [kind for kind in KINDS if kind in current and self.seen.get(kind) != current[kind]]
            for kind in moved:
                self.seen[kind] = current[kind]
        for kind in moved:
            for drop in self._drops[kind]:
                drop()
        return moved
