"""The log's signed tree heads and proofs over HTTP, as a laptop and an auditor ask them."""

from __future__ import annotations

from typing import Any

import httpx

from core import events as ev
from core import merkle
from core.treehead import TreeHead
from sync.protocol import decode_push_response, encode_push
from tests.server.conftest import Api, SignedLaptop


def _push_case(dev: SignedLaptop) -> list[int]:
    laptop = dev.laptop
    case_id, opened = laptop.open_case()
    note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="drop-in")
    r = dev.post("/v1/sync/push", encode_push(laptop.batch([opened, note], (laptop.grant(case_id),))))
    assert r.status_code == 200, r.text
    return [result.position for result in decode_push_response(r.content).results]


def _get(dev: SignedLaptop, path: str) -> httpx.Response:
    """A GET signed by the laptop, its query included in what it signs."""
    return dev.api.request("GET", path, headers=dev.headers("GET", path, b""))


def _head(answer: dict[str, Any]) -> TreeHead:
    head = TreeHead(
        answer["size"], bytes.fromhex(answer["root"]), answer["signed_at"], bytes.fromhex(answer["signature"])
    )
    head.verify(bytes.fromhex(answer["public_key"]))
    return head


def test_an_auditor_gets_a_signed_head_of_every_event_and_a_proof_that_a_later_one_extends_it(api: Api) -> None:
    dev = api.enroll("anna")
    _push_case(dev)
    first = _head(api.admin("GET", "/v1/log/head").json())
    assert first.size == api.ctx.log.max_position()
    _push_case(dev)
    second = _head(api.admin("GET", "/v1/log/head").json())
    assert second.size == first.size + 2
    answer = api.admin("GET", f"/v1/log/proof?from={first.size}&to={second.size}").json()
    proof = [bytes.fromhex(p) for p in answer["proof"]]
    assert merkle.verify_consistency(first.size, second.size, first.root, second.root, proof)
    assert api.ctx.log.recorder.tree_heads()[-1][0] == second.size  # every head is kept


def test_a_laptop_proves_its_event_is_in_the_signed_head(api: Api) -> None:
    dev = api.enroll("anna")
    positions = _push_case(dev)
    r = _get(dev, "/v1/log/head")
    assert r.status_code == 200, r.text
    head = _head(r.json())
    r = _get(dev, f"/v1/log/proof?position={positions[1]}&size={head.size}")
    assert r.status_code == 200, r.text
    answer = r.json()
    proof = [bytes.fromhex(p) for p in answer["proof"]]
    leaf = bytes.fromhex(answer["leaf_hash"])
    assert merkle.verify_inclusion(leaf, answer["leaf"], head.size, proof, head.root)


def test_strangers_staff_and_bad_questions_are_refused(api: Api) -> None:
    dev = api.enroll("anna")
    _push_case(dev)
    assert api.request("GET", "/v1/log/head").status_code == 401
    staff = {"Authorization": f"Bearer {dev.staff_token}"}
    assert api.request("GET", "/v1/log/head", headers=staff).status_code == 403
    path = "/v1/log/proof?from=1&to=2"
    forged = dev.headers("GET", "/v1/log/proof?from=1&to=1", b"")  # signed for another question
    assert api.request("GET", path, headers=forged).status_code == 401
    for bad in ("from=2&to=1", "from=1&to=99", "position=1", "from=x&to=2", ""):
        r = api.admin("GET", f"/v1/log/proof?{bad}")
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["status"] == 400
    r = api.admin("GET", "/v1/log/proof?position=999&size=1")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"].startswith("no event is stored at position 999")
