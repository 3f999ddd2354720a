"""Property: for random histories of contacts, consents, withdrawals and legal-basis
shares, what a department view shows (and on which basis) equals a plain, independent
reading of rules 1 to 4 of docs/domain.md, at every moment of the history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import events as ev
from core.case import fold
from core.visibility import department_view
from tests.core.conftest import DIRECTORY, family, worker

PERSONS = ("mother", "father")
DEPARTMENTS = ("jobcenter", "school", "housing-social", "benefits")
AUTHORITIES = ("jobcenter", "school", "benefits")
CATEGORIES = ("contact", "plan", "family", "finances", "health")
CONSENTABLE = ("contact", "plan", "family", "finances")  # no special category: no one-year limit


def subset(xs: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(xs), min_size=1, max_size=len(xs), unique=True)


actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("contact"),
            st.sampled_from(PERSONS),
            subset(CATEGORIES),
            st.sampled_from(("children-family", *DEPARTMENTS)),
        ),
        st.tuples(st.just("consent"), st.sampled_from(PERSONS), subset(DEPARTMENTS), subset(CONSENTABLE)),
        st.tuples(st.just("withdraw"), st.integers(0, 5)),
        st.tuples(st.just("share"), subset(AUTHORITIES), subset(CATEGORIES)),
    ),
    max_size=14,
)


def expected(events: list[ev.CaseEvent], department: str, at: datetime) -> dict[str, str]:
    """An independent reading of the rules: event id -> basis."""
    consents: dict[str, Any] = {}
    for e in events:
        if isinstance(e, ev.ConsentGiven):
            consents[e.consent_id] = {"e": e, "withdrawn": None}
        elif isinstance(e, ev.ConsentWithdrawn):
            consents[e.consent_id]["withdrawn"] = e.occurred_at
    active = [
        c["e"]
        for c in consents.values()
        if department in c["e"].recipients
        and c["e"].occurred_at <= at
        and (c["withdrawn"] is None or at < c["withdrawn"])
        and at.date() <= c["e"].valid_until
    ]
    shares = [
        (i, e)
        for i, e in enumerate(events)
        if isinstance(e, ev.SharedOnLegalBasis) and department in e.recipients and e.occurred_at <= at
    ]
    out: dict[str, str] = {}
    for i, e in enumerate(events):
        if e.department == department:
            out[e.event_id] = "own"
        elif isinstance(e, ev.ConsentGiven | ev.SharedOnLegalBasis):
            if department in e.recipients:
                out[e.event_id] = "recipient"
        elif isinstance(e, ev.ConsentWithdrawn):
            if department in consents[e.consent_id]["e"].recipients:
                out[e.event_id] = "recipient"
        elif e.categories and all(
            set(e.categories) <= {c for k in active if p in (None, k.subject) for c in k.consent_categories}
            for p in e.persons or (None,)  # an event about no one in particular: any consent
        ):
            out[e.event_id] = "consent"
        elif (
            e.categories
            and department in AUTHORITIES
            and any(j > i and set(e.categories) <= set(s.share_categories) for j, s in shares)
        ):
            out[e.event_id] = "legal-basis"
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions, st.data())
def test_department_view_equals_the_rules(steps: list[tuple[Any, ...]], data: st.DataObject) -> None:
    b = family({"mother": ("parent", 38), "father": ("parent", 41)})
    b.join(*DEPARTMENTS)
    setup = len(b.events)
    given_ids: list[str] = []
    for step in steps:
        if step[0] == "contact":
            _, person, cats, dept = step
            b.contact(worker(dept), person=person, categories=tuple(cats))
        elif step[0] == "consent":
            _, person, recipients, cats = step
            c = b.consent(person, [person], recipients, cats)
            given_ids.append(c.consent_id)
        elif step[0] == "withdraw":
            if given_ids:
                cid = given_ids[step[1] % len(given_ids)]
                if b.state.consents[cid].withdrawn_at is None:
                    b.rec(ev.ConsentWithdrawn, consent_id=cid)
        else:
            _, recipients, cats = step
            b.rec(
                ev.SharedOnLegalBasis,
                share_id=ev.new_id(),
                basis="forvaltningsloven-28",
                recipients=tuple(recipients),
                share_categories=tuple(cats),
                reason="needed for a decision",
            )
    moments = [e.header.recorded_at for e in b.events[setup - 1 :]]
    at = data.draw(st.sampled_from(moments)) + timedelta(seconds=1)
    held = [e for e in b.events if e.header.recorded_at <= at]
    state = fold(b.case_id, held)
    for department in DEPARTMENTS:
        view = department_view(state, held, department, DIRECTORY, at)
        assert view is not None
        assert {s.event.event_id: s.basis for s in view} == expected(held, department, at), department
    assert department_view(state, held, "health", DIRECTORY, at) is None
