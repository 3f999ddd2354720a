"""Rule 5: a decision belongs to the department owning its legal area, is recorded by a
caseworker, and states its rules, considerations, explanation and the facts it rests on."""

from __future__ import annotations

from typing import Any

import pytest

from core import events as ev
from core.errors import InvalidInput, RuleViolation, UnknownReference
from tests.core.conftest import CaseBuilder, family, rejected, worker


@pytest.fixture
def b() -> CaseBuilder:
    b = family()
    b.join("jobcenter", "benefits")
    b.contact(kind="meeting", note="income situation reviewed")  # the fact decisions rest on
    return b


def fact(b: CaseBuilder) -> ev.ContactRecorded:
    """The meeting recorded first, the fact a decision rests on."""
    return next(e for e in b.events if isinstance(e, ev.ContactRecorded))


def decision(b: CaseBuilder, **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "decision_id": ev.new_id(),
        "legal_basis": "barnets lov § 32, stk. 1, nr. 3",
        "legal_area": "barnets lov",
        "kind": "grant",
        "considerations": "the family needs support at home",
        "facts": (fact(b).event_id,),
        "explanation": "You get a family consultant twice a week.",
    }
    fields.update(over)
    return fields


def test_the_owning_department_records_a_decision_with_reasons(b: CaseBuilder) -> None:
    e = b.rec(ev.DecisionMade, **decision(b))
    assert b.state.decisions[e.decision_id] == "children-family"


def test_another_department_may_not_decide_in_the_legal_area(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "a decision under barnets lov belongs to children-family; jobcenter may not record it",
        ev.DecisionMade,
        worker("jobcenter"),
        **decision(b),
    )


def test_benefits_decides_under_its_own_law(b: CaseBuilder) -> None:
    b.rec(
        ev.DecisionMade,
        worker("benefits"),
        **decision(
            b,
            legal_basis="aktivloven § 81",
            legal_area="aktivloven",
            kind="one-off-payment",
            amount=150000,
        ),
    )
    rejected(
        b,
        RuleViolation,
        "a decision under aktivloven belongs to benefits",
        ev.DecisionMade,
        **decision(b, legal_basis="aktivloven § 81", legal_area="aktivloven"),
    )


def test_a_legal_basis_outside_the_delegation_plan_is_refused(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "the legal basis 'straffeloven § 1' is not in the delegation plan",
        ev.DecisionMade,
        **decision(b, legal_basis="straffeloven § 1"),
    )


def test_the_legal_area_must_match_the_basis(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "the decision's legal area must be barnets lov",
        ev.DecisionMade,
        **decision(b, legal_area="barnets lov § 32"),
    )


def test_only_a_caseworker_or_coordinator_decides(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "only a caseworker (or the coordinator) records a decision",
        ev.DecisionMade,
        worker("children-family", role="outreach"),
        **decision(b),
    )
    b.rec(ev.DecisionMade, worker("children-family", role="coordinator"), **decision(b))


def test_a_decision_gives_its_reasons(b: CaseBuilder) -> None:
    rejected(
        b,
        RuleViolation,
        "a decision states its main considerations (duty to give reasons)",
        ev.DecisionMade,
        **decision(b, considerations=" "),
    )
    rejected(
        b,
        RuleViolation,
        "a decision carries a plain-language explanation",
        ev.DecisionMade,
        **decision(b, explanation=""),
    )
    rejected(
        b,
        RuleViolation,
        "a decision names the recorded facts it rests on",
        ev.DecisionMade,
        **decision(b, facts=()),
    )
    rejected(
        b,
        UnknownReference,
        "the fact not-an-event is not an earlier event of case",
        ev.DecisionMade,
        **decision(b, facts=("not-an-event",)),
    )
    rejected(
        b,
        InvalidInput,
        "a decision is one of grant, refusal",
        ev.DecisionMade,
        **decision(b, kind="pardon"),
    )
