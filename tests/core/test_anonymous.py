"""Anonymous tallies, pseudonymous cases and their link to an identified case: the rules
when recording, and what each department sees of a linked history (`core.linked`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from core import events as ev
from core.case import fold
from core.errors import InvalidInput, RuleViolation, UnknownReference
from core.linked import linked_view
from tests.core.conftest import TODAY, CaseBuilder, family, rejected, worker

DROP_IN = worker("drop-in", "outreach")


def pseudonymous() -> CaseBuilder:
    b = CaseBuilder().open("pseudonymous", "drop-in")
    b.person("visitor", "citizen", None, name="Blue jacket")
    b.contact(DROP_IN, person="visitor", kind="drop-in", challenges=("finances",), note="rent arrears")
    b.contact(DROP_IN, person="visitor", kind="drop-in", categories=("health",), note="sleeps badly")
    return b


def identified(linked: CaseBuilder, recipients: tuple[str, ...] = ("drop-in", "benefits")) -> CaseBuilder:
    b = CaseBuilder(clock=linked.clock).open("citizen", "benefits")
    b.person("citizen", "citizen", 40)
    b.join("drop-in", "jobcenter")
    consent = b.consent("citizen", ["citizen"], recipients, ["contact"])
    b.rec(
        ev.CaseLinked,
        worker("drop-in", "outreach"),
        link_id=ev.new_id(),
        linked_case=linked.case_id,
        linked_person=next(iter(linked.persons.values())),
        person_id=b.persons["citizen"],
        consent_id=consent.consent_id,
        persons=(b.persons["citizen"],),
    )
    return b


def test_a_tally_names_nobody_and_counts_known_challenges_in_a_tally_case() -> None:
    b = CaseBuilder().open("tally", "drop-in")
    b.rec(ev.ContactsTallied, DROP_IN, day=TODAY.date(), counts={"finances": 3, "housing": 1})
    rejected(b, InvalidInput, "not free text", ev.ContactsTallied, DROP_IN, day=TODAY.date(), counts={"Ib": 1})
    rejected(b, InvalidInput, "whole number", ev.ContactsTallied, DROP_IN, day=TODAY.date(), counts={"job": 0})
    rejected(b, InvalidInput, "later one", ev.ContactsTallied, DROP_IN, day=date(2027, 1, 1), counts={"job": 2})
    rejected(b, RuleViolation, "names no person", ev.PersonAdded, DROP_IN, person_id="p", role="citizen", name="Ib")
    rejected(family(), RuleViolation, "not a tally case", ev.ContactsTallied, day=TODAY.date(), counts={"job": 2})


def test_a_pseudonymous_case_refuses_a_cpr_number_a_birth_date_and_a_second_person() -> None:
    b = CaseBuilder().open("pseudonymous", "drop-in")
    rejected(
        b, RuleViolation, "pseudonymous", ev.PersonAdded, person_id="p", role="citizen", name="X", cpr="0101901234"
    )
    rejected(
        b,
        RuleViolation,
        "pseudonymous",
        ev.PersonAdded,
        person_id="p",
        role="citizen",
        name="X",
        birth_date=date(1990, 1, 1),
    )
    b.person("visitor", "citizen", None, name="Blue jacket")
    rejected(b, RuleViolation, "one person", ev.PersonAdded, person_id="q", role="citizen", name="Y")


def test_a_link_needs_a_consent_in_force_of_the_person_linked() -> None:
    b = family()
    consent = b.consent("mother", ["mother"], ["children-family"], ["contact"])
    father = b.persons["father"]
    link: dict[str, Any] = {"link_id": "l1", "linked_case": ev.new_id(), "linked_person": "v", "person_id": father}
    rejected(b, RuleViolation, "subject is the person linked", ev.CaseLinked, consent_id=consent.consent_id, **link)
    rejected(b, UnknownReference, "consent", ev.CaseLinked, consent_id="nope", **link)
    rejected(
        b,
        RuleViolation,
        "itself",
        ev.CaseLinked,
        **{**link, "linked_case": b.case_id, "consent_id": consent.consent_id},
    )


def test_the_departments_a_consent_names_see_the_linked_history_it_covers_and_no_more() -> None:
    anon = pseudonymous()
    b = identified(anon)
    state, histories = fold(b.case_id, b.events), {anon.case_id: anon.events}
    at = b.clock.now
    benefits = linked_view(state, histories, "benefits", at) or []
    assert [(s.basis, s.event.payload()["note"]) for s in benefits] == [("consent", "rent arrears")]
    drop_in = linked_view(state, histories, "drop-in", at) or []
    assert [s.basis for s in drop_in] == ["own", "own"]
    assert linked_view(state, histories, "jobcenter", at) == []  # a party, but not named
    assert linked_view(state, histories, "health", at) is None  # not a party


def test_a_withdrawn_consent_hides_the_linked_history_again() -> None:
    anon = pseudonymous()
    b = identified(anon)
    link = next(e for e in b.events if isinstance(e, ev.CaseLinked))
    b.rec(ev.ConsentWithdrawn, consent_id=link.consent_id, persons=link.persons)
    assert linked_view(fold(b.case_id, b.events), {anon.case_id: anon.events}, "benefits", b.clock.now) == []


def test_naming_a_case_the_linking_department_was_never_party_to_shows_nothing() -> None:
    other = family()
    other.contact(note="a family's private matter")
    b = identified(other)  # linked by drop-in, which is no party to that family case
    histories = {other.case_id: other.events}
    assert linked_view(fold(b.case_id, b.events), histories, "benefits", b.clock.now) == []
