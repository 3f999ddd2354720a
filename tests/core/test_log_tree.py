"""The log's Merkle tree as the database keeps it: grown with every append, on SQLite and
PostgreSQL, one tree however many writers, and built once for a log older than it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import merkle
from core.log import CaseLog
from core.logtables import LogTables
from core.tree import LogTree, event_leaves
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
            (f"DELETE FROM {t.leaves}", ()),
            (f"DELETE FROM {t.nodes}", ()),
            (f"UPDATE {t.tree} SET size=0, edge={t.p}", (b"",)),
        ]
    )
    assert LogTree(log.recorder).size() == 0
    assert log.recorder.grow_tree_from_log(page=3) == size
    assert log.recorder.grow_tree_from_log() == 0
    assert LogTree(log.recorder).root(size) == root
