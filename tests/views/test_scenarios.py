"""Scenarios 1, 3 and 4 of docs/domain.md through the log: recorded on laptops, appended to the
server's log, then read through the department views and replayed by an auditor."""

from __future__ import annotations

from datetime import timedelta

from core import events as ev
from core.audit import replay
from core.case_index import department_cases
from core.case_view import DepartmentCase, department_case
from tests.core.conftest import DIRECTORY, TODAY, CaseBuilder, family, worker
from tests.views.conftest import World


def ids(view: DepartmentCase | None) -> set[str]:
    assert view is not None
    return {s.event.event_id for s in view.seen}


def refugee_family() -> CaseBuilder:
    b = family(
        {
            "mother": ("parent", 38),
            "father": ("parent", 41),
            "small": ("child", 8),
            "girl": ("child", 12),
            "boy": ("child", 16),
        }
    )
    b.join("jobcenter", "school", "health", "benefits", "housing-social")
    return b


def test_refugee_family(world: World) -> None:
    b = refugee_family()
    consent = b.consent("mother", ["mother"], ["jobcenter", "school", "children-family"], ["contact", "plan"])
    visit = b.contact(note="home visit, the family is settling in")
    child = b.consent("girl", ["mother"], ["school"], ["contact"], child_view="agrees")
    girl_visit = b.contact(person="girl", note="the girl likes school")
    decision = b.rec(
        ev.DecisionMade,
        worker("benefits"),
        decision_id="d1",
        legal_basis="aktivloven § 81",
        legal_area="aktivloven",
        kind="allowance",
        considerations="income below the limit",
        facts=(visit.event_id,),
        explanation="You receive help with rent.",
    )
    world.push(b)
    world.index.catch_up()
    at = world.now

    assert [r.case_id for r in department_cases(world.log, "health")] == [b.case_id]
    assert department_cases(world.log, "youth-guidance") == []
    health = department_case(world.cache, b.case_id, "health", DIRECTORY, at)
    assert health is not None and health.seen == []
    assert ids(department_case(world.cache, b.case_id, "benefits", DIRECTORY, at)) == {decision.event_id}
    jobcenter = department_case(world.cache, b.case_id, "jobcenter", DIRECTORY, at)
    assert visit.event_id in ids(jobcenter) and girl_visit.event_id not in ids(jobcenter)
    assert girl_visit.event_id in ids(department_case(world.cache, b.case_id, "school", DIRECTORY, at))
    assert department_case(world.cache, b.case_id, "youth-guidance", DIRECTORY, at) is None
    housing = department_case(world.cache, b.case_id, "housing-social", DIRECTORY, at)
    assert housing is not None and housing.seen == []

    audit = replay(world.log, DIRECTORY, b.case_id, at)
    grounds = {(d, s.event.event_id): (s.basis, s.grounds) for d, v in audit.views.items() for s in v}
    assert grounds[("jobcenter", visit.event_id)] == ("consent", (consent.consent_id,))
    assert grounds[("school", girl_visit.event_id)] == ("consent", (child.consent_id,))
    assert grounds[("benefits", decision.event_id)] == ("own", ())
    assert audit.views["health"] == []


def test_withdrawal_takes_effect_on_the_next_read_and_replay_shows_the_past(world: World) -> None:
    b = family({"citizen": ("citizen", 34)})
    b.lead = "children-family"
    b.join("jobcenter")
    c = b.consent("citizen", ["citizen"], ["jobcenter"], ["plan", "contact"])
    goal = b.rec(
        ev.GoalAdded, goal_id="g1", text="find a flat", owner="children-family", persons=(b.persons["citizen"],)
    )
    b.rec(
        ev.GoalRevised, goal_id="g1", text="find a flat near school", base_revision=1, persons=(b.persons["citizen"],)
    )
    world.push(b)
    before = world.now
    b.clock.now = TODAY + timedelta(days=2)
    withdraw = b.rec(ev.ConsentWithdrawn, worker("children-family"), consent_id=c.consent_id)
    rev3 = b.rec(
        ev.GoalRevised, goal_id="g1", text="a flat and a job", base_revision=2, persons=(b.persons["citizen"],)
    )
    world.push(b)
    now = world.now

    view = department_case(world.cache, b.case_id, "jobcenter", DIRECTORY, now)
    assert view is not None
    assert rev3.event_id not in ids(view) and goal.event_id not in ids(view)
    assert withdraw.event_id in ids(view)  # the recipient learns of the withdrawal
    assert view.partial.goals == {}

    then = replay(world.log, DIRECTORY, b.case_id, before + timedelta(days=1))
    assert rev3.event_id not in {e.event_id for e in then.events}
    seen_then = {s.event.event_id for s in then.views["jobcenter"]}
    assert goal.event_id in seen_then
    assert then.state.goals["g1"].revision == 2


def test_turning_18_moves_the_case_and_the_young_persons_consent_replaces_the_parents(world: World) -> None:
    b = family({"mother": ("parent", 44), "youth": ("child", 14)})
    b.join("school")
    b.consent(
        "youth",
        ["mother"],
        ["school"],
        ["contact"],
        child_view="agrees",
        valid_until=TODAY.date() + timedelta(days=5 * 365),
    )
    early = b.contact(person="youth", note="a talk at school")
    for years, kind in ((2, "statutory-16"), (3.5, "statutory-17.5"), (4, "statutory-18")):
        b.clock.now = TODAY + timedelta(days=int(years * 365) + 2)
        b.rec(
            ev.MeetingHeld, meeting_id=kind, kind=kind, participants=("children-family",), persons=(b.persons["youth"],)
        )
    world.push(b)
    young = department_case(world.cache, b.case_id, "school", DIRECTORY, TODAY + timedelta(days=1))
    assert early.event_id in ids(young)
    eighteen = TODAY + timedelta(days=4 * 365 + 10)
    # The parents' consent lapses when the youth turns 18.
    assert early.event_id not in ids(department_case(world.cache, b.case_id, "school", DIRECTORY, eighteen))

    b.clock.now = eighteen
    b.rec(ev.CaseTransferred, from_department="children-family", to_department="adult-social", reason="turned 18")
    own = b.consent(
        "youth",
        ["youth"],
        ["school", "adult-social"],
        ["contact", "plan"],
        valid_until=eighteen.date() + timedelta(days=180),
    )
    world.push(b)
    world.index.catch_up()
    later = world.now
    assert b.case_id in {r.case_id for r in department_cases(world.log, "adult-social")}
    adult = department_case(world.cache, b.case_id, "adult-social", DIRECTORY, later)
    assert adult is not None and adult.lead == "adult-social"
    assert early.event_id in ids(adult)  # the whole history, under the young person's own consent
    school = department_case(world.cache, b.case_id, "school", DIRECTORY, later)
    grounds = {s.event.event_id: s.grounds for s in school.seen} if school else {}
    assert grounds[early.event_id] == (own.consent_id,)
    meetings = [e for e in replay(world.log, DIRECTORY, b.case_id, later).events if isinstance(e, ev.MeetingHeld)]
    assert [m.kind for m in meetings] == ["statutory-16", "statutory-17.5", "statutory-18"]
