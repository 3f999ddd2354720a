"""The log as a Merkle tree: its root at any size, proofs from the stored subtrees, signed heads.

Each event's leaf is stored in the append's transaction (`core.logtables.grow_tree`);
the subtrees above the leaves are hashed in one pass when the tree's size is asked
(`fold_tree`), which every root, proof and head here asks first, so each is exact for
every event stored. This is what is asked of the tree, in the domain's words. A proof reads the few complete
subtrees it needs in one query (`core.merkle.needed`), never the leaves below them.
Heads are signed by the server's head key (`core.treehead`) and every one is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import merkle
from core.errors import InvalidInput, NoSuchEvent
from core.leaf import leaf_data
from core.logstore import LogStore
from core.treehead import TreeHead, sign_head
from core.treeleaves import KeptLeaf

T = TypeVar("T")


class Inclusion(NamedTuple):
    """Where an event stands in the tree of `size` leaves, and the proof of it."""

    position: int
    leaf: int
    leaf_hash: bytes
    size: int
    proof: list[bytes]


class LogTree:
    """Roots, proofs and signed heads of the Merkle tree over one log."""

    def __init__(self, store: LogStore) -> None:
        self.store = store

    def size(self) -> int:
        """How many events the tree holds."""
        return self.store.tree_size()

    def _check_size(self, size: int) -> None:
        current = self.size()
        if not 0 <= size <= current:
            raise InvalidInput(f"the tree holds {current} events; no tree of {size} can be proved")

    def root(self, size: int) -> bytes:
        """The root of the tree of the first `size` events; InvalidInput beyond the tree."""
        self._check_size(size)
        return self._with_nodes(lambda node: merkle.root(size, node))

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of `second` events extends the one of `first`;
        InvalidInput unless 0 <= first <= second <= size."""
        if first > second:
            raise InvalidInput(f"a tree of {first} events cannot be extended by one of {second}")
        self._check_size(second)
        return self._with_nodes(lambda node: merkle.consistency_proof(first, second, node))

    def inclusion(self, position: int, size: int) -> Inclusion:
        """The proof that the event at `position` is in the tree of `size` events;
        NoSuchEvent when no event is stored there, InvalidInput when it came after that tree."""
        self._check_size(size)
        leaf = self.store.leaf_of(position)
        if leaf is None:
            raise NoSuchEvent(
                f"no event is stored at position {position}: it is beyond the log or was left free "
                "by an append that was rolled back"
            )
        if leaf >= size:
            raise InvalidInput(f"the event at position {position} is leaf {leaf}, not in a tree of {size}")
        proof = self._with_nodes(lambda node: merkle.inclusion_proof(leaf, size, node))
        leaf_hash = self.store.tree_nodes([(0, leaf)])[(0, leaf)]
        return Inclusion(position, leaf, leaf_hash, size, proof)

    def leaves_at(self, positions: Sequence[int]) -> dict[int, int]:
        """The leaf index of each stored event among `positions`; the others left out."""
        return self.store.leaf_indices(positions) if positions else {}

    def multi_inclusion(self, leaves: Iterable[int], size: int) -> list[bytes]:
        """One proof that every leaf of `leaves` is in the tree of `size` events
        (`core.merkle.multi_inclusion_proof`); InvalidInput beyond the tree."""
        self._check_size(size)
        wanted = sorted(set(leaves))
        if wanted and wanted[-1] >= size:
            raise InvalidInput(f"leaf {wanted[-1]} is not in a tree of {size}")
        return self._with_nodes(lambda node: merkle.multi_inclusion_proof(wanted, size, node))

    def _with_nodes(self, make: Callable[[merkle.NodeHash], T]) -> T:
        """Run `make` on the stored subtrees it needs, read in one query first."""
        nodes = self.store.tree_nodes(merkle.needed(make))
        return make(nodes.__getitem__)

    # -- signed heads -----------------------------------------------------------------
    def latest_head(self) -> TreeHead | None:
        """The newest signed head; None before the first."""
        rows = self.store.tree_heads(latest=True)
        return TreeHead(*rows[0]) if rows else None

    def heads(self) -> list[TreeHead]:
        """Every head the server signed, by size."""
        return [TreeHead(*row) for row in self.store.tree_heads()]

    def sign_if_grown(self, key: Ed25519PrivateKey, now: int) -> TreeHead:
        """The newest signed head, after signing one of the current tree when it grew
        since (or when none was signed yet)."""
        latest = self.latest_head()
        size = self.size()
        if latest is not None and latest.size >= size:
            return latest
        head = sign_head(key, size, self.root(size), now)
        self.store.add_tree_head(head.size, head.root, head.signed_at, head.signature)
        return self.latest_head() or head


def event_leaves(store: LogStore, page: int = 2000) -> Iterator[tuple[int, bytes]]:
    """(position, leaf hash) of every stored event in position order, computed from the
    events themselves and not from the stored tree: what an auditor rebuilds."""
    for leaf in event_records(store, page):
        yield leaf.position, leaf.leaf_hash


def event_records(store: LogStore, page: int = 2000) -> Iterator[KeptLeaf]:
    """Every stored event's leaf with the place it covers (position, case, sequence), in
    position order, rebuilt from the events themselves."""
    after = 0
    while True:
        rows = store.notifications(after, page)
        if not rows:
            return
        for r in rows:
            leaf = merkle.leaf_hash(leaf_data(r.position, r.case_id, r.seq, r.state))
            yield KeptLeaf(r.position, r.case_id, r.seq, leaf)
        after = rows[-1].position
