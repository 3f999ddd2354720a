"""What one event is as a leaf of the log's Merkle tree (`core.merkle`): a fixed encoding.

Each stored event, in position order, is one leaf. Its data is the SHA-256 of the sealed
bytes the device signed, and everything the server added on append, in a fixed layout
(integers big-endian, so two implementations cannot disagree):

    "tovholder/leaf/v1" 0x00
    SHA-256(sealed bytes)      32
    position                    8   the event's global position
    case id                    16   the UUID's bytes
    case sequence               8
    chain link                 32   `core.chain`
    time received (µs)          8   signed
    len(batch id)               1
    batch id                   ≤255 UTF-8

So a leaf fixes the event's content, its place in the log and in its case, when it came
and in which signed batch. The last four fields are the stored envelope's header as it
is (`core.log.envelope`, less its format byte), so the append's hot path copies them in
one piece. Only hashlib, so a laptop can rebuild a leaf it pulled.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from functools import lru_cache
from uuid import UUID

Stored = tuple[str, int, str, bytes]
"""A stored event as the log writes it (`core.logstore.Row`): case id, sequence, type, envelope."""

PREFIX = b"tovholder/leaf/v1\x00"
_STARTED = hashlib.sha256(b"\x00" + PREFIX)  # RFC 9162's leaf hash prefix, then the leaf's own
_PLACE = struct.Struct(">Q16sQ")  # position, case id, case sequence


def leaf_data(position: int, case_id: str, seq: int, state: bytes) -> bytes:
    """The leaf of a stored event, from its position, case, sequence and stored envelope
    (`core.log.envelope`: format byte, link, time received, batch id, sealed bytes)."""
    end = 42 + state[41]
    return b"".join(
        (
            PREFIX,
            hashlib.sha256(state[end:]).digest(),
            position.to_bytes(8, "big"),
            UUID(case_id).bytes,
            seq.to_bytes(8, "big"),
            state[1:end],  # chain link, time received, length and batch id
        )
    )


def leaf_of_fields(
    digest: bytes, position: int, case_id: str, seq: int, link: bytes, received: int, batch_id: str
) -> bytes:
    """The same leaf as `leaf_data`, from the fields a laptop gets in a pull (a placeholder
    has no sealed bytes, only their SHA-256 `digest`)."""
    batch = batch_id.encode()
    return b"".join(
        (
            PREFIX,
            digest,
            _PLACE.pack(position, UUID(case_id).bytes, seq),
            link,
            received.to_bytes(8, "big", signed=True),
            len(batch).to_bytes(1, "big"),
            batch,
        )
    )


@lru_cache(maxsize=65_536)  # a batch repeats its cases; the next batch asks about the same ones
def case_bytes(case_id: str) -> bytes:
    """A case id's 16 bytes, from its text."""
    return UUID(case_id).bytes


def leaf_hashes(positions: Sequence[int], rows: Sequence[Stored], digests: Sequence[bytes] = ()) -> list[bytes]:
    """The leaf hashes (`core.merkle.leaf_hash` of `leaf_data`) of stored events, given as
    their positions and the rows the log stored: the same bytes, built and hashed in one
    go on the append's hot path. `digests`, when given, are the SHA-256 of each event's
    sealed bytes, which the log computed already."""
    sha256, place = hashlib.sha256, _PLACE.pack
    if not digests:
        digests = [sha256(row[3][42 + row[3][41] :]).digest() for row in rows]
    start = _STARTED.copy  # the prefix hashed once; each leaf goes on from a copy
    hashes: list[bytes] = []
    for position, (case_id, seq, _, state), digest in zip(positions, rows, digests, strict=True):
        h = start()
        h.update(digest + place(position, case_bytes(case_id), seq) + state[1 : 42 + state[41]])
        hashes.append(h.digest())
    return hashes
