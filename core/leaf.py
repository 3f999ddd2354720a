"""What one event is as a leaf of the log's Merkle tree (`core.merkle`): a fixed encoding.

Each stored event, in position order, is one leaf. Its data is the SHA-256 of the sealed
bytes the device signed, and everything the server added on append, in a fixed layout
(integers big-endian, so two implementations cannot disagree):

    "tovholder/leaf/v1" 0x00
    SHA-256(sealed bytes)      32
    position                    8   the event's global position
    case id                    16   the UUID's bytes
    case sequence               8
    time received (µs)          8   signed
    chain link                 32   `core.chain`
    len(batch id)               1
    batch id                   ≤255 UTF-8

So a leaf fixes the event's content, its place in the log and in its case, when it came
and in which signed batch. Only hashlib, so a laptop can rebuild a leaf it pulled.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

PREFIX = b"tovholder/leaf/v1\x00"


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
            state[33:41],  # time received, as the envelope holds it
            state[1:33],  # chain link
            state[41:end],  # length and batch id
        )
    )
