"""Push semantics without HTTP: judged per event, idempotent, clashes flagged."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core import events as ev
from core.departments import Directory
from core.errors import SignatureInvalid
from core.log import CaseLog
from core.recording import make_event
from core.sealing import seal
from core.signing import BatchSeal
from core.verify import verify
from server.syncing.push import PushService
from sync.protocol import PushRequest
from tests.sync.conftest import Laptop, World


def _open_with_goal(world: World, laptop: Laptop) -> tuple[str, str]:
    case_id, opened = laptop.open_case()
    goal = laptop.record(case_id, ev.GoalAdded, goal_id="g1", text="find work", owner="jobcenter")
    resp = world.service.push(laptop.batch([opened, goal], (laptop.grant(case_id),)), laptop.device_id, laptop.worker)
    assert [r.status for r in resp.results] == ["accepted", "accepted"]
    return case_id, "g1"


def test_accepts_a_new_case_with_its_key_and_answers_a_retry_as_duplicates(world: World) -> None:
    laptop = world.laptop("w1")
    case_id, opened = laptop.open_case()
    note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="drop-in", note="talked")
    request = laptop.batch([opened, note], (laptop.grant(case_id),))
    first = world.service.push(request, laptop.device_id, laptop.worker)
    assert [(r.status, r.seq) for r in first.results] == [("accepted", 1), ("accepted", 2)]
    assert world.log.has_key(case_id)
    again = world.service.push(request, laptop.device_id, laptop.worker)
    assert [(r.status, r.seq, r.position) for r in again.results] == [
        ("duplicate", r.seq, r.position) for r in first.results
    ]
    assert len(world.log.case_events(case_id)) == 2
    assert verify(world.log).ok


def test_rejects_a_rule_violation_with_the_rules_sentence(world: World) -> None:
    laptop = world.laptop("w1")
    case_id, _ = _open_with_goal(world, laptop)
    bad = laptop.record(case_id, ev.ProgressRecorded, goal_id="g1", score=3)
    # A violation the laptop's own check would have caught: a score out of range.
    state, key = laptop.cases[case_id]
    wrong = make_event(ev.ProgressRecorded, case_id, key.key_id, laptop.author, state.seq, goal_id="g1", score=9)
    resp = world.service.push(laptop.batch([bad, seal(wrong, key)]), laptop.device_id, laptop.worker)
    assert [r.status for r in resp.results] == ["accepted", "rejected"]
    assert "1 to 5" in resp.results[1].reason
    assert len(world.log.case_events(case_id)) == 3


def test_rejects_events_whose_header_names_another_worker(world: World) -> None:
    laptop = world.laptop("w1")
    other = world.laptop("w2", department="benefits")
    case_id, opened = laptop.open_case()
    resp = world.service.push(laptop.batch([opened], (laptop.grant(case_id),)), laptop.device_id, other.worker)
    assert resp.results[0].status == "rejected"
    assert "author" in resp.results[0].reason
    assert world.log.case_events(case_id) == []


def test_concurrent_goal_revisions_are_both_kept_and_flagged(world: World) -> None:
    office = world.laptop("w1")
    case_id, goal = _open_with_goal(world, office)
    field = world.laptop("w2")
    world.hand(field, case_id)
    r1 = office.record(case_id, ev.GoalRevised, goal_id=goal, text="work 10 h", base_revision=1)
    r2 = field.record(case_id, ev.GoalRevised, goal_id=goal, text="treatment first", base_revision=1)
    assert world.service.push(office.batch([r1]), office.device_id, office.worker).results[0].status == "accepted"
    resp = world.service.push(field.batch([r2]), field.device_id, field.worker)
    assert resp.results[0].status == "accepted"
    assert len(resp.conflicts) == 1
    conflict = resp.conflicts[0]
    assert conflict.events == (r2.event_id, r1.event_id)
    logged = world.log.case_events(case_id)
    assert [e.sealed.topic for e in logged][-3:] == [
        "goal.revised",
        "goal.revised",
        "conflict.flagged",
    ]
    flagged = world.log.open(logged[-1])
    assert isinstance(flagged, ev.ConflictFlagged) and flagged.header.role == "server"
    assert verify(world.log).ok


def test_offline_event_that_only_fits_the_state_its_author_saw_is_kept_and_flagged(
    world: World,
) -> None:
    office = world.laptop("w1")
    case_id, goal = _open_with_goal(world, office)
    field = world.laptop("w2")
    world.hand(field, case_id)
    closed = office.record(case_id, ev.GoalClosed, goal_id=goal)
    progress = field.record(case_id, ev.ProgressRecorded, goal_id=goal, score=4)
    world.service.push(office.batch([closed]), office.device_id, office.worker)
    resp = world.service.push(field.batch([progress]), field.device_id, field.worker)
    assert resp.results[0].status == "accepted"
    assert "closed" in resp.conflicts[0].rule


def test_a_forged_batch_is_refused_whole(world: World) -> None:
    laptop = world.laptop("w1")
    case_id, opened = laptop.open_case()
    request = laptop.batch([opened], (laptop.grant(case_id),))
    forged = PushRequest(
        BatchSeal(request.seal.batch_id, request.seal.device_id, request.seal.digests, b"\0" * 64),
        request.events,
        request.keys,
    )
    with pytest.raises(SignatureInvalid):
        world.service.push(forged, laptop.device_id, laptop.worker)
    assert world.log.max_position() == 0


def test_a_revoked_device_is_refused(world: World) -> None:
    laptop = world.laptop("w1")
    case_id, opened = laptop.open_case()
    world.log.revoke_device(laptop.device_id)
    with pytest.raises(SignatureInvalid):
        world.service.push(laptop.batch([opened], (laptop.grant(case_id),)), laptop.device_id, laptop.worker)
    assert world.log.max_position() == 0


def test_events_of_a_case_without_a_key_are_rejected(world: World) -> None:
    laptop = world.laptop("w1")
    _, opened = laptop.open_case()
    resp = world.service.push(laptop.batch([opened]), laptop.device_id, laptop.worker)
    assert resp.results[0].status == "rejected"
    assert "key grant" in resp.results[0].reason


def test_a_restarted_server_judges_against_the_stored_history(world: World, make_log: Callable[..., CaseLog]) -> None:
    laptop = world.laptop("w1")
    case_id, goal = _open_with_goal(world, laptop)
    fresh = PushService(make_log(world.log.kek), Directory.default, world.server_keys)
    state, key = laptop.cases[case_id]
    twice = make_event(
        ev.GoalAdded,
        case_id,
        key.key_id,
        laptop.author,
        state.seq,
        goal_id=goal,
        text="x",
        owner="jobcenter",
    )
    resp = fresh.push(laptop.batch([seal(twice, key)]), laptop.device_id, laptop.worker)
    assert resp.results[0].status == "rejected"
    assert "already exists" in resp.results[0].reason


def test_a_retry_after_a_server_restart_gets_the_same_places(world: World, make_log: Callable[..., CaseLog]) -> None:
    laptop = world.laptop("w1")
    case_id, opened = laptop.open_case()
    note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="phone")
    request = laptop.batch([opened, note], (laptop.grant(case_id),))
    first = world.service.push(request, laptop.device_id, laptop.worker)
    # The answer was lost with the process; the laptop retries against a new one.
    restarted = PushService(make_log(world.log.kek), Directory.default, world.server_keys)
    again = restarted.push(request, laptop.device_id, laptop.worker)
    assert [(r.event_id, r.seq, r.position) for r in again.results] == [
        (r.event_id, r.seq, r.position) for r in first.results
    ]
    assert {r.status for r in again.results} == {"duplicate"}
    assert world.log.max_position() == 2


def test_a_batch_repeating_an_event_stores_it_once(world: World) -> None:
    laptop = world.laptop("w1")
    case_id, opened = laptop.open_case()
    resp = world.service.push(laptop.batch([opened, opened], (laptop.grant(case_id),)), laptop.device_id, laptop.worker)
    assert [(r.status, r.seq) for r in resp.results] == [("accepted", 1), ("duplicate", 1)]
    assert resp.results[0].position == resp.results[1].position
    assert world.log.max_position() == 1


def test_concurrent_pushes_to_one_case_keep_one_unbroken_chain(world: World) -> None:
    import threading

    office = world.laptop("w1")
    case_id, _ = _open_with_goal(world, office)
    laptops = [world.laptop(f"w{i}") for i in range(2, 6)]
    batches = []
    for n, laptop in enumerate(laptops):
        world.hand(laptop, case_id)
        notes = [laptop.record(case_id, ev.ContactRecorded, contact_id=f"c{n}-{i}", kind="phone") for i in range(5)]
        batches.append((laptop, laptop.batch(notes)))
    answers: list[list[str]] = []

    def push(laptop: Laptop, request: PushRequest) -> None:
        resp = world.service.push(request, laptop.device_id, laptop.worker)
        answers.append([r.status for r in resp.results])

    threads = [threading.Thread(target=push, args=b) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [["accepted"] * 5] * 4
    assert [e.seq for e in world.log.case_events(case_id)] == list(range(1, 23))
    assert verify(world.log).ok


def test_the_push_case_cache_stays_within_its_byte_budget(world: World) -> None:
    laptop = world.laptop("w1")
    first, _ = _open_with_goal(world, laptop)
    one_case = world.service.cases.used
    world.service.cases.budget = 2 * one_case
    later = [_open_with_goal(world, laptop)[0] for _ in range(3)]
    assert world.service.cases.used <= 2 * one_case
    assert world.service.cases.get(first) is None and world.service.cases.get(later[-1]) is not None


def test_a_case_whose_events_were_all_rejected_keeps_no_key(world: World) -> None:
    laptop = world.laptop("w1")
    case_id, _ = laptop.open_case()
    key = laptop.cases[case_id][1]
    wrong = make_event(ev.CaseOpened, case_id, key.key_id, laptop.author, 0, kind="citizen", lead_department="nope")
    resp = world.service.push(
        laptop.batch([seal(wrong, key)], (laptop.grant(case_id),)), laptop.device_id, laptop.worker
    )
    assert resp.results[0].status == "rejected" and "unknown department" in resp.results[0].reason
    assert not world.log.has_key(case_id)
