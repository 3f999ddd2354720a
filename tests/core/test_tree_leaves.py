"""The leaves an auditor keeps beside the signed heads: packed small, read back whole,
vouched for by the newest head's signature, and refused when the file was changed."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import merkle
from core.log import CaseLog
from core.tree import LogTree, event_records
from core.treeaudit import check_heads
from core.treeleaves import RECORD, first_difference, pack, root_of, unpack
from tests.core.conftest import Devices, family

MakeLog = Callable[..., CaseLog]


def test_kept_leaves_read_back_whole_and_give_the_root_of_the_tree(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    devices.push_case(log, family())
    leaves = list(event_records(log.recorder))
    assert unpack(pack(leaves)) == leaves
    assert unpack("") == []
    hashes = [lf.leaf_hash for lf in leaves]
    assert root_of(leaves) == merkle.root(len(hashes), merkle.tree_of(hashes).__getitem__)
    assert first_difference(leaves, leaves) is None
    assert first_difference(leaves, leaves[:-1]) == leaves[-1]  # a cut-off last event is named


@pytest.mark.parametrize(
    "text",
    ["not base64!", base64.b64encode(b"not compressed").decode(), base64.b64encode(zlib.compress(b"x" * 7)).decode()],
)
def test_damaged_kept_leaves_are_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="the kept leaves are damaged"):
        unpack(text)
    assert RECORD.size == 64


def test_kept_leaves_changed_in_the_auditors_file_are_refused_not_believed(make_log: MakeLog, devices: Devices) -> None:
    log = make_log()
    devices.push_case(log, family())
    key = Ed25519PrivateKey.generate()
    head = LogTree(log.recorder).sign_if_grown(key, 1)
    public = key.public_key().public_bytes_raw()
    kept = list(event_records(log.recorder))
    assert check_heads(log.recorder, [head], public, kept).ok
    forged = [*kept[:1], kept[1]._replace(position=kept[1].position + 1, leaf_hash=bytes(32)), *kept[2:]]
    report = check_heads(log.recorder, [head], public, forged)
    assert not report.ok and report.position is None
    assert "the kept leaves do not give the newest kept head" in report.problems[0]
