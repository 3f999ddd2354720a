"""The tree part of a pull answer: the signed head, and proofs that tie the page to it.

Every pull answer carries the server's current signed tree head (`core.treehead`), the
consistency proof from the head the laptop kept last (its size named in the request),
and one multi-leaf inclusion proof (`core.merkle.multi_inclusion_proof`) for every event
and placeholder of the page. Per event the answer adds what the leaf (`core.leaf`)
needs beyond the event itself: its leaf index and batch id and, for a placeholder, its
time received (`LeafPlace`). None of these says anything of an event's content: a batch
id is a random id, the time received is when the server stored it (the position already
orders it), and the leaf index is its place among all leaves.

With them a laptop recomputes each delivered event's leaf from what it got, so the
proof holds only if the server's tree holds exactly those bytes at those places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from core.leaf import leaf_of_fields
from core.merkle import leaf_hash
from core.treehead import TreeHead
from sync.pulled import PulledEvent


class LeafPlace(NamedTuple):
    """What an event's leaf needs beyond the pulled event: its leaf index, its time
    received (a placeholder carries no other) and the id of the batch it came in."""

    position: int
    leaf: int
    received: int
    batch: str


@dataclass(frozen=True)
class PageProof:
    """The signed head of a pull answer, the consistency proof from the laptop's kept
    head of size `since` (None on a laptop's first pull: nothing to prove from) and the
    inclusion proof of the page's leaves, with their `places` by position."""

    head: TreeHead
    public_key: bytes
    since: int | None
    consistency: tuple[bytes, ...]
    inclusion: tuple[bytes, ...]
    places: tuple[LeafPlace, ...]

    def place_of(self) -> dict[int, LeafPlace]:
        return {p.position: p for p in self.places}


class UnplacedEvent(ValueError):
    """A pulled event the proof gives no leaf for, or two events that claim one leaf."""


def page_leaves(events: Sequence[PulledEvent], places: Mapping[int, LeafPlace]) -> dict[int, bytes]:
    """The leaf hash of every pulled event by its leaf index, rebuilt from what the
    laptop got; UnplacedEvent when an event has no place or shares a leaf with another."""
    leaves: dict[int, bytes] = {}
    for e in events:
        place = places.get(e.position)
        if place is None:
            raise UnplacedEvent(f"the event at position {e.position} comes without its place in the tree")
        received = place.received if e.placeholder else e.received
        hashed = leaf_hash(leaf_of_fields(e.chained, e.position, e.case_id, e.seq, e.link, received, place.batch))
        if leaves.setdefault(place.leaf, hashed) != hashed:
            raise UnplacedEvent(f"two events of the page claim leaf {place.leaf}")
    return leaves
