"""What a device cannot do to the log or learn from it over HTTP: reuse a batch id for
other events, or ask a pull whether a case id it never held exists."""

from __future__ import annotations

import pytest

from core import events as ev
from core.errors import BatchIdReused
from core.signing import sign_batch
from core.verify import verify
from sync.protocol import PullRequest, PushRequest, decode_pull_response, decode_push_response, encode_pull, encode_push
from tests.server.conftest import Api


def test_a_batch_id_reused_for_other_events_is_refused_and_stores_nothing(api: Api) -> None:
    dev = api.enroll("anna")
    laptop = dev.laptop
    case_id, opened = laptop.open_case()
    first = sign_batch(laptop.keys.signing, "batch-1", laptop.device_id, [opened.digest])
    body = encode_push(PushRequest(first, (opened.raw,), (laptop.grant(case_id),)))
    r = dev.post("/v1/sync/push", body)
    assert r.status_code == 200, r.text
    assert [x.status for x in decode_push_response(r.content).results] == ["accepted"]
    # The same batch again (a retry after a lost answer): a duplicate, nothing new.
    again = dev.post("/v1/sync/push", body)
    assert again.status_code == 200, again.text
    assert [x.status for x in decode_push_response(again.content).results] == ["duplicate"]
    head = api.ctx.log.max_position()

    note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="phone")
    reused = sign_batch(laptop.keys.signing, "batch-1", laptop.device_id, [note.digest])
    r = dev.post("/v1/sync/push", encode_push(PushRequest(reused, (note.raw,))))
    assert r.status_code == 409, r.text
    assert "batch id batch-1 was used before for other events" in r.json()["error"]["message"]
    assert api.ctx.log.max_position() == head
    assert api.ctx.log.find([note.event_id]) == {}
    # Two writers racing past the push's check: the log's own append refuses it too.
    with pytest.raises(BatchIdReused):
        api.ctx.log.append([note], reused, verify=False)
    assert api.ctx.log.max_position() == head
    report = verify(api.ctx.log)
    assert report.ok, report


def test_a_pull_drops_only_cases_the_worker_held(api: Api) -> None:
    anna, bo = api.enroll("anna"), api.enroll("bo")
    theirs, opened = bo.laptop.open_case()
    batch = bo.laptop.batch([opened], (bo.laptop.grant(theirs),))
    assert bo.post("/v1/sync/push", encode_push(batch)).status_code == 200
    api.ctx.caseload.assign(theirs, "anna")
    held = decode_pull_response(anna.post("/v1/sync/pull", encode_pull(PullRequest(after=0))).content)
    assert {e.case_id for e in held.events} == {theirs}
    # A case of another worker that anna never held, and an id no case has: never named.
    other, opened = bo.laptop.open_case()
    assert (
        bo.post("/v1/sync/push", encode_push(bo.laptop.batch([opened], (bo.laptop.grant(other),)))).status_code == 200
    )
    api.ctx.caseload.unassign(theirs, "anna")
    nowhere = "00000000-0000-4000-8000-000000000000"
    asked = PullRequest(after=held.next, holding=(theirs, other, nowhere))
    answer = decode_pull_response(anna.post("/v1/sync/pull", encode_pull(asked)).content)
    assert answer.drop == (theirs,)
