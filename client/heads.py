"""The laptop's check of the server's signed tree head on every pull, and its evidence.

Each pull answer carries the server's signed tree head and proofs (`sync.pageproof`).
Before a page is applied the laptop checks that the head is signed by the server's head
key (learnt at enrollment; a laptop enrolled before the key was handed out trusts the
key of its first answer and keeps it), that the head extends the head it kept last (the
consistency proof) and that every delivered event and placeholder, its leaf rebuilt from
what came, is in the head (the inclusion proof). Only then is the page applied and the
new head kept, in the page's transaction.

A failure stops the sync (`HistoryRewritten`, exit status 5) naming both heads, and the
evidence (both signed heads, the proofs, the leaves as the laptop rebuilt them) is kept
in the store's meta for an auditor (`tovholder client status --json`).
"""

from __future__ import annotations

from typing import Any

from client.errors import ClientError
from core import merkle
from core.errors import SignatureInvalid
from core.treehead import TreeHead, head_from_json
from sync.pageproof import PageProof, UnplacedEvent, page_leaves
from sync.protocol import PullResponse
from sync.pulled import PulledEvent

KEPT = "tree_head"
KEY = "head_key"
EVIDENCE = "head_evidence"


class HistoryRewritten(ClientError):
    """The server's signed tree head does not vouch for its answer: a log rewritten,
    cut back or forked since this laptop last synced. Nothing of the page was applied."""

    exit_status = 5


class HeadRefused(Exception):
    """Why a pull answer's head or proofs do not verify."""


def head_dict(head: TreeHead) -> dict[str, Any]:
    """A signed head as the store and the evidence keep it (hashes in hex)."""
    return {"size": head.size, "root": head.root.hex(), "signed_at": head.signed_at, "signature": head.signature.hex()}


def head_of(kept: dict[str, Any] | None) -> TreeHead | None:
    """The head `head_dict` made; None for none."""
    return head_from_json(kept) if kept else None


def delivered(page: PullResponse) -> list[PulledEvent]:
    """Every event the answer delivers, each a leaf of its inclusion proof: the page's
    events and placeholders, the administrative events and the tombstones of erased
    cases (`client.signers`)."""
    return [*page.events, *page.admin, *page.erased]


def check_page(page: PullResponse, kept: TreeHead | None, key: bytes | None) -> tuple[TreeHead, bytes]:
    """The answer's head and the head key, once the head is signed by `key` (or by the
    answer's key when the laptop knows none yet), extends `kept` and holds every event of
    the page; HeadRefused saying why not."""
    proof = page.proof
    if proof is None:
        raise HeadRefused("the answer carries no signed tree head")
    key = key or proof.public_key
    head = proof.head
    try:
        head.verify(key)
    except SignatureInvalid:
        raise HeadRefused("the head is not signed by the server's head key this laptop knows") from None
    if kept is not None and (
        proof.since != kept.size
        or not merkle.verify_consistency(kept.size, head.size, kept.root, head.root, proof.consistency)
    ):
        raise HeadRefused("the server's log does not extend the head this laptop kept (the consistency proof fails)")
    try:
        leaves = page_leaves(delivered(page), proof.place_of())
    except UnplacedEvent as exc:
        raise HeadRefused(str(exc)) from None
    if not merkle.verify_multi_inclusion(leaves, head.size, proof.inclusion, head.root):
        raise HeadRefused(
            "an event of the page is not in the server's head as it was delivered (the inclusion proof fails)"
        )
    return head, key


def evidence(why: str, kept: TreeHead | None, page: PullResponse, found_at: int) -> dict[str, Any]:
    """What an auditor needs to see the failure again: both signed heads, the proofs,
    the leaves the laptop rebuilt and the signed batch manifests (hashes and signatures
    only: nothing of an event's content)."""
    proof: PageProof | None = page.proof
    found: dict[str, Any] = {"found_at": found_at, "why": why, "kept": None if kept is None else head_dict(kept)}
    if proof is None:
        return {**found, "served": None}
    try:
        leaves = {str(i): h.hex() for i, h in sorted(page_leaves(delivered(page), proof.place_of()).items())}
    except UnplacedEvent:
        leaves = {}
    return {
        **found,
        "served": {**head_dict(proof.head), "public_key": proof.public_key.hex()},
        "since": proof.since,
        "consistency": [h.hex() for h in proof.consistency],
        "inclusion": [h.hex() for h in proof.inclusion],
        "leaves": leaves,
        "positions": {str(p.position): p.leaf for p in proof.places},
        "batches": {
            b.batch_id: {"device": b.device_id, "digests": [d.hex() for d in b.digests], "signature": b.signature.hex()}
            for b in page.batches
        },
    }


def sentence(why: str, kept: TreeHead | None, served: TreeHead | None) -> str:
    """The error a worker and their IT see: what failed and both heads, sizes and roots."""

    def named(head: TreeHead | None) -> str:
        return "none" if head is None else f"size {head.size}, root {head.root.hex()}"

    return (
        f"the server's history cannot be trusted: {why}. Head kept by this laptop: {named(kept)}; "
        f"head the server sent: {named(served)}. Nothing of the answer was applied; the evidence "
        "is kept in this laptop's store (tovholder client status --json): give it to your IT and auditor"
    )
