"""The hash chain that the server's log extends and a laptop checks (`core.chain`) is the
documented one, so an auditor can recompute it with nothing but SHA-256."""

from __future__ import annotations

import hashlib

from core import chain


def test_the_links_are_the_documented_sha256_chain() -> None:
    sealed = [b"first sealed event", b"second sealed event"]
    link = hashlib.sha256(b"tovholder/chain/v1\x00" + b"case-1").digest()
    assert chain.genesis("case-1") == link
    for seq, event in enumerate(sealed, start=1):
        digest = hashlib.sha256(event).digest()
        link_by_hand = hashlib.sha256(link + seq.to_bytes(8, "big") + digest).digest()
        link = chain.next_link(link, seq, digest)
        assert link == link_by_hand
    assert chain.genesis("case-1") != chain.genesis("case-2")
