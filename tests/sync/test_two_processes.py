"""Two server processes on one database judge and append a batch as one step per case.

Each `PushService` here has its own `CaseLog` (its own caches) on the same database, as
two `server run` processes have. The second appends to a case between the first's
judgement of a batch and its append, driven deterministically by a hook in the first's
append: the first must judge again against the case as it is now, so a revision of a
goal the other process closed meanwhile is stored flagged, never as if it had seen it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from core import events as ev
from core.departments import Directory
from core.log import CaseLog, Receipt
from core.sealing import SealedEvent
from core.verify import verify
from server.syncing.caseload import Caseload
from server.syncing.push import PushService
from sync.protocol import PushResponse
from tests.sync.conftest import Laptop, World


def other_process(world: World, make_log: Callable[..., CaseLog]) -> PushService:
    """A second server process's push service: its own log object and caches, one database."""
    log = make_log()
    return PushService(log, Directory.default, world.server_keys, caseload=Caseload(log))


def before_the_append(service: PushService, meanwhile: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `meanwhile` once, after `service` judged its next batch and before it appends it."""
    real = service.log.append
    pending = [meanwhile]

    def append(*args: Any, **kwargs: Any) -> list[Receipt]:
        while pending:
            pending.pop()()
        return real(*args, **kwargs)

    monkeypatch.setattr(service.log, "append", append)


def push(service: PushService, laptop: Laptop, sealed: Sequence[SealedEvent], grant: bool = False) -> PushResponse:
    case_ids = {s.case_id for s in sealed}
    grants = tuple(laptop.grant(c) for c in case_ids) if grant else ()
    return service.push(laptop.batch(list(sealed), grants), laptop.device_id, laptop.worker)


@pytest.mark.parametrize("head_remembered", [True, False], ids=["head-remembered", "head-read-fresh"])
def test_a_revision_judged_before_another_process_closed_the_goal_is_flagged(
    world: World, make_log: Callable[..., CaseLog], monkeypatch: pytest.MonkeyPatch, head_remembered: bool
) -> None:
    first, second = world.service, other_process(world, make_log)
    office, field = world.laptop("w1"), world.laptop("w2")
    case_id, opened = office.open_case()
    goal = office.record(case_id, ev.GoalAdded, goal_id="g1", text="find work", owner="jobcenter")
    # The process that will judge the revision either appended to the case before (and so
    # remembers its head) or never did (and reads the head when it appends).
    opener = first if head_remembered else second
    assert [r.status for r in push(opener, office, [opened, goal], grant=True).results] == ["accepted"] * 2
    world.hand(field, case_id)
    closed = office.record(case_id, ev.GoalClosed, goal_id="g1")
    revised = field.record(case_id, ev.GoalRevised, goal_id="g1", text="treatment first", base_revision=1)

    before_the_append(first, lambda: push(second, office, [closed]), monkeypatch)
    answer = push(first, field, [revised])

    assert answer.results[0].status == "accepted"
    assert len(answer.conflicts) == 1, "the revision of a goal closed meanwhile must be flagged"
    assert answer.conflicts[0].events[0] == revised.event_id
    assert "closed" in answer.conflicts[0].rule
    topics = [e.sealed.topic for e in world.log.case_events(case_id)]
    assert topics == ["case.opened", "goal.added", "goal.closed", "goal.revised", "conflict.flagged"]
    assert verify(world.log).ok


def test_a_batch_another_process_stored_meanwhile_is_answered_as_duplicates(
    world: World, make_log: Callable[..., CaseLog], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same request delivered to two processes at once: stored once, both answered."""
    first, second = world.service, other_process(world, make_log)
    laptop = world.laptop("w1")
    case_id, opened = laptop.open_case()
    note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="phone", note="talked")
    request = laptop.batch([opened, note], (laptop.grant(case_id),))
    copy: list[Any] = []
    before_the_append(first, lambda: copy.append(second.push(request, laptop.device_id, laptop.worker)), monkeypatch)

    answer = first.push(request, laptop.device_id, laptop.worker)

    assert [r.status for r in copy[0].results] == ["accepted", "accepted"]
    assert [(r.status, r.seq, r.position) for r in answer.results] == [
        ("duplicate", r.seq, r.position) for r in copy[0].results
    ]
    assert len(world.log.case_events(case_id)) == 2
    assert verify(world.log).ok
