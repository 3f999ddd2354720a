"""Pull semantics without HTTP: caseload pages, back-fill, grants, drop, stale cursors."""

from __future__ import annotations

import pytest

from core import events as ev
from core.keys import accept_grant
from server.syncing.pull import PullingDevice, pull
from sync.errors import StaleCursor
from sync.protocol import PullRequest
from tests.sync.conftest import Laptop, World


def _push_case(world: World, laptop: Laptop, notes: int = 1) -> str:
    case_id, opened = laptop.open_case()
    sealed = [opened] + [
        laptop.record(case_id, ev.ContactRecorded, contact_id=f"c{i}", kind="phone") for i in range(notes)
    ]
    resp = world.service.push(laptop.batch(sealed, (laptop.grant(case_id),)), laptop.device_id, laptop.worker)
    assert {r.status for r in resp.results} == {"accepted"}
    return case_id


def _device(laptop: Laptop) -> PullingDevice:
    return PullingDevice(laptop.device_id, laptop.author.worker, laptop.keys.agreement_public, laptop.author.department)


def test_a_worker_pulls_only_the_cases_in_their_caseload(world: World) -> None:
    mine, theirs = world.laptop("w1"), world.laptop("w2")
    own = _push_case(world, mine, notes=2)
    _push_case(world, theirs, notes=3)
    # A second laptop of the same worker gets the case and its key.
    other_laptop = world.laptop("w1")
    resp = pull(world.log, world.caseload, _device(other_laptop), PullRequest(after=0))
    assert {e.case_id for e in resp.events} == {own}
    assert [e.seq for e in resp.events] == [1, 2, 3]
    assert resp.next == resp.head == world.log.max_position()
    assert not resp.more
    (grant,) = resp.grants
    key = accept_grant(other_laptop.keys.agreement, other_laptop.device_id, own, grant.key_id, grant.grant)
    assert key.secret == world.log.case_key(own).secret


def test_pages_are_bounded_and_the_cursor_moves_past_other_workers_events(world: World) -> None:
    mine, theirs = world.laptop("w1"), world.laptop("w2")
    own = _push_case(world, mine, notes=4)
    _push_case(world, theirs, notes=3)
    device = _device(mine)
    first = pull(world.log, world.caseload, device, PullRequest(after=0, limit=3, holding=()))
    assert len(first.events) == 3 and first.more and first.next == first.events[-1].position
    rest = pull(world.log, world.caseload, device, PullRequest(after=first.next, limit=3, holding=(own,)))
    assert [e.seq for e in rest.events] == [4, 5]
    assert not rest.more and rest.next == rest.head
    assert rest.grants == ()
    empty = pull(world.log, world.caseload, device, PullRequest(after=rest.next, holding=(own,)))
    assert empty.events == () and empty.next == empty.head


def test_an_assigned_case_is_back_filled_and_an_unassigned_one_dropped(world: World) -> None:
    office, field = world.laptop("w1"), world.laptop("w2")
    case_id = _push_case(world, office, notes=2)
    device = _device(field)
    cursor = pull(world.log, world.caseload, device, PullRequest(after=0)).next
    assert cursor == world.log.max_position()
    world.caseload.assign(case_id, "w2")
    resp = pull(world.log, world.caseload, device, PullRequest(after=cursor))
    assert [e.seq for e in resp.events] == [1, 2, 3]
    assert [g.case_id for g in resp.grants] == [case_id]
    world.caseload.unassign(case_id, "w2")
    gone = pull(
        world.log,
        world.caseload,
        device,
        PullRequest(after=resp.next, holding=(case_id, "not-a-case")),
    )
    assert gone.drop == (case_id,)


def test_back_fill_is_bounded_and_holds_the_cursor_until_done(world: World) -> None:
    office, field = world.laptop("w1"), world.laptop("w2")
    cases = [_push_case(world, office) for _ in range(3)]
    for c in cases:
        world.caseload.assign(c, "w2")
    device = _device(field)
    head = world.log.max_position()
    first = pull(world.log, world.caseload, device, PullRequest(after=head), max_backfill_cases=2)
    assert first.more and first.next == head
    got = sorted({e.case_id for e in first.events})
    second = pull(
        world.log,
        world.caseload,
        device,
        PullRequest(after=head, holding=tuple(got)),
        max_backfill_cases=2,
    )
    assert not second.more
    assert set(got) | {e.case_id for e in second.events} == set(cases)


def test_a_cursor_beyond_the_head_is_stale(world: World) -> None:
    laptop = world.laptop("w1")
    with pytest.raises(StaleCursor):
        pull(world.log, world.caseload, _device(laptop), PullRequest(after=5))


def test_a_long_forget_list_comes_in_bounded_parts_that_add_up_to_the_whole(world: World) -> None:
    office, field = world.laptop("w1", "children-family"), world.laptop("w2")
    cases = []
    for _ in range(3):
        case_id, opened = office.open_case("children-family")
        joined = office.record(case_id, ev.TeamMemberJoined, member_department="jobcenter")
        resp = world.service.push(
            office.batch([opened, joined], (office.grant(case_id),)), office.device_id, office.worker
        )
        assert {r.status for r in resp.results} == {"accepted"}
        world.hand(field, case_id)
        # The office's events and jobcenter's own, one after the other: a fragmented share.
        for i in range(3):
            for laptop in (office, field):
                note = laptop.record(case_id, ev.ContactRecorded, contact_id=f"c{i}{laptop.device_id}", kind="phone")
                resp = world.service.push(laptop.batch([note]), laptop.device_id, laptop.worker)
                assert {r.status for r in resp.results} == {"accepted"}
        cases.append(case_id)
    device = _device(field)
    head = world.log.max_position()
    whole = pull(world.log, world.caseload, device, PullRequest(after=head, holding=tuple(cases))).forget
    assert sum(len(r) for _, r in whole) > 4 and not any(c not in cases for c, _ in whole)

    parts: list[tuple[str, int]] = []
    mark, answers = None, 0
    while True:
        answer = pull(
            world.log,
            world.caseload,
            device,
            PullRequest(after=head, holding=tuple(cases), forget_after=mark),
            max_forget=2,
        )
        answers += 1
        assert sum(len(r) for _, r in answer.forget) <= 2
        parts.extend((c, seq) for c, ranges in answer.forget for low, high in ranges for seq in range(low, high + 1))
        assert answer.more == (answer.forget_next is not None)
        if answer.forget_next is None:
            break
        mark = answer.forget_next
    assert answers > 2
    assert sorted(parts) == sorted((c, s) for c, ranges in whole for low, high in ranges for s in range(low, high + 1))
