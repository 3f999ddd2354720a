"""The leaves an auditor keeps beside the signed heads, so that a rewrite is named exactly.

A head vouches for a root, and a root alone says only *that* something below it changed.
An insider who rewrote events and rebuilt the stored tree and heads leaves nothing in the
database that still says *where*. So the export keeps, for every leaf up to its newest
head, the leaf hash and what the leaf covers of the event's place (position, case,
sequence): 64 bytes a leaf, compressed. The newest head's signature vouches for them
(their root must be its root), and the first kept leaf the stored events no longer
rebuild is the exact position of the edit. Case ids are random UUIDs; nothing personal.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import NamedTuple
from uuid import UUID

from core.merkle import Frontier

RECORD = struct.Struct(">32sQ16sQ")


class KeptLeaf(NamedTuple):
    """One leaf of the tree and the event's place it covers."""

    position: int
    case_id: str
    seq: int
    leaf_hash: bytes

    def named(self) -> str:
        """The event's place in the words of an audit report."""
        return f"the event at position {self.position} (case {self.case_id}, sequence {self.seq})"


def pack(leaves: Iterable[KeptLeaf]) -> str:
    """The leaves as text for a JSON file: packed records, compressed, base64."""
    raw = b"".join(RECORD.pack(lf.leaf_hash, lf.position, UUID(lf.case_id).bytes, lf.seq) for lf in leaves)
    return base64.b64encode(zlib.compress(raw, 9)).decode("ascii")


def unpack(text: str) -> list[KeptLeaf]:
    """The leaves of `pack` (none for an empty text); ValueError when the text is not such leaves."""
    if not text:
        return []
    try:
        raw = zlib.decompress(base64.b64decode(text, validate=True))
    except (zlib.error, ValueError) as exc:
        raise ValueError(f"the kept leaves are damaged: {exc}") from None
    if len(raw) % RECORD.size:
        raise ValueError("the kept leaves are damaged: not whole records")
    return [
        KeptLeaf(position, str(UUID(bytes=case)), seq, leaf_hash)
        for leaf_hash, position, case, seq in RECORD.iter_unpack(raw)
    ]


def root_of(leaves: Sequence[KeptLeaf]) -> bytes:
    """The root of the tree of these leaves, to hold them to a signed head."""
    frontier = Frontier()
    frontier.grow([lf.leaf_hash for lf in leaves], keep_from=64)  # no subtrees wanted back
    return frontier.root()


def first_difference(kept: Sequence[KeptLeaf], rebuilt: Sequence[KeptLeaf]) -> KeptLeaf | None:
    """The first kept leaf the rebuilt ones no longer hold at its index (changed,
    removed or moved); None when every kept leaf is still there."""
    for k, leaf in enumerate(kept):
        if k >= len(rebuilt) or rebuilt[k] != leaf:
            return leaf
    return None
