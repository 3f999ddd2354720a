"""Rule 3: sharing without consent only on a named legal basis, to authorities, with a
reason; § 49 a tied to an SSD meeting (and one follow-up); § 115 never for investigation."""

from __future__ import annotations

from typing import Any

import pytest

from core import events as ev
from core.errors import InvalidInput, RuleViolation
from tests.core.conftest import CaseBuilder, family, rejected


@pytest.fixture
def b() -> CaseBuilder:
    b = family({"mother": ("parent", 38), "girl": ("child", 12)})
    b.join("school", "health", "housing-social")
    b.rec(ev.MeetingHeld, meeting_id="ssd1", kind="ssd", participants=("children-family", "school"))
    return b


def share(**over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "share_id": ev.new_id(),
        "basis": "serviceloven-49a",
        "recipients": ("school",),
        "share_categories": ("contact",),
        "reason": "early concern for the girl's school attendance",
        "meeting_id": "ssd1",
    }
    fields.update(over)
    return fields


def test_a_share_under_49a_at_the_ssd_meeting(b: CaseBuilder) -> None:
    e = b.rec(ev.SharedOnLegalBasis, **share())
    s = b.state.shares[e.share_id]
    assert (s.basis, s.recipients, s.meeting_id) == ("serviceloven-49a", ("school",), "ssd1")


def test_a_share_needs_a_known_legal_basis(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "sharing without consent needs a legal basis: one of serviceloven-49a",
        ev.SharedOnLegalBasis,
        **share(basis="gut feeling"),
    )


def test_non_authorities_receive_on_consent_alone(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "housing-social is not a public authority and receives information on consent alone",
        ev.SharedOnLegalBasis,
        **share(basis="forvaltningsloven-28", recipients=("housing-social",), meeting_id=None),
    )


def test_a_share_states_recipients_categories_and_reason(b: CaseBuilder) -> None:
    rejected(
        b,
        InvalidInput,
        "a share names at least one receiving department",
        ev.SharedOnLegalBasis,
        **share(recipients=()),
    )
    rejected(
        b,
        InvalidInput,
        "a share names the categories of information it covers",
        ev.SharedOnLegalBasis,
        **share(share_categories=()),
    )
    rejected(
        b,
        RuleViolation,
        "a share on a legal basis must state its reason",
        ev.SharedOnLegalBasis,
        **share(reason=" "),
    )


def test_49a_is_tied_to_an_ssd_meeting_and_its_participants(b: CaseBuilder) -> None:
    b.rec(ev.MeetingHeld, meeting_id="st", kind="status", participants=("school",))
    rejected(
        b,
        RuleViolation,
        "a share under § 49 a is tied to an SSD meeting held in the case",
        ev.SharedOnLegalBasis,
        **share(meeting_id="st"),
    )
    rejected(
        b,
        RuleViolation,
        "a share under § 49 a is tied to an SSD meeting",
        ev.SharedOnLegalBasis,
        **share(meeting_id=None),
    )
    rejected(
        b,
        RuleViolation,
        "a share under § 49 a is visible only to the SSD meeting's participants",
        ev.SharedOnLegalBasis,
        **share(recipients=("school", "health")),
    )


def test_49a_allows_one_follow_up_meeting(b: CaseBuilder) -> None:
    b.rec(ev.SharedOnLegalBasis, **share())
    for m in ("ssd2", "ssd3"):
        b.rec(ev.MeetingHeld, meeting_id=m, kind="ssd", participants=("children-family", "school"))
    b.rec(ev.SharedOnLegalBasis, **share(meeting_id="ssd2"))
    b.rec(ev.SharedOnLegalBasis, **share(meeting_id="ssd1"))  # same meetings again are fine
    rejected(
        b,
        RuleViolation,
        "§ 49 a allows the first SSD meeting and at most one follow-up meeting",
        ev.SharedOnLegalBasis,
        **share(meeting_id="ssd3"),
    )


def test_115_is_for_prevention_never_investigation(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "information shared under § 115 is for crime prevention, never for investigation",
        ev.SharedOnLegalBasis,
        **share(basis="retsplejeloven-115", meeting_id=None, purpose="investigation"),
    )
    b.rec(ev.SharedOnLegalBasis, **share(basis="retsplejeloven-115", meeting_id=None))


def test_28_to_an_authority(b: CaseBuilder) -> None:
    b.rec(
        ev.SharedOnLegalBasis,
        **share(basis="forvaltningsloven-28", recipients=("health",), meeting_id=None),
    )
