"""What each department may see: parties only (1), consent (2, withdrawal takes effect at
once, before stays visible as of then), legal bases to authorities (3), own records (4)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core import events as ev
from core.case import fold
from core.visibility import all_views, department_view
from tests.core.conftest import DIRECTORY, CaseBuilder, family, worker


def seen(b: CaseBuilder, department: str, at: datetime | None = None) -> dict[str, str] | None:
    """event id -> basis, for what `department` sees at `at` (default: after the last event)."""
    at = at or b.clock.now + timedelta(seconds=1)
    events = [e for e in b.events if e.header.recorded_at <= at]
    view = department_view(fold(b.case_id, events), events, department, DIRECTORY, at)
    return None if view is None else {s.event.event_id: s.basis for s in view}


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
    b.join("jobcenter", "school", "health", "benefits", "addiction")
    return b


def test_a_department_that_is_not_a_party_sees_nothing() -> None:
    b = refugee_family()
    b.contact()
    assert seen(b, "youth-guidance") is None
    b.join("youth-guidance")
    assert seen(b, "youth-guidance") == {}
    b.rec(ev.TeamMemberLeft, member_department="youth-guidance")
    assert seen(b, "youth-guidance") is None


def test_consent_opens_exactly_its_recipients_and_categories() -> None:
    b = refugee_family()
    c = b.consent("mother", ["mother"], ["jobcenter", "school"], ["contact", "plan"])
    visit = b.contact(note="the home visit")
    health_note = b.rec(
        ev.ContactRecorded,
        contact_id="h",
        kind="phone",
        persons=(b.persons["mother"],),
        categories=("contact", "health"),
        note="doctor's letter",
    )
    for dept in ("jobcenter", "school"):
        view = seen(b, dept)
        assert view is not None
        assert view[visit.event_id] == "consent"
        assert view[c.event_id] == "recipient"
        assert health_note.event_id not in view  # health is not covered
    view = seen(b, "health")
    assert view is not None
    assert visit.event_id not in view and c.event_id not in view


def test_a_department_always_sees_what_it_recorded_itself() -> None:
    b = refugee_family()
    own = b.contact(worker("benefits"), note="benefits' own note")
    other = b.contact(note="not for benefits")
    view = seen(b, "benefits")
    assert view == {own.event_id: "own"}
    assert other.event_id not in view


def test_withdrawal_hides_from_that_moment_and_replay_shows_the_past() -> None:
    b = refugee_family()
    c = b.consent("mother", ["mother"], ["jobcenter"], ["plan", "contact"])
    b.rec(ev.GoalAdded, goal_id="g", text="work", owner="jobcenter", persons=(b.persons["mother"],))
    rev2 = b.rec(ev.GoalRevised, goal_id="g", text="work 2", base_revision=1, persons=(b.persons["mother"],))
    before_withdrawal = b.clock.now + timedelta(seconds=1)
    b.rec(ev.ConsentWithdrawn, consent_id=c.consent_id, persons=(b.persons["mother"],))
    rev3 = b.rec(ev.GoalRevised, goal_id="g", text="work 3", base_revision=2, persons=(b.persons["mother"],))
    now = seen(b, "jobcenter")
    assert now is not None
    assert rev2.event_id not in now and rev3.event_id not in now
    then = seen(b, "jobcenter", before_withdrawal)
    assert then is not None and then[rev2.event_id] == "consent"


def test_a_parents_consent_for_a_child_lapses_at_18() -> None:
    b = family({"mother": ("parent", 45), "girl": ("child", 14)})
    b.join("jobcenter")
    b.consent(
        "girl",
        ["mother"],
        ["jobcenter"],
        ["contact"],
        child_view="fine with it",
        valid_until=b.clock.now.date() + timedelta(days=6 * 365),
    )
    visit = b.contact(person="girl")
    assert (seen(b, "jobcenter") or {}).get(visit.event_id) == "consent"
    at_16 = b.clock.now + timedelta(days=2 * 365)
    assert (seen(b, "jobcenter", at_16) or {}).get(visit.event_id) == "consent"
    at_18 = b.clock.now + timedelta(days=4 * 365 + 30)
    assert visit.event_id not in (seen(b, "jobcenter", at_18) or {})
    # From 18 the young person's own consent is what counts.
    own = family({"mother": ("parent", 45), "boy": ("child", 17)})
    own.join("jobcenter")
    own.consent(
        "boy",
        ["mother", "boy"],
        ["jobcenter"],
        ["contact"],
        valid_until=own.clock.now.date() + timedelta(days=700),
    )
    v = own.contact(person="boy")
    assert v.event_id in (seen(own, "jobcenter", own.clock.now + timedelta(days=400)) or {})


def test_a_court_appointed_guardians_consent_for_an_adult_counts() -> None:
    b = family({"man": ("citizen", 40), "guardian": ("guardian", 55)})
    b.join("jobcenter")
    b.consent("man", ["guardian"], ["jobcenter"], ["contact"])
    visit = b.contact(person="man")
    assert (seen(b, "jobcenter") or {}).get(visit.event_id) == "consent"


def test_a_legal_basis_share_shows_earlier_events_to_its_recipient_only() -> None:
    b = refugee_family()
    b.rec(ev.MeetingHeld, meeting_id="ssd", kind="ssd", participants=("children-family", "school"))
    before = b.contact(note="concern noted")
    share = b.rec(
        ev.SharedOnLegalBasis,
        share_id="s",
        basis="serviceloven-49a",
        recipients=("school",),
        share_categories=("contact",),
        reason="early concern",
        meeting_id="ssd",
    )
    after = b.contact(note="after the meeting")
    school = seen(b, "school")
    assert school is not None
    assert school[before.event_id] == "legal-basis"
    assert school[share.event_id] == "recipient"
    assert after.event_id not in school
    assert before.event_id not in (seen(b, "health") or {})


def test_refugee_family_scenario() -> None:
    b = refugee_family()
    consents = [
        b.consent("mother", ["mother"], ["jobcenter", "school"], ["contact", "plan", "family"]),
        b.consent("father", ["father"], ["jobcenter", "school"], ["contact", "plan", "family"]),
    ]
    for child in ("small", "girl", "boy"):
        given_by = ["mother", "boy"] if child == "boy" else ["mother"]
        child_view = "agrees" if child == "girl" else None
        consents.append(b.consent(child, given_by, ["school"], ["contact", "education"], child_view=child_view))
    contacts = [b.contact(person=p) for p in ("mother", "father", "girl")]
    decision = b.rec(
        ev.DecisionMade,
        worker("benefits"),
        decision_id="d",
        legal_basis="aktivloven § 81",
        legal_area="aktivloven",
        kind="allowance",
        considerations="income",
        facts=(contacts[0].event_id,),
        explanation="You receive help.",
    )
    views = all_views(b.case_id, b.events, DIRECTORY, b.clock.now + timedelta(seconds=1))
    assert "health" in views and views["health"] == []
    assert [s.event.event_id for s in views["benefits"]] == [decision.event_id]
    assert {s.event.event_id for s in views["jobcenter"]} >= {
        contacts[0].event_id,
        contacts[1].event_id,
    }
    assert contacts[2].event_id not in {s.event.event_id for s in views["jobcenter"]}
    assert contacts[2].event_id in {s.event.event_id for s in views["school"]}
    grounds = {s.event.event_id: s.grounds for s in views["jobcenter"] if s.basis == "consent"}
    assert grounds[contacts[0].event_id] == (consents[0].consent_id,)
