"""Rule 6: in the disability model no measure starts before the analysis meeting; and the
lifecycle of goals, activities, progress, referrals and financing."""

from __future__ import annotations

from core import events as ev
from core.errors import InvalidInput, RuleViolation, UnknownReference
from tests.core.conftest import CaseBuilder, family, rejected, worker


def with_activity(department: str) -> CaseBuilder:
    b = family()
    if department != "children-family":
        b.join(department)
    b.rec(ev.GoalAdded, goal_id="g1", text="stable school attendance", owner="children-family")
    b.rec(
        ev.ActivityAdded,
        activity_id="a1",
        goal_id="g1",
        activity_department=department,
        kind="support",
    )
    return b


def test_a_disability_measure_waits_for_the_analysis_meeting() -> None:
    b = with_activity("children-disability")
    rejected(
        b,
        RuleViolation,
        "in the disability model no measure may start before the cross-disciplinary analysis meeting has been held",
        ev.ActivityStarted,
        activity_id="a1",
    )
    b.rec(ev.MeetingHeld, meeting_id="m0", kind="status", participants=("children-disability",))
    rejected(b, RuleViolation, "analysis meeting has been held", ev.ActivityStarted, activity_id="a1")
    b.rec(
        ev.MeetingHeld,
        meeting_id="m1",
        kind="analysis",
        participants=("children-disability", "children-family"),
    )
    b.rec(ev.ActivityStarted, activity_id="a1")
    assert b.state.activities["a1"].started


def test_other_measures_start_without_the_meeting() -> None:
    b = with_activity("children-family")
    b.rec(ev.ActivityStarted, activity_id="a1")
    rejected(b, RuleViolation, "activity a1 has already started", ev.ActivityStarted, activity_id="a1")
    b.rec(ev.ActivityEnded, activity_id="a1")
    rejected(b, RuleViolation, "activity a1 is not running", ev.ActivityEnded, activity_id="a1")
    rejected(b, UnknownReference, "activity zz is not part of case", ev.ActivityStarted, activity_id="zz")


def test_an_activity_belongs_to_a_goal() -> None:
    b = with_activity("children-family")
    rejected(
        b,
        RuleViolation,
        "activity a1 already exists",
        ev.ActivityAdded,
        activity_id="a1",
        goal_id="g1",
        activity_department="children-family",
        kind="x",
    )
    rejected(
        b,
        UnknownReference,
        "goal g9 is not part of case",
        ev.ActivityAdded,
        activity_id="a2",
        goal_id="g9",
        activity_department="children-family",
        kind="x",
    )


def test_goals_are_revised_from_an_existing_revision_and_closed_once() -> None:
    b = with_activity("children-family")
    rejected(
        b,
        RuleViolation,
        "goal g1 has no revision 2",
        ev.GoalRevised,
        goal_id="g1",
        text="t",
        base_revision=2,
    )
    rejected(
        b,
        InvalidInput,
        "a goal revision needs a text",
        ev.GoalRevised,
        goal_id="g1",
        text=" ",
        base_revision=1,
    )
    b.rec(ev.GoalRevised, goal_id="g1", text="attend 4 of 5 days", base_revision=1)
    assert b.state.goals["g1"].revision == 2
    assert b.state.goals["g1"].history == ["stable school attendance", "attend 4 of 5 days"]
    rejected(
        b,
        RuleViolation,
        "goal g1 already exists",
        ev.GoalAdded,
        goal_id="g1",
        text="x",
        owner="children-family",
    )
    rejected(
        b,
        UnknownReference,
        "goal nope is not part of case",
        ev.GoalAdded,
        goal_id="g2",
        text="x",
        owner="children-family",
        parent_goal="nope",
    )
    rejected(
        b,
        InvalidInput,
        "a goal needs a text",
        ev.GoalAdded,
        goal_id="g2",
        text="",
        owner="children-family",
    )
    b.rec(ev.GoalClosed, goal_id="g1")
    rejected(b, RuleViolation, "goal g1 is closed", ev.GoalClosed, goal_id="g1")
    rejected(b, RuleViolation, "goal g1 is closed", ev.ProgressRecorded, goal_id="g1", score=3)


def test_progress_is_a_small_step_from_1_to_5() -> None:
    b = with_activity("children-family")
    for score in (0, 6, -1):
        rejected(
            b,
            InvalidInput,
            "progress is measured in small steps from 1 to 5",
            ev.ProgressRecorded,
            goal_id="g1",
            score=score,
        )
    b.rec(ev.ProgressRecorded, goal_id="g1", score=4)
    assert b.state.goals["g1"].scores == [4]


def test_referrals_and_their_outcomes() -> None:
    b = family()
    rejected(
        b,
        InvalidInput,
        "a referral states its reason",
        ev.ReferralMade,
        referral_id="r1",
        from_department="children-family",
        to_department="addiction",
        reason=" ",
    )
    b.rec(
        ev.ReferralMade,
        referral_id="r1",
        from_department="children-family",
        to_department="addiction",
        reason="alcohol",
    )
    rejected(
        b,
        UnknownReference,
        "referral r2 is not part of case",
        ev.ReferralOutcome,
        referral_id="r2",
        arrived=True,
    )
    b.rec(ev.ReferralOutcome, referral_id="r1", arrived=True)


def test_a_financing_split_adds_up_to_100() -> None:
    b = with_activity("children-family")
    rejected(
        b,
        RuleViolation,
        "the shares of a financing split add up to 100 %",
        ev.FinancingAgreed,
        activity_id="a1",
        shares={"children-family": 50, "jobcenter": 40},
    )
    rejected(
        b,
        UnknownReference,
        "activity a9 is not part of case",
        ev.FinancingAgreed,
        activity_id="a9",
        shares={"children-family": 100},
    )
    b.join("jobcenter")
    b.rec(ev.FinancingAgreed, activity_id="a1", shares={"children-family": 60, "jobcenter": 40})


def test_contacts_and_meetings_have_known_kinds() -> None:
    b = family()
    rejected(
        b,
        InvalidInput,
        "a contact is one of home-visit",
        ev.ContactRecorded,
        contact_id="c",
        kind="telepathy",
    )
    rejected(
        b,
        InvalidInput,
        "a meeting is one of assessment",
        ev.MeetingHeld,
        meeting_id="m",
        kind="party",
    )
    rejected(
        b,
        RuleViolation,
        "unknown department 'cia'",
        ev.MeetingHeld,
        meeting_id="m",
        kind="status",
        participants=("cia",),
    )


def test_conflicts_are_resolved_once() -> None:
    b = family()
    b.rec(
        ev.ConflictFlagged,
        worker("children-family", role="server", name="server"),
        conflict_id="k1",
        rule="r",
        events=(),
    )
    b.rec(ev.ConflictResolved, conflict_id="k1", resolution="kept both")
    rejected(
        b,
        RuleViolation,
        "conflict k1 was already resolved",
        ev.ConflictResolved,
        conflict_id="k1",
        resolution="again",
    )
    rejected(
        b,
        UnknownReference,
        "conflict k2 is not part of case",
        ev.ConflictResolved,
        conflict_id="k2",
        resolution="x",
    )


def test_only_the_coordinator_resolves_a_flagged_conflict() -> None:
    b = family()
    coordinator = worker("children-family", role="coordinator", name="mette")
    b.rec(ev.CoordinatorAssigned, worker="mette", coordinator_department="children-family")
    b.rec(ev.TeamMemberJoined, member_department="jobcenter")
    server = worker("children-family", role="server", name="server")
    b.rec(ev.ConflictFlagged, server, conflict_id="k1", rule="r", events=())
    rejected(
        b,
        RuleViolation,
        "only the case's coordinator resolves a flagged conflict",
        ev.ConflictResolved,
        worker("jobcenter"),
        conflict_id="k1",
        resolution="mine wins",
    )
    rejected(
        b,
        InvalidInput,
        "says how the conflict was resolved",
        ev.ConflictResolved,
        coordinator,
        conflict_id="k1",
        resolution=" ",
    )
    b.rec(ev.ConflictResolved, coordinator, conflict_id="k1", resolution="both kept; plan revised")
    assert b.state.conflicts["k1"] is True


def test_a_financing_split_names_known_departments_and_whole_percentages() -> None:
    b = family()
    b.rec(ev.GoalAdded, goal_id="g", text="school every day", owner="children-family")
    b.rec(ev.ActivityAdded, activity_id="a1", goal_id="g", activity_department="children-family", kind="mentor")
    rejected(
        b,
        InvalidInput,
        "whole percentage from 1 to 100",
        ev.FinancingAgreed,
        activity_id="a1",
        shares={"children-family": 120, "jobcenter": -20},
    )
    rejected(
        b,
        RuleViolation,
        "unknown department 'treasury'",
        ev.FinancingAgreed,
        activity_id="a1",
        shares={"children-family": 100},
        paid_by="treasury",
    )
    b.rec(ev.FinancingAgreed, activity_id="a1", shares={"children-family": 100}, granted_by="children-family")
