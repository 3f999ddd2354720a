"""The hash chain a laptop checks (`core.chain`) is the one the server's log extends."""

from __future__ import annotations

import hashlib

from core import chain, log


def test_the_laptop_and_the_log_compute_the_same_links() -> None:
    digest = hashlib.sha256(b"sealed bytes").digest()
    assert chain.genesis("case-1") == log.genesis("case-1")
    assert chain.next_link(chain.genesis("case-1"), 1, digest) == log.next_link(log.genesis("case-1"), 1, digest)
    assert chain.genesis("case-1") != chain.genesis("case-2")
