"""Rule 1 (party principle) and the team: only parties record; the lead stays."""

from __future__ import annotations

from core import events as ev
from core.errors import RuleViolation, UnknownReference
from tests.core.conftest import family, rejected, worker


def test_a_department_that_is_not_a_party_cannot_record() -> None:
    b = family()
    rejected(
        b,
        RuleViolation,
        f"department jobcenter is not a party to case {b.case_id}; a team member must add it first",
        ev.ContactRecorded,
        worker("jobcenter"),
        contact_id="c",
        kind="phone",
    )
    b.join("jobcenter")
    b.contact(worker("jobcenter"))
    assert b.state.parties() == ["children-family", "jobcenter"]


def test_a_department_that_left_can_no_longer_record() -> None:
    b = family()
    b.join("school")
    b.rec(ev.TeamMemberLeft, member_department="school")
    assert not b.state.is_party("school")
    rejected(
        b,
        RuleViolation,
        "department school is not a party",
        ev.ContactRecorded,
        worker("school"),
        contact_id="c",
        kind="phone",
    )
    rejected(
        b,
        UnknownReference,
        "department school is not a party to the case",
        ev.TeamMemberLeft,
        member_department="school",
    )
    b.join("school")  # a new membership
    assert len(b.state.memberships["school"]) == 2


def test_a_department_joins_once_and_the_lead_cannot_leave() -> None:
    b = family()
    b.join("school")
    rejected(
        b,
        RuleViolation,
        "department school is already a party to the case",
        ev.TeamMemberJoined,
        member_department="school",
    )
    rejected(
        b,
        RuleViolation,
        "the lead department cannot leave; transfer the case first",
        ev.TeamMemberLeft,
        member_department="children-family",
    )
    rejected(
        b,
        RuleViolation,
        "unknown department 'ministry'",
        ev.TeamMemberJoined,
        member_department="ministry",
    )


def test_a_worker_leaving_keeps_the_department_while_others_remain() -> None:
    b = family()
    b.rec(ev.TeamMemberJoined, member_department="school", worker="t1")
    b.rec(ev.TeamMemberJoined, member_department="school", worker="t2")
    b.rec(ev.TeamMemberLeft, member_department="school", worker="t1")
    assert b.state.is_party("school")
    b.rec(ev.TeamMemberLeft, member_department="school", worker="t2")
    assert not b.state.is_party("school")


def test_a_department_that_joined_as_a_whole_stays_when_its_workers_leave() -> None:
    b = family()
    b.rec(ev.TeamMemberJoined, member_department="school")
    b.rec(ev.TeamMemberJoined, member_department="school", worker="t1")
    b.rec(ev.TeamMemberLeft, member_department="school", worker="t1")
    assert b.state.is_party("school")
    # The lead department joined as a whole when the case was opened: its last named
    # worker leaving does not take it off the case.
    lead_worker = worker(b.lead).worker
    b.rec(ev.TeamMemberLeft, member_department=b.lead, worker=lead_worker)
    assert b.state.is_party(b.lead)
