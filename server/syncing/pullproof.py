"""The tree part of a pull answer (`sync.pageproof`): the signed head and the page's proofs.

The head is the newest signed one when it holds every leaf of the page, else one signed
now (`server.treeheads`); so a busy log does not get a new head per pull. The consistency
proof starts at the size the laptop kept (`kept_size`); when the laptop names a size the
tree cannot be proved from (larger than the head: a log cut back, or a laptop of another
server), the proof is left empty and the laptop, which cannot verify it, stops with the
evidence. One multi-leaf inclusion proof covers every delivered event and placeholder.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import InvalidInput
from server.treeheads import HeadSigner
from sync.pageproof import LeafPlace, PageProof


def page_proof(signer: HeadSigner, envelopes: Mapping[int, tuple[int, str]], kept_size: int | None) -> PageProof:
    """The proof of a pull page whose delivered events are `envelopes` (position ->
    time received, batch id), from the laptop's kept head of size `kept_size`."""
    tree = signer.tree
    leaves = tree.leaves_at(sorted(envelopes))
    if len(leaves) != len(envelopes):
        raise InvalidInput("an event of the page has no leaf in the log's tree")  # pragma: no cover
    head = tree.latest_head()
    if head is None or (leaves and max(leaves.values()) >= head.size):
        head = signer.sign_now()
    consistency: list[bytes] = []
    if kept_size is not None and kept_size <= head.size:
        consistency = tree.consistency(kept_size, head.size)
    places = tuple(LeafPlace(p, leaves[p], *envelopes[p]) for p in sorted(envelopes))
    return PageProof(
        head,
        signer.key.public_key().public_bytes_raw(),
        kept_size,
        tuple(consistency),
        tuple(tree.multi_inclusion(leaves.values(), head.size)),
        places,
    )
