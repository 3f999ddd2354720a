"""The Merkle tree as its rows hold it (`core.treerows`): leaves packed in runs, subtrees
from a block up; whatever the appends and the gaps in positions, a proof's subtrees come
back as the whole tree has them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.merkle import Frontier, Node, leaf_hash, root, tree_of
from core.treerows import BLOCK, BLOCK_LEVEL, leaves_of, low_nodes, runs


def hashes_of(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=40, deadline=None)
@given(
    appends=st.lists(st.integers(1, 400), min_size=1, max_size=6),
    gaps=st.lists(st.integers(0, 3), min_size=1, max_size=60),
)
def test_runs_of_appends_with_gaps_give_back_every_leaf_at_its_position(appends: list[int], gaps: list[int]) -> None:
    total = sum(appends)
    positions, at = [], 0
    for i in range(total):
        at += 1 + gaps[i % len(gaps)]  # positions left free by rolled-back appends
        positions.append(at)
    hashes = hashes_of(total)
    rows, first = [], 0
    for n in appends:
        made = runs(first, positions[first : first + n], hashes[first : first + n])
        assert all(leaf // BLOCK == (leaf + len(packed) // 32 - 1) // BLOCK for leaf, _, packed in made)
        rows.extend(made)
        first += n
    assert list(leaves_of(rows)) == list(zip(range(total), positions, hashes, strict=True))


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 3 * BLOCK + 7), grown=st.lists(st.integers(1, 300), max_size=8))
def test_subtrees_below_a_block_hashed_from_its_leaves_are_the_trees_own(size: int, grown: list[int]) -> None:
    hashes = hashes_of(size)
    whole = tree_of(hashes)
    low = {node for node in whole if node[0] < BLOCK_LEVEL}
    assert low_nodes(low, dict(enumerate(hashes))) == {node: whole[node] for node in low}
    frontier, at = Frontier(), 0
    kept: dict[Node, bytes] = {}
    for n in [*grown, size]:
        step = hashes[at : at + n]
        kept.update(((level, index), h) for level, index, h in frontier.grow(step, keep_from=BLOCK_LEVEL))
        at += len(step)
    assert kept == {node: h for node, h in whole.items() if node[0] >= BLOCK_LEVEL}
    assert frontier.root() == root(size, whole.__getitem__)


def test_a_subtree_with_a_leaf_missing_is_not_made_up() -> None:
    hashes = dict(enumerate(hashes_of(6)))
    assert low_nodes([(2, 1), (1, 2), (0, 5)], hashes) == {(1, 2): tree_of(hashes_of(6))[(1, 2)], (0, 5): hashes[5]}
