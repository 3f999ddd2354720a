"""The per-case hash chain, as both ends compute it.

    link(0) = SHA-256("tovholder/chain/v1" 0x00 || case id)
    link(n) = SHA-256(link(n-1) || n as 8 bytes || SHA-256(sealed bytes of event n))

The server extends it on append (`core.log`); a laptop checks every pulled event against
it (`client.store`); `audit verify` recomputes it. Only hashlib, so a laptop command can
check a chain without loading the server's storage.
"""

from __future__ import annotations

import hashlib

GENESIS = b"tovholder/chain/v1\x00"


def genesis(case_id: str) -> bytes:
    """The link before a case's first event."""
    return hashlib.sha256(GENESIS + case_id.encode()).digest()


def next_link(prev: bytes, seq: int, digest: bytes) -> bytes:
    """The link of event `seq`, from the previous link and the SHA-256 of its sealed bytes."""
    return hashlib.sha256(prev + seq.to_bytes(8, "big") + digest).digest()
