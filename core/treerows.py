"""How the log's Merkle tree (`core.merkle`) lies in the database: few rows per append, few per proof.

Two rows per event (a leaf and, on average, one subtree) would double an append's
writes. Instead the tree keeps

- *runs* of leaf hashes, packed 32 bytes each: consecutive leaves whose events stand at
  consecutive positions, from one append, never across a *block* of `BLOCK` leaves, each
  with the leaf index and position it starts at;
- the hashes of complete subtrees of `BLOCK_LEVEL` and up (a whole block and more).

An append of n events so writes about n/256 + 1 rows: its leaves, with its events, and
the tree's row. The subtrees above them (as many hashes again as leaves) are hashed
later in one pass (`core.logtables.LogQueries.fold_tree`), when a head or a proof asks
for the tree's size; the tree's row keeps how many leaves are folded so far and the right
edge of their tree (`pack_edge`). A subtree below a block, which a proof needs only at
its two ends, is hashed again from the leaves of its block (at most 255 hashes), so a
proof still reads a few rows: the runs of at most a few blocks and its few upper
subtrees. Pure code (hashlib only); the SQL is in `core.logtables`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from core.merkle import Frontier, Node, node_hash

BLOCK_LEVEL = 8
BLOCK = 1 << BLOCK_LEVEL

Run = tuple[int, int, bytes]
"""(first leaf index, position of its event, the leaves' hashes packed)."""


def runs(first_leaf: int, positions: Sequence[int], hashes: Sequence[bytes]) -> list[Run]:
    """The leaves from index `first_leaf` on, with their events' rising positions and
    their hashes, cut into runs: at each block's start and at each gap in the positions."""
    found: list[Run] = []
    i, n = 0, len(hashes)
    while i < n:
        end = min(n, i + BLOCK - (first_leaf + i) % BLOCK)
        if positions[end - 1] - positions[i] != end - 1 - i:  # a gap (PostgreSQL) inside
            j = i + 1
            while positions[j] == positions[j - 1] + 1:
                j += 1
            end = j
        found.append((first_leaf + i, positions[i], b"".join(hashes[i:end])))
        i = end
    return found


def leaves_of(rows: Iterable[Run]) -> Iterator[tuple[int, int, bytes]]:
    """(leaf index, position, leaf hash) of every leaf in the runs, in their order."""
    for leaf, position, packed in rows:
        for k in range(len(packed) // 32):
            yield leaf + k, position + k, packed[32 * k : 32 * k + 32]


def block_of(node: Node) -> int:
    """The block a subtree below `BLOCK_LEVEL` lies in."""
    level, index = node
    return (index << level) >> BLOCK_LEVEL


def low_nodes(wanted: Iterable[Node], leaves: Mapping[int, bytes]) -> dict[Node, bytes]:
    """The subtrees below `BLOCK_LEVEL` among `wanted`, hashed from the leaf hashes by
    index (those of their blocks); one with a leaf not given is left out."""
    found: dict[Node, bytes] = {}
    levels_of: dict[int, list[list[bytes]]] = {}
    for level, index in wanted:
        block = block_of((level, index))
        levels = levels_of.get(block)
        if levels is None:
            levels = levels_of[block] = _block_levels(block, leaves)
        at = index - (block << (BLOCK_LEVEL - level))
        if level < len(levels) and at < len(levels[level]):
            found[(level, index)] = levels[level][at]
    return found


def _block_levels(block: int, leaves: Mapping[int, bytes]) -> list[list[bytes]]:
    """Every complete subtree of one block, level by level, from its leaves given from
    the block's start on."""
    row: list[bytes] = []
    first = block * BLOCK
    while len(row) < BLOCK and first + len(row) in leaves:
        row.append(leaves[first + len(row)])
    levels = [row]
    while len(row) > 1:
        row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        levels.append(row)
    return levels


def pack_edge(frontier: Frontier) -> bytes:
    """The tree row's edge: how many leaves are folded into the subtrees (8 bytes), then
    the right edge of the tree of those leaves (`Frontier.pack`)."""
    return frontier.size.to_bytes(8, "big") + frontier.pack()


def folded_edge(size: int, edge: bytes) -> bytes:
    """The edge as `pack_edge` lays it out, also from a row written when every leaf was
    folded in the append itself (its edge then a multiple of 32 bytes, of `size` leaves)."""
    return edge if len(edge) % 32 == 8 else size.to_bytes(8, "big") + edge


def unpack_edge(size: int, edge: bytes) -> Frontier:
    """The frontier of the folded leaves the tree row's `edge` holds (`folded_edge`)."""
    edge = folded_edge(size, edge)
    return Frontier.unpack(int.from_bytes(edge[:8], "big"), edge[8:])
