"""The shape of a pulled event, shared by the server's pull page and the laptop's copy.

Kept in a module of its own, free of the wire codec, so that a laptop command that only
reads its confirmed events does not load the protocol's encoder.

A laptop holds a case as far as its worker's department may see it: an event it may see
is held whole; any other is a *placeholder* that keeps only what the case's hash chain
needs (position, case sequence, case id, the SHA-256 of the sealed bytes, the chain
link), so the laptop still verifies the server's chain and holds nothing of the event's
header or payload. Sets of case sequences travel as ranges (`Ranges`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import NamedTuple

Ranges = tuple[tuple[int, int], ...]
"""Case sequences as sorted, disjoint, inclusive (low, high) ranges."""


class PulledEvent(NamedTuple):
    """An event as the server confirmed it: the sealed bytes as the laptop signed them, and
    what the server added on append (case sequence, global position, time received in µs,
    chain link). The shape of a pulled page's events and of the laptop's confirmed copy.

    A placeholder has no sealed bytes and no time received: only the `digest` (SHA-256
    of the sealed bytes) that the chain link is computed from.
    """

    position: int
    seq: int
    case_id: str
    sealed: bytes
    received: int
    link: bytes
    digest: bytes = b""

    @property
    def placeholder(self) -> bool:
        """Whether only the chain's share of the event is held, not the event."""
        return not self.sealed

    @property
    def chained(self) -> bytes:
        """The SHA-256 of the sealed bytes, the event's part in the chain link."""
        return self.digest if self.placeholder else hashlib.sha256(self.sealed).digest()

    def veiled(self) -> PulledEvent:
        """This event as a placeholder: nothing of its header or payload left."""
        return PulledEvent(self.position, self.seq, self.case_id, b"", 0, self.link, self.chained)


def placeholder(position: int, seq: int, case_id: str, digest: bytes, link: bytes) -> PulledEvent:
    """A placeholder for event `seq` of a case: what the chain needs, nothing more."""
    return PulledEvent(position, seq, case_id, b"", 0, link, digest)


def to_ranges(seqs: Iterable[int]) -> Ranges:
    """Case sequences as sorted inclusive ranges: {1, 2, 3, 7} -> ((1, 3), (7, 7))."""
    out: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return tuple(out)


def within(ranges: Ranges, last: int) -> set[int]:
    """The case sequences the ranges name, from 1 to `last` only (the ranges may come from
    the other end: a range of a billion sequences costs no more than the case is long)."""
    return {seq for low, high in ranges for seq in range(max(low, 1), min(high, last) + 1)}
