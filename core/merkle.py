"""The Merkle tree over the whole log, as RFC 9162 (Certificate Transparency 2.0) defines it.

    leaf hash = SHA-256(0x00 || leaf)            node = SHA-256(0x01 || left || right)
    MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n

The root of the first n leaves, inclusion proofs (RFC 9162 2.1.3.1) and consistency
proofs (2.1.4.1), and their verifiers (2.1.3.2 and 2.1.4.2), for both ends: the server
proves, laptops and auditors check. Only hashlib, so a laptop can check without loading
the server's storage.

Proofs are made from the hashes of *perfect* subtrees, named ``(level, index)``: the
subtree of the 2^level leaves from index * 2^level on. Every hash a proof needs is the
hash of a range that splits into at most log2(n) of them, so a store that keeps those
(`core.recorders`) answers a proof with one read of a few rows (`needed`), and
`Frontier` grows them as leaves are appended.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence

Node = tuple[int, int]
"""A perfect subtree: (level, index); it covers leaves [index * 2^level, (index + 1) * 2^level)."""

NodeHash = Callable[[Node], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one leaf (RFC 9162 2.1.1)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node from its two children."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees that leaves [start, end) split into, left to right; `start`
    must be a multiple of the largest of them (true for every range of the RFC's recursion)."""
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def _range_hash(start: int, end: int, node: NodeHash) -> bytes:
    """MTH of leaves [start, end): its perfect subtrees, folded from the right."""
    hashes = [node(n) for n in range_nodes(start, end)]
    root = hashes[-1]
    for h in reversed(hashes[:-1]):
        root = node_hash(h, root)
    return root


def root(size: int, node: NodeHash) -> bytes:
    """The root of the first `size` leaves (the hash of the empty string for none)."""
    return _range_hash(0, size, node) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, node: NodeHash) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 2.1.3.1; ValueError unless 0 <= index < size."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(_range_hash(start + k, end, node))
            end = start + k
        else:
            path.append(_range_hash(start, start + k, node))
            start += k
    path.reverse()
    return path


def consistency_proof(first: int, second: int, node: NodeHash) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 9162 2.1.4.1; ValueError unless 0 <= first <= second.
    Empty for first 0 or first == second (nothing to prove)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")
    if first in (0, second):
        return []
    path: list[bytes] = []
    start, end, whole = 0, second, True
    m = first
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            path.append(_range_hash(start + k, end, node))
            end = start + k
        else:
            path.append(_range_hash(start, start + k, node))
            start, m, whole = start + k, m - k, False
    if not whole:
        path.append(_range_hash(start, end, node))
    path.reverse()
    return path


def multi_inclusion_proof(indices: Iterable[int], size: int, node: NodeHash) -> list[bytes]:
    """One proof that all the leaves at `indices` are in the tree of `size` leaves: the
    hashes of the largest subtrees of the RFC's recursion that hold none of them, left to
    right. Siblings shared by several leaves appear once, so k leaves cost at most
    k * log2(size / k) + 2k hashes, not k * log2(size); none for no leaves. ValueError
    for an index outside the tree."""
    wanted = sorted(set(indices))
    if wanted and not 0 <= wanted[0] <= wanted[-1] < size:
        raise ValueError(f"leaves {wanted[0]}..{wanted[-1]} are not all in a tree of {size} leaves")
    path: list[bytes] = []

    def walk(start: int, end: int, lo: int, hi: int) -> None:
        if lo == hi:  # no wanted leaf in [start, end)
            path.append(_range_hash(start, end, node))
        elif end - start > 1:
            k = start + _split(end - start)
            mid = bisect_left(wanted, k, lo, hi)
            walk(start, k, lo, mid)
            walk(k, end, mid, hi)

    if wanted:
        walk(0, size, 0, len(wanted))
    return path


def verify_multi_inclusion(leaves: Mapping[int, bytes], size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """Whether `proof` (`multi_inclusion_proof`) shows every leaf hash of `leaves` (by
    index) in the tree of `size` leaves with root `root_hash`. No leaves prove nothing
    and pass only with an empty proof."""
    wanted = sorted(leaves)
    if not wanted:
        return not proof
    if not 0 <= wanted[0] <= wanted[-1] < size:
        return False
    given = iter(proof)

    def fold(start: int, end: int, lo: int, hi: int) -> bytes | None:
        if lo == hi:
            return next(given, None)
        if end - start == 1:
            return leaves[wanted[lo]]
        k = start + _split(end - start)
        mid = bisect_left(wanted, k, lo, hi)
        left, right = fold(start, k, lo, mid), fold(k, end, mid, hi)
        return None if left is None or right is None else node_hash(left, right)

    found = fold(0, size, 0, len(wanted))
    return found is not None and next(given, None) is None and found == root_hash


def needed(make: Callable[[NodeHash], object]) -> set[Node]:
    """The perfect subtrees a proof or root will read: `make` run once against a recorder,
    so a store can fetch them all in one query before the real run."""
    asked: set[Node] = set()

    def record(n: Node) -> bytes:
        asked.add(n)
        return EMPTY_ROOT

    make(record)
    return asked


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 2.1.3.2: whether `proof` shows the leaf hash `leaf` at `index` in the tree
    of `size` leaves with root `root_hash`."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2: whether `proof` shows the tree of `second` leaves with root
    `second_root` extends the tree of `first` leaves with root `first_root`."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof  # every tree extends the empty one
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: its root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first_root and sr == second_root and sn == 0


class Frontier:
    """The right edge of a tree being grown: the roots of the perfect subtrees its leaves
    split into (the "compact range" of Trillian and CT). Appending a leaf completes at
    most log2(n) new perfect subtrees, each from one kept root and one new one."""

    def __init__(self, size: int = 0, edge: Mapping[Node, bytes] | None = None) -> None:
        self.size = size
        self.edge: dict[Node, bytes] = dict(edge or {})
        if set(self.edge) != set(range_nodes(0, size)):
            raise ValueError(f"the edge of a tree of {size} leaves is not {sorted(self.edge)}")

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add one leaf hash; the perfect subtrees it completes, itself first."""
        return [((level, index), h) for level, index, h in self.grow([leaf])]

    def extend(self, leaves: Iterable[bytes]) -> list[tuple[Node, bytes]]:
        """Add leaf hashes in order; every perfect subtree they complete."""
        return [((level, index), h) for level, index, h in self.grow(list(leaves))]

    def grow(self, leaves: Sequence[bytes], keep_from: int = 0) -> list[tuple[int, int, bytes]]:
        """Add leaf hashes in order; the perfect subtrees they complete, as (level, index,
        hash), of level `keep_from` and up only.

        A level at a time: the new nodes of one level, with the edge's node before them
        when they start at an odd index, pair up into the next level's, and an odd one
        out stays on the edge. One hash per completed subtree, nothing per leaf beyond it.
        """
        made: list[tuple[int, int, bytes]] = []
        edge, sha256 = self.edge, hashlib.sha256
        row, start, level = list(leaves), self.size, 0
        self.size += len(row)
        while row:
            if level >= keep_from:
                made.extend((level, start + i, h) for i, h in enumerate(row))
            if start & 1:
                row.insert(0, edge.pop((level, start - 1)))
                start -= 1
            if len(row) & 1:
                edge[(level, start + len(row) - 1)] = row[-1]
            pairs = iter(row)
            row = [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
            start >>= 1
            level += 1
        return made

    def root(self) -> bytes:
        """The root of the tree grown so far."""
        return root(self.size, self.edge.__getitem__)

    def pack(self) -> bytes:
        """The edge as bytes (its hashes, left to right), for a store to keep beside the size."""
        return b"".join(self.edge[n] for n in range_nodes(0, self.size))

    @classmethod
    def unpack(cls, size: int, packed: bytes) -> Frontier:
        """The frontier `pack` wrote; ValueError when the bytes do not fit the size."""
        nodes = range_nodes(0, size)
        if len(packed) != 32 * len(nodes):
            raise ValueError(f"a tree of {size} leaves has {len(nodes)} edge hashes")
        return cls(size, {n: packed[32 * i : 32 * i + 32] for i, n in enumerate(nodes)})


def tree_of(leaves: Sequence[bytes]) -> dict[Node, bytes]:
    """Every perfect subtree of a list of leaf hashes: for tests and the auditor's rebuild."""
    frontier = Frontier()
    return dict(frontier.extend(leaves))
