"""Rules found looser than the law when tried, held now: legal-basis shares only by the
authorities the bases apply to, and an underretning for everyone else; § 49 a counted
per child; the analysis gate by the measure's start date and in the whole of a case a
disability-model department leads; a parent-only consent from before 15 and one lapsed
at 18; a financing share only for a party."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from core import events as ev
from core.audit import UNDERRETNING, exceptions
from core.case_cache import CachedCase
from core.case_view import case_json, judge
from core.errors import RuleViolation, UnknownReference
from core.log import CaseLog
from core.visibility import department_view
from tests.core.conftest import DIRECTORY, TODAY, CaseBuilder, Devices, family, rejected, worker

DROP_IN = worker("drop-in", role="outreach")


def drop_in_case() -> CaseBuilder:
    b = family({"mother": ("parent", 38), "boy": ("child", 9)})
    b.join("drop-in", "school")
    return b


def test_a_drop_in_worker_cannot_share_under_forvaltningsloven_28_or_retsplejeloven_115() -> None:
    b = drop_in_case()
    for basis in ("forvaltningsloven-28", "retsplejeloven-115"):
        rejected(
            b,
            RuleViolation,
            "drop-in is not a public authority: the legal bases of sharing without consent do not apply to it",
            ev.SharedOnLegalBasis,
            DROP_IN,
            share_id=ev.new_id(),
            basis=basis,
            recipients=("school",),
            share_categories=("health",),
            reason="the boy has bruises on his arms",
        )


def test_a_drop_in_worker_reports_a_child_at_risk_and_the_report_reaches_the_authority_alone(
    make_log: Callable[..., CaseLog], devices: Devices
) -> None:
    b = drop_in_case()
    boy = b.persons["boy"]
    report = b.rec(
        ev.ChildAtRiskReported,
        DROP_IN,
        report_id="u1",
        child=boy,
        to_department="children-family",
        reason="the boy has bruises on his arms",
        persons=(boy,),
    )
    at = report.occurred_at + timedelta(minutes=1)
    seen = {d: department_view(b.state, b.events, d, DIRECTORY, at) or [] for d in ("children-family", "school")}
    assert [(s.event.event_id, s.basis) for s in seen["children-family"] if s.event == report] == [
        (report.event_id, "recipient")
    ]
    assert report.event_id not in {s.event.event_id for s in seen["school"]}
    log = make_log()
    devices.push_case(log, b)
    rows = [r.as_json() for r in exceptions(log)]
    assert [(r["basis"], r["recipients"], r["department"], r["reason"]) for r in rows] == [
        (UNDERRETNING, ["children-family"], "drop-in", "the boy has bruises on his arms")
    ]


def test_an_underretning_goes_to_an_authority_of_the_case_about_a_child() -> None:
    b = drop_in_case()
    b.person("father", "parent", 41)
    fields = {"report_id": "u1", "reason": "the boy has bruises on his arms"}
    boy, father = b.persons["boy"], b.persons["father"]
    rejected(
        b,
        RuleViolation,
        "an underretning goes to a public authority; drop-in is not one",
        ev.ChildAtRiskReported,
        DROP_IN,
        child=boy,
        to_department="drop-in",
        persons=(boy,),
        **fields,
    )
    rejected(
        b,
        RuleViolation,
        "an underretning (barnets lov § 133) concerns a child under 18",
        ev.ChildAtRiskReported,
        DROP_IN,
        child=father,
        to_department="children-family",
        persons=(father,),
        **fields,
    )
    rejected(
        b,
        UnknownReference,
        "health is not a party to the case",
        ev.ChildAtRiskReported,
        DROP_IN,
        child=boy,
        to_department="health",
        persons=(boy,),
        **fields,
    )


def test_a_siblings_first_ssd_meeting_in_a_family_case_is_a_first_meeting() -> None:
    b = family({"mother": ("parent", 38), "girl": ("child", 12), "boy": ("child", 8)})
    b.join("school")
    girl, boy = b.persons["girl"], b.persons["boy"]
    for meeting, child in (("ssd1", girl), ("ssd2", girl), ("ssd3", boy)):
        b.rec(ev.MeetingHeld, meeting_id=meeting, kind="ssd", participants=("children-family", "school"))
        b.rec(
            ev.SharedOnLegalBasis,
            share_id=ev.new_id(),
            basis="serviceloven-49a",
            recipients=("school",),
            share_categories=("contact",),
            reason="early concern for the child's school attendance",
            meeting_id=meeting,
            persons=(child,),
        )
    b.rec(ev.MeetingHeld, meeting_id="ssd4", kind="ssd", participants=("children-family", "school"))
    rejected(
        b,
        RuleViolation,
        "§ 49 a allows the first SSD meeting and at most one follow-up meeting for each child",
        ev.SharedOnLegalBasis,
        share_id=ev.new_id(),
        basis="serviceloven-49a",
        recipients=("school",),
        share_categories=("contact",),
        reason="early concern for the girl again",
        meeting_id="ssd4",
        persons=(girl,),
    )


def activity_case(lead: str, department: str) -> CaseBuilder:
    b = CaseBuilder().open(lead=lead)
    b.person("mother", "parent", 38)
    if department != lead:
        b.join(department)
    b.rec(ev.GoalAdded, goal_id="g1", text="a working week", owner=department)
    b.rec(ev.ActivityAdded, activity_id="a1", goal_id="g1", activity_department=department, kind="support")
    return b


def test_a_measure_dated_before_the_analysis_meeting_is_refused() -> None:
    b = activity_case("children-disability", "children-disability")
    b.rec(ev.MeetingHeld, meeting_id="m1", kind="analysis", participants=("children-disability",))
    rejected(
        b,
        RuleViolation,
        f"none was held on or before {(TODAY.date() - timedelta(days=3)).isoformat()}",
        ev.ActivityStarted,
        activity_id="a1",
        on=TODAY.date() - timedelta(days=3),
    )
    b.rec(ev.ActivityStarted, activity_id="a1", on=TODAY.date())


def test_another_departments_measure_waits_for_the_analysis_meeting_in_a_disability_model_case() -> None:
    b = activity_case("adult-social", "jobcenter")
    rejected(
        b,
        RuleViolation,
        "in the disability model no measure may start before the cross-disciplinary analysis meeting",
        ev.ActivityStarted,
        worker("jobcenter"),
        activity_id="a1",
    )
    b.rec(ev.MeetingHeld, meeting_id="m1", kind="analysis", participants=("adult-social", "jobcenter"))
    b.rec(ev.ActivityStarted, worker("jobcenter"), activity_id="a1")


def test_a_parents_consent_from_before_15_covers_nothing_that_happens_from_the_15th_birthday() -> None:
    b = family({"mother": ("parent", 40), "girl": ("child", 14)})
    b.join("school")
    until = TODAY.date() + timedelta(days=700)
    b.consent("girl", ["mother"], ["school"], ["contact"], valid_until=until, child_view="she wants help with maths")
    before = b.contact(person="girl")
    fifteen = b.state.persons[b.persons["girl"]].birthday(15)
    assert fifteen is not None
    after = b.contact(person="girl", occurred_at=datetime.combine(fifteen, time(10), tzinfo=UTC))
    seen = department_view(b.state, b.events, "school", DIRECTORY, after.occurred_at + timedelta(hours=1))
    shown = {s.event.event_id for s in seen or []}
    assert before.event_id in shown
    assert after.event_id not in shown


def test_a_consent_lapsed_at_18_is_not_shown_as_in_force() -> None:
    b = family({"mother": ("parent", 45), "son": ("child", 14)})
    b.join("school", "jobcenter")
    until, wish = TODAY.date() + timedelta(days=2000), "he wants an apprenticeship"
    given = b.consent("son", ["mother", "son"], ["school"], ["contact"], valid_until=until, child_view=wish)
    parents = b.consent("son", ["mother"], ["jobcenter"], ["contact"], valid_until=until, child_view=wish)
    eighteen = b.state.persons[b.persons["son"]].birthday(18)
    assert eighteen is not None
    case = CachedCase(b.case_id, [], list(b.events))
    case.state = b.state
    at = datetime.combine(eighteen, time(12), tzinfo=UTC)
    in_force = {
        d: {c["consent"]: c["in_force"] for c in case_json(view)["consents"]}
        for d in ("school", "jobcenter")
        if (view := judge(case, d, DIRECTORY, at)) is not None
    }
    assert in_force["school"][given.consent_id] is True
    assert in_force["jobcenter"][parents.consent_id] is False


def test_a_department_that_is_not_a_party_gets_no_share_of_a_financing() -> None:
    b = activity_case("children-family", "school")
    rejected(
        b,
        UnknownReference,
        "jobcenter is not a party to the case and cannot take a share of its financing",
        ev.FinancingAgreed,
        activity_id="a1",
        shares={"school": 60, "jobcenter": 40},
    )
    b.join("jobcenter")
    b.rec(ev.FinancingAgreed, activity_id="a1", shares={"school": 60, "jobcenter": 40})
