"""The log's Merkle tree as the database keeps it: grown with every append, on SQLite and
PostgreSQL, one tree however many writers, and built once for a log older than it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import merkle
from core.errors import NoSuchEvent
from core.log import CaseLog, Receipt
from core.logtables import LogQueries, LogTables
from core.tree import LogTree, event_leaves
from core.treerows import BLOCK, unpack_edge
from tests.conftest import BACKENDS
from tests.core.conftest import CaseBuilder, Devices, family

MakeLog = Callable[..., CaseLog]


def rebuilt_root(log: CaseLog) -> tuple[int, bytes]:
    leaves = [h for _, h in event_leaves(log.recorder)]
    return len(leaves), merkle.root(len(leaves), merkle.tree_of(leaves).__getitem__)


def test_every_appended_event_is_a_leaf_and_the_stored_root_is_the_rebuilt_one(
    make_log: MakeLog, devices: Devices
) -> None:
    log = make_log()
    a, b = family(), family()
    receipts = devices.push_case(log, a) + devices.push_case(log, b)
    tree = LogTree(log.recorder)
    size, root = rebuilt_root(log)
    assert tree.size() == size == len(receipts)
    assert tree.root(size) == root
    leaves = {position: h for position, h in event_leaves(log.recorder)}
    for r in receipts:
        proof = tree.inclusion(r.position, size)
        assert proof.leaf_hash == leaves[r.position]
        assert merkle.verify_inclusion(proof.leaf_hash, proof.leaf, size, proof.proof, root)


def test_a_head_signed_before_more_appends_is_proved_extended(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    tree = LogTree(log.recorder)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    devices.push_case(log, family())
    first = tree.sign_if_grown(key, 1)
    assert tree.sign_if_grown(key, 2) == first  # nothing appended: no new head
    devices.push_case(log, family())
    second = tree.sign_if_grown(key, 3)
    first.verify(public)
    second.verify(public)
    assert [h.size for h in tree.heads()] == [first.size, second.size]
    proof = tree.consistency(first.size, second.size)
    assert merkle.verify_consistency(first.size, second.size, first.root, second.root, proof)


def test_two_writers_on_one_database_grow_one_tree(make_log: MakeLog, devices: Devices) -> None:
    logs = [make_log(), make_log()]
    cases = [family() for _ in range(6)]
    for log in logs:
        for c in cases:
            devices.enroll(log, c.sealed[0].header.device)

    def push(log: CaseLog, mine: list[CaseBuilder]) -> None:
        for c in mine:
            devices.push_case(log, c)

    threads = [threading.Thread(target=push, args=(log, cases[i::2])) for i, log in enumerate(logs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tree = LogTree(logs[0].recorder)
    size, root = rebuilt_root(logs[0])
    assert size == sum(len(c.sealed) for c in cases)
    assert tree.size() == size
    assert tree.root(size) == root
    assert [leaf for leaf, _, _ in logs[0].recorder.tree_leaves(0, size + 1)] == list(range(size))


def test_a_log_older_than_its_tree_gains_it_in_one_pass(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    devices.push_case(log, family())
    devices.push_case(log, family())
    size, root = rebuilt_root(log)
    t = cast(LogTables, log.recorder.tables)  # the test plays a log from before the tree
    log.recorder.commit_writes(
        [
            (f"DELETE FROM {t.runs}", ()),
            (f"DELETE FROM {t.nodes}", ()),
            (f"UPDATE {t.tree} SET size=0, edge={t.p}, position=0", (b"",)),
        ]
    )
    assert LogTree(log.recorder).size() == 0
    assert log.recorder.grow_tree_from_log(page=3) == size
    assert log.recorder.grow_tree_from_log() == 0
    assert LogTree(log.recorder).root(size) == root


def test_proofs_across_blocks_of_leaves_read_back_the_trees_own_subtrees(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    b = family()
    for _ in range(3 * BLOCK - 3):
        b.contact()
    receipts: list[Receipt] = []
    for start, n in [(0, 5), (5, 250), (255, 2), (257, 300), (557, BLOCK)]:
        receipts += devices.push(log, b.sealed[start : start + n], [b.key] if start == 0 else [])
    tree = LogTree(log.recorder)
    leaves = [h for _, h in event_leaves(log.recorder)]
    whole = merkle.tree_of(leaves)
    size = len(leaves)
    assert tree.size() == size == len(b.sealed)
    for first in (1, 7, BLOCK - 1, BLOCK, BLOCK + 1, 300, 2 * BLOCK, size - 1, size):
        proof = tree.consistency(first, size)
        assert proof == merkle.consistency_proof(first, size, whole.__getitem__)
        assert tree.root(first) == merkle.root(first, whole.__getitem__)
    for r in receipts[:: len(receipts) // 9]:
        found = tree.inclusion(r.position, size)
        assert found.leaf_hash == leaves[found.leaf]
        assert merkle.verify_inclusion(found.leaf_hash, found.leaf, size, found.proof, tree.root(size))


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgres"], indirect=True)
def test_positions_left_free_by_rolled_back_appends_are_no_leaves(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    first = devices.push_case(log, family())
    events = log.recorder.events_table  # type: ignore[attr-defined]
    sequence = f"pg_get_serial_sequence('{events}', 'notification_id')"
    log.recorder.run(f"SELECT nextval({sequence}) FROM generate_series(1, 5)", commit=True)
    second = devices.push_case(log, family())
    assert second[0].position == first[-1].position + 6
    tree = LogTree(log.recorder)
    size, root = rebuilt_root(log)
    assert (tree.size(), tree.root(size)) == (size, root)
    for r in first + second:
        found = tree.inclusion(r.position, size)
        assert merkle.verify_inclusion(found.leaf_hash, found.leaf, size, found.proof, root)
    with pytest.raises(NoSuchEvent, match=f"no event is stored at position {first[-1].position + 1}"):
        tree.inclusion(first[-1].position + 1, size)


def test_events_a_server_without_the_tree_stored_become_leaves_before_the_next_append(
    make_log: MakeLog, devices: Devices, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = make_log()
    devices.push_case(log, family())
    with monkeypatch.context() as old_server:
        old_server.setattr(LogQueries, "grow_tree", lambda *_: None)
        devices.push_case(log, family())
    devices.push_case(log, family())
    size, root = rebuilt_root(log)
    tree = LogTree(log.recorder)
    assert (tree.size(), tree.root(size)) == (size, root)
    assert [leaf for leaf, _, _ in log.recorder.tree_leaves(0, size)] == list(range(size))


def _stored(log: CaseLog) -> tuple[int, bytes, int]:
    """The tree row's size and edge, and how many subtrees of a block and up are stored."""
    t = cast(LogTables, log.recorder.tables)
    size, edge = log.recorder.run(f"SELECT size, edge FROM {t.tree} WHERE id=1")[0]
    nodes = log.recorder.run(f"SELECT COUNT(*) AS n FROM {t.nodes}")[0][0]
    return int(size), bytes(edge), int(nodes)


def test_an_append_stores_its_leaves_and_the_subtrees_above_are_hashed_once_when_a_head_needs_them(
    make_log: MakeLog, devices: Devices
) -> None:
    logs = [make_log(), make_log()]  # two processes on one database
    b = family()
    for _ in range(2 * BLOCK + 10):
        b.contact()
    devices.push(logs[0], b.sealed, [b.key])
    size, edge, nodes = _stored(logs[0])
    assert size == len(b.sealed) and nodes == 0  # every leaf, with its event; no subtree yet
    assert [leaf for leaf, _, _ in logs[0].recorder.tree_leaves(0, size)] == list(range(size))
    assert unpack_edge(size, edge).size == 0

    folded: list[int] = []
    threads = [threading.Thread(target=lambda log=log: folded.append(LogTree(log.recorder).size())) for log in logs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert folded == [size, size]  # both see every leaf; the second found them folded
    _, edge, nodes = _stored(logs[0])
    assert unpack_edge(size, edge).size == size and nodes == 3  # two whole blocks and the pair of them, once
    assert (size, LogTree(logs[1].recorder).root(size)) == rebuilt_root(logs[0])


def test_a_tree_row_from_when_appends_hashed_every_subtree_keeps_growing_exactly(
    make_log: MakeLog, devices: Devices
) -> None:
    log = make_log()
    devices.push_case(log, family())
    tree = LogTree(log.recorder)
    size = tree.size()
    t = cast(LogTables, log.recorder.tables)
    _, edge, _ = _stored(log)
    old = edge[8:]  # the edge of all `size` leaves, as the row held it before
    log.recorder.commit_writes([(f"UPDATE {t.tree} SET edge={t.p}", (old,))])
    assert unpack_edge(size, old).size == size
    devices.push_case(log, family())
    assert (tree.size(), tree.root(tree.size())) == rebuilt_root(log)
