"""The laptop's check of a pull answer's signed head and proofs, played by a forging server:
every forged head, proof or event is refused before anything is applied."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.heads import HeadRefused, check_page, evidence, head_dict, head_of
from core import merkle
from core.leaf import leaf_of_fields
from core.treehead import TreeHead, sign_head
from sync.pageproof import LeafPlace, PageProof
from sync.protocol import PullResponse, decode_pull_response, encode_pull_response
from sync.pulled import PulledEvent, placeholder

KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes_raw()
CASE = str(uuid.uuid4())


def _log(n: int) -> tuple[list[PulledEvent], list[LeafPlace], list[bytes]]:
    """n events of one case at positions 10, 12, 14, ... (other leaves between them), every
    third a placeholder; their places and the leaf hashes of the whole log (2n leaves)."""
    events, places, hashes = [], [], []
    for i in range(n):
        sealed = f"sealed {i}".encode()
        position, link = 10 + 2 * i, hashlib.sha256(b"link %d" % i).digest()
        whole = PulledEvent(position, i + 1, CASE, sealed, 1_000 + i, link)
        events.append(whole.veiled() if i % 3 == 2 else whole)
        places.append(LeafPlace(position, 2 * i, 1_000 + i, f"batch-{i}"))
        data = leaf_of_fields(hashlib.sha256(sealed).digest(), position, CASE, i + 1, link, 1_000 + i, f"batch-{i}")
        hashes.extend([merkle.leaf_hash(data), merkle.leaf_hash(b"another case %d" % i)])
    return events, places, hashes


def _head(hashes: list[bytes], size: int, key: Ed25519PrivateKey = KEY) -> TreeHead:
    return sign_head(key, size, merkle.root(size, merkle.tree_of(hashes[:size]).__getitem__), 1_700_000_000_000_000)


def _answer(
    events: list[PulledEvent], places: list[LeafPlace], hashes: list[bytes], kept: TreeHead | None
) -> PullResponse:
    node = merkle.tree_of(hashes).__getitem__
    head = _head(hashes, len(hashes))
    consistency = [] if kept is None else merkle.consistency_proof(kept.size, head.size, node)
    inclusion = merkle.multi_inclusion_proof([p.leaf for p in places], head.size, node)
    proof = PageProof(
        head, PUBLIC, None if kept is None else kept.size, tuple(consistency), tuple(inclusion), tuple(places)
    )
    return PullResponse(events=tuple(events), proof=proof)


def test_an_honest_page_is_accepted_across_the_wire_and_its_head_kept() -> None:
    events, places, hashes = _log(9)
    kept = _head(hashes, 5)
    answer = decode_pull_response(encode_pull_response(_answer(events, places, hashes, kept)))
    head, key = check_page(answer, kept, PUBLIC)
    assert (head.size, key) == (18, PUBLIC)
    assert head_of(head_dict(head)) == head


def test_a_first_pull_trusts_the_answers_head_key_and_checks_the_page_against_it() -> None:
    events, places, hashes = _log(4)
    head, key = check_page(_answer(events, places, hashes, None), None, None)
    assert (head.size, key) == (8, PUBLIC)


def test_a_head_signed_by_another_key_is_refused() -> None:
    events, places, hashes = _log(4)
    answer = _answer(events, places, hashes, None)
    assert answer.proof is not None
    forged = replace(answer.proof, head=_head(hashes, 8, Ed25519PrivateKey.generate()))
    with pytest.raises(HeadRefused, match="not signed"):
        check_page(replace(answer, proof=forged), None, PUBLIC)
    with pytest.raises(HeadRefused, match="not signed"):  # nor does a key of the server's choosing help
        check_page(replace(answer, proof=replace(forged, public_key=b"\1" * 32)), None, PUBLIC)


def test_a_history_rewritten_before_the_kept_head_fails_the_consistency_proof() -> None:
    events, places, hashes = _log(6)
    kept = _head(hashes, 6)
    rewritten = [*hashes[:2], merkle.leaf_hash(b"rewritten"), *hashes[3:]]
    answer = _answer(events[4:], places[4:], rewritten, kept)
    with pytest.raises(HeadRefused, match="consistency"):
        check_page(answer, kept, PUBLIC)


def test_a_log_cut_back_below_the_kept_head_is_refused() -> None:
    _, _, hashes = _log(6)
    kept = _head(hashes, 12)
    answer = _answer([], [], hashes[:11], None)
    assert answer.proof is not None
    with pytest.raises(HeadRefused, match="consistency"):
        check_page(replace(answer, proof=replace(answer.proof, since=12)), kept, PUBLIC)


def test_a_proof_from_another_size_than_the_kept_one_is_refused() -> None:
    events, places, hashes = _log(6)
    kept = _head(hashes, 6)
    answer = _answer(events, places, hashes, _head(hashes, 4))
    with pytest.raises(HeadRefused, match="consistency"):
        check_page(answer, kept, PUBLIC)


@pytest.mark.parametrize("which", [0, 2, 5])
def test_an_event_changed_after_it_was_logged_fails_the_inclusion_proof(which: int) -> None:
    events, places, hashes = _log(6)
    answer = _answer(events, places, hashes, None)
    e = events[which]
    changed = placeholder(e.position, e.seq, e.case_id, b"\0" * 32, e.link) if e.placeholder else e._replace(received=7)
    with pytest.raises(HeadRefused, match="inclusion"):
        check_page(replace(answer, events=(*events[:which], changed, *events[which + 1 :])), None, PUBLIC)


def test_a_moved_event_or_one_without_a_place_is_refused() -> None:
    events, places, hashes = _log(6)
    answer = _answer(events, places, hashes, None)
    assert answer.proof is not None
    moved = (places[0], places[1]._replace(leaf=places[1].leaf + 1), *places[2:])
    with pytest.raises(HeadRefused, match="inclusion"):
        check_page(replace(answer, proof=replace(answer.proof, places=moved)), None, PUBLIC)
    with pytest.raises(HeadRefused, match="without its place"):
        check_page(replace(answer, proof=replace(answer.proof, places=tuple(places[1:]))), None, PUBLIC)
    with pytest.raises(HeadRefused, match="no signed tree head"):
        check_page(replace(answer, proof=None), None, PUBLIC)


def test_the_evidence_names_both_heads_and_holds_only_hashes() -> None:
    events, places, hashes = _log(6)
    kept = _head(hashes, 6)
    answer = _answer(events[4:], places[4:], [*hashes[:2], merkle.leaf_hash(b"x"), *hashes[3:]], kept)
    found = evidence("why", kept, answer, 1)
    assert found["kept"] == head_dict(kept) and found["served"]["size"] == 12
    assert found["since"] == 6 and found["consistency"] and found["leaves"]
    assert "sealed" not in str(found)
