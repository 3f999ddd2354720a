"""The openers' index catches up to the log's head even when no case was opened since,
so a push reads only what was appended after the last one; a case opened later, by this
service or by another process on the same log, is still found."""

from __future__ import annotations

from core import events as ev
from server.syncing.caseload import Caseload
from tests.sync.conftest import World


def test_the_index_stands_at_the_head_and_still_finds_a_later_opening(world: World) -> None:
    office = world.laptop("w1")
    case_id, opened = office.open_case()
    world.service.push(office.batch([opened], (office.grant(case_id),)), office.device_id, office.worker)
    for n in range(3):  # contacts only: no case opened after the first push
        note = office.record(case_id, ev.ContactRecorded, contact_id=ev.new_id(), kind="drop-in", note=f"n{n}")
        answer = world.service.push(office.batch([note]), office.device_id, office.worker)
        assert answer.results[0].status == "accepted"
    assert world.caseload.catch_up() == world.log.max_position()
    assert world.log.recorder.openers_position() == world.log.max_position()

    # Another process's service on the same log opens a case: this one's next question finds it.
    other = Caseload(world.log)
    later, opening = office.open_case()
    world.service.push(office.batch([opening], (office.grant(later),)), office.device_id, office.worker)
    assert other.catch_up() == world.log.max_position()
    assert other.opened_by("w1") == sorted([case_id, later])
    assert world.caseload.of("w1", "jobcenter") == {case_id, later}
