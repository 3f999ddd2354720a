"""The log's Merkle tree: the published RFC 6962 / Certificate Transparency vectors, and
properties over random logs as an insider who rewrites a leaf would meet them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import merkle
from core.merkle import Frontier, consistency_proof, inclusion_proof, leaf_hash, root, tree_of

# The inputs and roots of the CT reference tests (RFC 6962 section 2.1.3; transparency-dev/merkle).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CT_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

CT_HASHES = [leaf_hash(leaf) for leaf in CT_LEAVES]
CT_TREE = tree_of(CT_HASHES)


def ct_root(size: int) -> bytes:
    return bytes.fromhex(CT_ROOTS[size])


def test_the_roots_of_the_reference_leaves_are_the_published_ones() -> None:
    for size in range(len(CT_ROOTS)):
        assert root(size, CT_TREE.__getitem__).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), CT_INCLUSION)
def test_inclusion_proofs_are_the_published_ones_and_verify(index: int, size: int, path: list[str]) -> None:
    proof = inclusion_proof(index, size, CT_TREE.__getitem__)
    assert [p.hex() for p in proof] == path
    assert merkle.verify_inclusion(CT_HASHES[index], index, size, proof, ct_root(size))
    assert not merkle.verify_inclusion(CT_HASHES[index], index, size * 2, proof, ct_root(size))
    assert not merkle.verify_inclusion(leaf_hash(b"forged"), index, size, proof, ct_root(size))
    assert not merkle.verify_inclusion(CT_HASHES[index], index, size, [*proof, ct_root(size)], ct_root(size))


@pytest.mark.parametrize(("first", "second", "path"), CT_CONSISTENCY)
def test_consistency_proofs_are_the_published_ones_and_verify(first: int, second: int, path: list[str]) -> None:
    proof = consistency_proof(first, second, CT_TREE.__getitem__)
    assert [p.hex() for p in proof] == path
    assert merkle.verify_consistency(first, second, ct_root(first), ct_root(second), proof)
    if proof:
        assert not merkle.verify_consistency(first, second, ct_root(second), ct_root(first), proof)
        assert not merkle.verify_consistency(first, second, ct_root(first), ct_root(second), proof[:-1])
        assert not merkle.verify_consistency(first - 1, second, ct_root(first), ct_root(second), proof)


def test_proofs_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(8, 8, CT_TREE.__getitem__)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(5, 4, CT_TREE.__getitem__)
    assert not merkle.verify_consistency(1, 2, ct_root(1), ct_root(2), [])
    assert not merkle.verify_inclusion(CT_HASHES[0], 0, 0, [], ct_root(0))


def test_a_frontier_packed_and_unpacked_grows_the_same_tree() -> None:
    grown = Frontier()
    grown.extend(CT_HASHES[:5])
    again = Frontier.unpack(5, grown.pack())
    again.extend(CT_HASHES[5:])
    assert again.root().hex() == CT_ROOTS[8]
    with pytest.raises(ValueError, match="edge hashes"):
        Frontier.unpack(7, grown.pack())


def test_a_proof_reads_only_a_few_subtrees() -> None:
    asked = merkle.needed(lambda node: consistency_proof(1000, 1_000_000, node))
    assert len(asked) <= 2 * 20


leaf_lists = st.lists(st.binary(max_size=12), min_size=2, max_size=70)


@settings(max_examples=60, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_every_proof_of_a_random_log_verifies(leaves: list[bytes], data: st.DataObject) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    tree = tree_of(hashes)
    size = len(hashes)
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(0, size))
    roots = {n: root(n, tree.__getitem__) for n in (first, size)}
    assert merkle.verify_inclusion(
        hashes[index], index, size, inclusion_proof(index, size, tree.__getitem__), roots[size]
    )
    proof = consistency_proof(first, size, tree.__getitem__)
    assert merkle.verify_consistency(first, size, roots[first], roots[size], proof)


def _rewritten(leaves: list[bytes], edit: str, at: int) -> list[bytes]:
    if edit == "change":
        return [*leaves[:at], leaves[at] + b"!", *leaves[at + 1 :]]
    if edit == "remove":
        return [*leaves[:at], *leaves[at + 1 :]]
    return [*leaves[:at], leaves[at + 1], leaves[at], *leaves[at + 2 :]]  # reorder two neighbours


@settings(max_examples=80, deadline=None)
@given(
    leaves=st.lists(st.binary(max_size=12), min_size=2, max_size=70, unique=True),
    edit=st.sampled_from(["change", "remove", "reorder"]),
    data=st.data(),
)
def test_a_rewritten_leaf_fails_a_proof_against_an_earlier_head(
    leaves: list[bytes], edit: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(leaves) - 2))
    head_size = data.draw(st.integers(at + 1 if edit != "reorder" else at + 2, len(leaves)))
    honest = tree_of([leaf_hash(leaf) for leaf in leaves])
    head = root(head_size, honest.__getitem__)  # signed before the rewrite
    forged_leaves = _rewritten(leaves, edit, at)
    forged = tree_of([leaf_hash(leaf) for leaf in forged_leaves])
    size = len(forged_leaves)
    if head_size > size:  # a log shorter than a head it signed cannot even be proved
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_proof(head_size, size, forged.__getitem__)
        return
    proof = consistency_proof(head_size, size, forged.__getitem__)
    consistent = merkle.verify_consistency(head_size, size, head, root(size, forged.__getitem__), proof)
    included = merkle.verify_inclusion(
        leaf_hash(leaves[at]), at, head_size, inclusion_proof(at, head_size, forged.__getitem__), head
    )
    assert not (consistent and included)


@settings(max_examples=80, deadline=None)
@given(leaves=leaf_lists, data=st.data())
def test_one_proof_of_many_leaves_verifies_and_fails_for_any_changed_one(
    leaves: list[bytes], data: st.DataObject
) -> None:
    hashes = [leaf_hash(x) for x in leaves]
    node = tree_of(hashes).__getitem__
    size = data.draw(st.integers(1, len(hashes)))
    chosen = data.draw(st.sets(st.integers(0, size - 1), min_size=1))
    head = root(size, node)
    proof = merkle.multi_inclusion_proof(chosen, size, node)
    given_leaves = {i: hashes[i] for i in chosen}
    assert merkle.verify_multi_inclusion(given_leaves, size, proof, head)
    assert len(proof) <= sum(len(inclusion_proof(i, size, node)) for i in chosen)
    changed = data.draw(st.sampled_from(sorted(chosen)))
    assert not merkle.verify_multi_inclusion({**given_leaves, changed: leaf_hash(b"rewritten")}, size, proof, head)
    assert not merkle.verify_multi_inclusion(given_leaves, size, [*proof, head], head)
    if proof:
        assert not merkle.verify_multi_inclusion(given_leaves, size, proof[:-1], head)


def test_a_page_of_a_thousand_scattered_leaves_shares_its_proof_nodes() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    node = tree_of(hashes).__getitem__
    chosen = range(7, 100_000, 100)
    proof = merkle.multi_inclusion_proof(chosen, 100_000, node)
    assert merkle.verify_multi_inclusion({i: hashes[i] for i in chosen}, 100_000, proof, root(100_000, node))
    assert len(proof) < sum(len(inclusion_proof(i, 100_000, node)) for i in chosen) / 2
    assert merkle.multi_inclusion_proof([], 100_000, node) == []
    with pytest.raises(ValueError):
        merkle.multi_inclusion_proof([100_000], 100_000, node)
