"""A department is told how much a withdrawal now withholds from it, and since when."""

from __future__ import annotations

from datetime import date

from core import events as ev
from core.withheld import withheld
from tests.core.conftest import DIRECTORY, family


def test_a_withdrawal_withholds_what_the_consent_covered_from_the_moment_it_was_made() -> None:
    b = family({"mother": ("parent", 38)})
    b.join("jobcenter")
    given = b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=date(2099, 1, 1))
    b.contact(note="first")
    b.contact(note="second")
    withdrawal = b.rec(ev.ConsentWithdrawn, consent_id=given.consent_id, reason="changed her mind")
    b.contact(note="after")  # never seen, so not withheld either
    at = b.clock()
    assert withheld(b.state, b.events, "jobcenter", DIRECTORY, at) == (2, withdrawal.occurred_at)
    assert withheld(b.state, b.events, "jobcenter", DIRECTORY, withdrawal.occurred_at) == (2, withdrawal.occurred_at)


def test_nothing_is_withheld_while_the_consent_holds_or_from_a_department_it_never_named() -> None:
    b = family({"mother": ("parent", 38)})
    b.join("jobcenter", "health")
    given = b.consent("mother", ["mother"], ["jobcenter"], ["contact"], valid_until=date(2099, 1, 1))
    b.contact(note="seen")
    assert withheld(b.state, b.events, "jobcenter", DIRECTORY, b.clock()) == (0, None)
    b.rec(ev.ConsentWithdrawn, consent_id=given.consent_id)
    assert withheld(b.state, b.events, "health", DIRECTORY, b.clock()) == (0, None)
    assert withheld(b.state, b.events, "children-family", DIRECTORY, b.clock()) == (0, None)  # its own


def test_a_department_that_is_no_party_is_told_nothing() -> None:
    b = family({"mother": ("parent", 38)})
    assert withheld(b.state, b.events, "jobcenter", DIRECTORY, b.clock()) == (0, None)
