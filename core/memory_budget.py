"""A least-recently-used map held within a byte budget: the shape of every per-process cache.

A cache capped by a number of cases grows with the cases' length: a case of a thousand
contacts weighs a hundred times one of ten, so a server's memory grew with every stored
event. `Budgeted` counts what each entry is estimated to weigh instead and drops the
least recently used entries until the sum is within its budget; an entry heavier than
the whole budget is not kept at all (it is answered, just not remembered).

Measuring Python objects exactly (walking them with `sys.getsizeof`) costs more than the
cache saves, so the caches estimate: the length of the sealed bytes an entry was
decrypted from, times `PLAIN_PER_SEALED_BYTE` (measured once with `tracemalloc`, see
tests/core/test_memory_budget.py), plus `ENTRY_OVERHEAD` per entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Bytes of Python objects (logged event, typed event, folded state) per byte of sealed
#: event, measured with tracemalloc: 6.6 for contacts with notes of a few lines, 7.8 for
#: one-line notes (tests/core/test_memory_budget.py checks the estimate holds).
PLAIN_PER_SEALED_BYTE = 10
#: Bytes an entry weighs before any event: its key, its state object, the map's slot.
ENTRY_OVERHEAD = 2048


def estimate(sealed_bytes: int) -> int:
    """The bytes a case decrypted from `sealed_bytes` of sealed events weighs in memory."""
    return ENTRY_OVERHEAD + PLAIN_PER_SEALED_BYTE * sealed_bytes


class Budgeted(Generic[K, V]):
    """Entries by key, least recently used dropped first, their estimated sizes summing to
    at most `budget` bytes. Thread-safe."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The entry, now the most recently used; None when it is not held."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Hold `value` as weighing `size` bytes (replacing what `key` held), then drop the
        least recently used until the budget holds; a value over the budget is not held."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.used -= old[1]
            if size <= self.budget:
                self._entries[key] = (value, size)
                self.used += size
            while self.used > self.budget and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.used -= dropped

    def pop(self, key: K) -> V | None:
        """Drop the entry (e.g. a case's plaintext after erasure); what it held, if anything."""
        with self._lock:
            found = self._entries.pop(key, None)
            if found is None:
                return None
            self.used -= found[1]
            return found[0]
