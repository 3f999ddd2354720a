"""Rule 2: consent names subject, giver, recipients, categories, purpose and period; who
may give it depends on the subject's age; it can be withdrawn once."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import TypedDict, Unpack

import pytest

from core import events as ev
from core.errors import InvalidInput, RuleViolation, UnknownReference
from tests.core.conftest import TODAY, CaseBuilder, family, rejected

AGES = {
    "mother": ("parent", 38),
    "father": ("parent", 41),
    "small": ("child", 8),
    "girl": ("child", 12),
    "boy": ("child", 16),
    "adult": ("citizen", 19),
}


@pytest.fixture
def b() -> CaseBuilder:
    b = family(AGES)
    b.join("jobcenter", "school", "health")
    return b


class ConsentFields(TypedDict, total=False):
    """The fields of a `ConsentGiven` a test sets, by their names in the event."""

    consent_id: str
    subject: str
    given_by: tuple[str, ...]
    recipients: tuple[str, ...]
    consent_categories: tuple[str, ...]
    purpose: str
    valid_until: date
    child_view: str | None
    text: str
    text_sha256: str
    persons: tuple[str, ...]


def consent_fields(
    b: CaseBuilder, subject: str, given_by: tuple[str, ...], /, **over: Unpack[ConsentFields]
) -> ConsentFields:
    fields: ConsentFields = {
        "consent_id": ev.new_id(),
        "subject": b.persons[subject],
        "given_by": tuple(b.persons[g] for g in given_by),
        "recipients": ("jobcenter",),
        "consent_categories": ("contact", "plan"),
        "purpose": "coordinating the family's shared plan",
        "valid_until": TODAY.date() + timedelta(days=180),
        "persons": (b.persons[subject],),
    }
    fields.update(over)
    return fields


def test_an_adult_gives_their_own_consent(b: CaseBuilder) -> None:
    e = b.rec(ev.ConsentGiven, **consent_fields(b, "mother", ("mother",)))
    assert isinstance(e, ev.ConsentGiven)
    c = b.state.consents[e.consent_id]
    assert c.recipients == ("jobcenter",)
    assert c.recorded_by == "w-children-family"
    assert c.withdrawn_at is None


def test_the_text_shown_to_the_citizen_is_kept_only_with_its_own_hash(b: CaseBuilder) -> None:
    text = "I consent to the jobcenter receiving my contact information and plan."
    digest = hashlib.sha256(text.encode()).hexdigest()
    for wrong in ({"text": text}, {"text_sha256": digest}, {"text": text + " ", "text_sha256": digest}):
        rejected(
            b,
            RuleViolation,
            "the text shown to the citizen does not match its SHA-256",
            ev.ConsentGiven,
            **consent_fields(b, "mother", ("mother",), **wrong),  # type: ignore[arg-type]
        )
    e = b.rec(ev.ConsentGiven, **consent_fields(b, "mother", ("mother",), text=text, text_sha256=digest))
    assert isinstance(e, ev.ConsentGiven) and e.text == text and e.text_sha256 == digest


def test_an_adult_consent_given_by_someone_else_is_refused(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "an adult gives their own consent",
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("father",)),
    )


def test_a_child_under_10_needs_the_custody_holder(b: CaseBuilder) -> None:
    b.rec(ev.ConsentGiven, **consent_fields(b, "small", ("mother",)))
    rejected(
        b,
        RuleViolation,
        "consent for a child under 15 is given by a custody holder",
        ev.ConsentGiven,
        **consent_fields(b, "small", ("small",)),
    )


def test_a_child_from_10_has_their_own_view_recorded(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "a child from 10 must have their own view recorded",
        ev.ConsentGiven,
        **consent_fields(b, "girl", ("mother",)),
    )
    rejected(
        b,
        RuleViolation,
        "a child from 10 must have their own view recorded",
        ev.ConsentGiven,
        **consent_fields(b, "girl", ("mother",), child_view="   "),
    )
    b.rec(ev.ConsentGiven, **consent_fields(b, "girl", ("mother",), child_view="wants school to know"))


def test_a_young_person_from_15_consents_together_with_the_custody_holder(b: CaseBuilder) -> None:
    message = "consent for a young person from 15 needs both the custody holder and the young person"
    rejected(b, RuleViolation, message, ev.ConsentGiven, **consent_fields(b, "boy", ("mother",)))
    rejected(b, RuleViolation, message, ev.ConsentGiven, **consent_fields(b, "boy", ("boy",)))
    b.rec(ev.ConsentGiven, **consent_fields(b, "boy", ("mother", "boy")))


def test_a_vague_purpose_is_refused(b: CaseBuilder) -> None:
    for purpose in ("all relevant information", "Alle relevante oplysninger.", "help", ""):
        rejected(
            b,
            RuleViolation,
            "a consent must state a specific purpose",
            ev.ConsentGiven,
            **consent_fields(b, "mother", ("mother",), purpose=purpose),
        )
    rejected(
        b,
        RuleViolation,
        "in at least 10 characters",
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("mother",), purpose="job plan"),
    )


def test_valid_until_cannot_be_in_the_past(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "valid-until date cannot be in the past",
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("mother",), valid_until=TODAY.date() - timedelta(days=1)),
    )


def test_a_consent_without_valid_until_cannot_be_made() -> None:
    b = family(AGES)
    fields = consent_fields(b, "mother", ("mother",))
    del fields["valid_until"]
    with pytest.raises(TypeError, match="valid_until"):
        b.rec(ev.ConsentGiven, **fields)
    assert b.state.consents == {}


def test_health_consent_lapses_within_one_year(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "consent for health information must expire within one year of 2026-03-02",
        ev.ConsentGiven,
        **consent_fields(
            b,
            "mother",
            ("mother",),
            consent_categories=("health",),
            valid_until=TODAY.date() + timedelta(days=400),
        ),
    )
    rejected(
        b,
        RuleViolation,
        "consent for addiction and health information must expire within one year",
        ev.ConsentGiven,
        **consent_fields(
            b,
            "mother",
            ("mother",),
            consent_categories=("health", "addiction"),
            valid_until=TODAY.date() + timedelta(days=400),
        ),
    )
    b.rec(
        ev.ConsentGiven,
        **consent_fields(
            b,
            "mother",
            ("mother",),
            consent_categories=("health",),
            valid_until=TODAY.date().replace(year=2027),
        ),
    )
    # Other categories may run longer.
    b.rec(
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("mother",), valid_until=TODAY.date() + timedelta(days=700)),
    )


def test_a_consent_names_recipients_and_known_categories(b: CaseBuilder) -> None:
    rejected(
        b,
        InvalidInput,
        "a consent names at least one receiving department",
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("mother",), recipients=()),
    )
    rejected(
        b,
        InvalidInput,
        "a consent names the categories of information it covers",
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("mother",), consent_categories=()),
    )
    rejected(
        b,
        InvalidInput,
        "unknown information categories in the consent gossip",
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("mother",), consent_categories=("contact", "gossip")),
    )
    rejected(
        b,
        RuleViolation,
        "unknown department 'tax-office'",
        ev.ConsentGiven,
        **consent_fields(b, "mother", ("mother",), recipients=("tax-office",)),
    )


def test_subject_and_givers_are_persons_of_the_case(b: CaseBuilder) -> None:
    fields = consent_fields(b, "mother", ("mother",))
    rejected(
        b,
        UnknownReference,
        "the consent's subject nobody is not part of the case",
        ev.ConsentGiven,
        **(fields | {"subject": "nobody", "persons": ()}),
    )
    rejected(
        b,
        UnknownReference,
        "a consent is given by persons of the case",
        ev.ConsentGiven,
        **(fields | {"given_by": ("stranger",)}),
    )
    rejected(
        b,
        UnknownReference,
        "a consent is given by persons of the case",
        ev.ConsentGiven,
        **(fields | {"given_by": ()}),
    )


def test_the_same_consent_cannot_be_given_twice(b: CaseBuilder) -> None:
    fields = consent_fields(b, "mother", ("mother",))
    b.rec(ev.ConsentGiven, **fields)
    rejected(
        b,
        RuleViolation,
        f"consent {fields['consent_id']} already exists",
        ev.ConsentGiven,
        **fields,
    )


def test_withdrawal_is_recorded_once(b: CaseBuilder) -> None:
    e = b.consent("mother", ["mother"], ["jobcenter"], ["contact"])
    assert isinstance(e, ev.ConsentGiven)
    b.rec(ev.ConsentWithdrawn, consent_id=e.consent_id, reason="changed her mind")
    assert b.state.consents[e.consent_id].withdrawn_at is not None
    rejected(
        b,
        RuleViolation,
        f"consent {e.consent_id} was already withdrawn",
        ev.ConsentWithdrawn,
        consent_id=e.consent_id,
    )
    rejected(
        b,
        UnknownReference,
        "consent nope is not part of case",
        ev.ConsentWithdrawn,
        consent_id="nope",
    )


def test_a_consent_for_a_person_without_birth_date_comes_from_them_or_custody() -> None:
    b = family({"mother": ("parent", 38), "unknown": ("child", None)})
    b.rec(ev.ConsentGiven, **consent_fields(b, "unknown", ("mother",)))
    b.rec(ev.ConsentGiven, **consent_fields(b, "unknown", ("unknown",)))
    b2 = family({"a": ("citizen", None), "b": ("citizen", None)})
    rejected(
        b2,
        RuleViolation,
        "a consent is given by its subject or by a custody holder",
        ev.ConsentGiven,
        **consent_fields(b2, "a", ("b",)),
    )
