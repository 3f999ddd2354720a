"""The rules added for the departments' clashes and the way to adult life, as the core
judges them: a clash flagged by any party and resolved only by the coordinator (the lead
while there is none); aftercare from 18 and ending before 23; the meeting's attendance
and checklist; a consent withdrawn for one recipient or category; and events recorded
before these fields existed, read with them empty."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core import events as ev
from core.errors import InvalidInput, RuleViolation, UnknownReference
from core.events import Header
from tests.core.conftest import TODAY, CaseBuilder, family, rejected, worker

JOBCENTER = worker("jobcenter")
COORDINATOR = worker("children-family", name="w-coordinator")


def goals(b: CaseBuilder) -> tuple[str, str]:
    """Two goals of the plan, one of each department."""
    first = b.rec(ev.GoalAdded, goal_id=ev.new_id(), text="finish the treatment course", owner="children-family")
    second = b.rec(ev.GoalAdded, JOBCENTER, goal_id=ev.new_id(), text="20 hours of activation", owner="jobcenter")
    return first.goal_id, second.goal_id


def test_any_party_flags_a_clash_with_two_items_and_a_reason_and_only_the_coordinator_resolves_it() -> None:
    b = family()
    b.join("jobcenter")
    items = goals(b)
    rejected(b, InvalidInput, "two different", ev.ClashFlagged, JOBCENTER, clash_id="c1", items=items[:1], reason="x")
    rejected(b, UnknownReference, "no goal, activity or decision", ev.ClashFlagged, JOBCENTER,
             clash_id="c1", items=(items[0], "nothing"), reason="the hours")  # fmt: skip
    rejected(b, InvalidInput, "says why", ev.ClashFlagged, JOBCENTER, clash_id="c1", items=items, reason=" ")
    b.rec(ev.ClashFlagged, JOBCENTER, clash_id="c1", items=items, reason="activation hours collide with treatment")
    assert not b.state.clashes["c1"].resolved
    rejected(b, RuleViolation, "already exists", ev.ClashFlagged, clash_id="c1", items=items, reason="again")
    # No coordinator yet: the lead department resolves, not the department that flagged.
    rejected(b, RuleViolation, "the lead department resolves", ev.ClashResolved, JOBCENTER, clash_id="c1",
             resolution="we agree")  # fmt: skip
    b.rec(ev.CoordinatorAssigned, worker=COORDINATOR.worker, coordinator_department="children-family")
    rejected(b, RuleViolation, "only the case's coordinator", ev.ClashResolved, clash_id="c1", resolution="fine")
    rejected(b, InvalidInput, "says how", ev.ClashResolved, COORDINATOR, clash_id="c1", resolution="")
    b.rec(ev.ClashResolved, COORDINATOR, clash_id="c1", resolution="activation waits until the course ends")
    assert b.state.clashes["c1"].resolved
    rejected(b, RuleViolation, "already resolved", ev.ClashResolved, COORDINATOR, clash_id="c1", resolution="x")
    rejected(b, UnknownReference, "not part of case", ev.ClashResolved, COORDINATOR, clash_id="c2", resolution="x")


def test_aftercare_starts_at_18_and_ends_before_23() -> None:
    b = family({"young": ("child", 18), "sister": ("child", 17), "unknown": ("child", None)})
    young, sister = b.persons["young"], b.persons["sister"]
    today = TODAY.date()
    rejected(b, RuleViolation, "has turned 18", ev.AftercareStarted, person=sister, until=today + timedelta(days=400))
    rejected(b, RuleViolation, "needs the young person's birth date", ev.AftercareStarted,
             person=b.persons["unknown"], until=today + timedelta(days=400))  # fmt: skip
    rejected(b, UnknownReference, "not part of case", ev.AftercareStarted, person="nobody", until=today)
    five_years = today + timedelta(days=5 * 365)  # the young person is 23 by then
    rejected(b, InvalidInput, "before the young person turns 23", ev.AftercareStarted, person=young, until=five_years)
    rejected(b, InvalidInput, "ends after it starts", ev.AftercareStarted, person=young, until=today)
    b.rec(ev.AftercareStarted, person=young, until=today + timedelta(days=4 * 365))
    assert young in b.state.aftercare
    rejected(b, RuleViolation, "already started", ev.AftercareStarted, person=young, until=today + timedelta(days=30))


def test_a_meeting_records_who_was_present_and_only_items_of_the_checklist() -> None:
    b = family({"young": ("child", 16), "mother": ("parent", 44)})
    young = b.persons["young"]
    fields: dict[str, Any] = {"meeting_id": ev.new_id(), "kind": "statutory-16", "participants": ("children-family",)}
    rejected(b, UnknownReference, "is not part of case", ev.MeetingHeld, present=("stranger",), **fields)
    rejected(b, InvalidInput, "checklist has the items", ev.MeetingHeld, checklist=("holiday",), **fields)
    rejected(b, InvalidInput, "is named", ev.MeetingHeld, companions=(" ",), **fields)
    rejected(b, InvalidInput, "a meeting is one of", ev.MeetingHeld, **{**fields, "kind": "party"})
    held = b.rec(
        ev.MeetingHeld,
        present=(young,),
        companions=("her aunt",),
        experts=("school psychologist",),
        chair="w-children-family",
        minute_taker="w-children-family",
        checklist=("young-person-heard", "housing", "support-after-18"),
        persons=(young,),
        **fields,
    )
    assert held.checklist == ("young-person-heard", "housing", "support-after-18")
    assert b.state.meetings[held.meeting_id].persons == (young,)


def test_a_consent_withdrawn_for_one_recipient_or_category_keeps_the_rest_in_force() -> None:
    b = family({"mother": ("parent", 38)})
    c = b.consent("mother", ["mother"], ["jobcenter", "benefits"], ["contact", "plan"])
    rejected(b, RuleViolation, "has no recipient psychiatry", ev.ConsentWithdrawn,
             consent_id=c.consent_id, from_recipients=("psychiatry",))  # fmt: skip
    b.rec(ev.ConsentWithdrawn, consent_id=c.consent_id, from_recipients=("jobcenter",), reason="asked")
    now = b.state.consents[c.consent_id].as_of(b.clock.now)
    assert now.recipients == ("benefits",) and set(now.categories) == {"contact", "plan"}
    assert b.state.consents[c.consent_id].withdrawn_at is None  # the rest stays in force
    rejected(b, RuleViolation, "has no recipient jobcenter", ev.ConsentWithdrawn,
             consent_id=c.consent_id, from_recipients=("jobcenter",))  # fmt: skip
    b.rec(ev.ConsentWithdrawn, consent_id=c.consent_id, from_categories=("plan",))
    assert b.state.consents[c.consent_id].as_of(b.clock.now).categories == ("contact",)
    b.rec(ev.ConsentWithdrawn, consent_id=c.consent_id)
    assert b.state.consents[c.consent_id].withdrawn_at is not None


def test_events_recorded_before_the_new_fields_read_with_them_empty() -> None:
    b = family()
    meeting = b.rec(ev.MeetingHeld, meeting_id=ev.new_id(), kind="status", participants=("children-family",))
    goal = b.rec(ev.GoalAdded, goal_id=ev.new_id(), text="a calm home", owner="children-family")
    c = b.consent("mother", ["mother"], ["jobcenter"], ["contact"])
    withdrawn = b.rec(ev.ConsentWithdrawn, consent_id=c.consent_id)
    newer = {"present", "companions", "experts", "checklist", "phase", "from_recipients", "from_categories"}
    for e in (meeting, goal, withdrawn):
        header: Header = e.header
        old = {k: v for k, v in e.payload().items() if k not in newer}  # as an older laptop sealed it
        read = type(e).from_payload(header, old)
        assert read == e
    old_meeting = ev.MeetingHeld.from_payload(meeting.header, {"meeting_id": "m1", "kind": "status"})
    assert isinstance(old_meeting, ev.MeetingHeld)
    assert (old_meeting.present, old_meeting.experts, old_meeting.checklist) == ((), (), ())
