"""What each department may see of a case at a given moment, and on which grounds.

This is the pure heart of every department view and every audit replay: given a case's
events (those the log held at the moment) and the moment, it answers, per event, whether
a department may see it and why:

- ``own``: the department recorded it itself (rule 4);
- ``consent``: active consents to the department cover every category of the event for
  every person it concerns (rule 2); a custody holder's consent lapses when its subject
  turns 18, from then only the young person's own consent counts, and one given for a
  child under 15 covers nothing that happens from the child's 15th birthday;
- ``legal-basis``: a share under serviceloven § 49 a, retsplejeloven § 115 or
  forvaltningsloven § 28 disclosed it to the department (rule 3; authorities only);
- ``recipient``: the event is a consent, share or underretning naming the department as recipient, or
  a conflict the department is involved in.

Only parties to the case see anything (rule 1); an erased case shows nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from core import events as ev
from core.case import CaseState, Consent, fold
from core.departments import Directory
from core.records import Record


class Seen(Record, kw_only=False):
    """One event a department may see, with the grounds (``basis``) and what grants it."""

    seq: int
    event: ev.CaseEvent
    basis: str
    grounds: tuple[str, ...] = ()


def _consents_for(state: CaseState, department: str, at: datetime) -> list[Consent]:
    active = []
    for whole in state.consents.values():
        c = whole.as_of(at)  # less what a partial withdrawal took off by then
        if department in c.recipients and in_force(state, c, at):
            active.append(c)
    return active


def in_force(state: CaseState, c: Consent, at: datetime) -> bool:
    """Whether a consent is in force at `at`: given, not withdrawn, not expired, and not
    lapsed because the child it was given for by custody holders alone turned 18."""
    return c.active_at(at) and not _lapsed_at_18(state, c, at)


def covers_until(state: CaseState, c: Consent) -> date | None:
    """The day from which a consent covers no new information, or None: a consent given
    by custody holders alone for a child under 15 covers nothing that happens from the
    child's 15th birthday, when the young person's own consent is needed too (rule 2)."""
    subject = state.persons.get(c.subject)
    if subject is None or c.subject in c.given_by:
        return None
    age_then = subject.age_on(c.given_at.date())
    return subject.birthday(15) if age_then is not None and age_then < 15 else None


def active_consents(state: CaseState, department: str, at: datetime) -> list[Consent]:
    """The consents in force at `at` that name `department` as a recipient (a custody
    holder's consent lapsed at 18 excluded): what a linked history is judged by too."""
    return _consents_for(state, department, at)


def _lapsed_at_18(state: CaseState, c: Consent, at: datetime) -> bool:
    """A consent given for a child by custody holders alone lapses when the child turns 18:
    from then the young person's own consent is what counts. A consent the young person
    gave (alone or with a parent), or one given for an adult by a court-appointed
    guardian, does not lapse."""
    subject = state.persons.get(c.subject)
    if subject is None or c.subject in c.given_by:
        return False
    age_then = subject.age_on(c.given_at.date())
    age_now = subject.age_on(at.date())
    return age_then is not None and age_now is not None and age_then < 18 <= age_now


def _covered_by_consent(state: CaseState, e: ev.CaseEvent, consents: list[Consent]) -> tuple[str, ...] | None:
    needed = set(e.categories)
    if not needed:
        return None
    day = e.occurred_at.date()
    consents = [c for c in consents if (until := covers_until(state, c)) is None or day < until]
    grounds: list[str] = []
    for person in e.persons or (None,):
        have: set[str] = set()
        used = []
        for c in consents:
            if person is None or c.subject == person:
                if needed & set(c.categories):
                    used.append(c.consent_id)
                have.update(c.categories)
        if not needed <= have:
            return None
        grounds.extend(used)
    return tuple(dict.fromkeys(grounds))


def department_view(
    state: CaseState,
    events: Sequence[ev.CaseEvent],
    department: str,
    directory: Directory,
    at: datetime,
) -> list[Seen] | None:
    """The events `department` may see at `at`, or None when it is not a party then.

    `state` is `fold(events)`; `events` are those the log held at `at`, in case order.
    """
    if state.status == "erased" or not state.is_party(department, at):
        return None
    return held_view(state, list(enumerate(events, start=1)), department, directory, at)


def held_view(
    state: CaseState,
    numbered: Sequence[tuple[int, ev.CaseEvent]],
    department: str,
    directory: Directory,
    at: datetime,
) -> list[Seen]:
    """The events of `numbered` ((case sequence, event) pairs, in case order) that
    `department` may see at `at`, by the rules of `department_view`, party status aside.

    A field laptop holds only part of a case (what its department may see and its
    worker's own): `state` folded from that part may lack the memberships, so whether
    the department is a party is left to the server, which judged it at the last pull.
    An erased case shows nothing.
    """
    if state.status == "erased":
        return []
    events = [e for _, e in numbered]
    authority = directory.is_authority(department)
    consents = _consents_for(state, department, at)
    shares = [s for s in state.shares.values() if department in s.recipients and s.shared_at <= at] if authority else []
    conflict_parties = _conflict_parties(state, events)
    seen: list[Seen] = []
    for seq, e in numbered:
        if e.department == department:
            seen.append(Seen(seq, e, "own"))
            continue
        if isinstance(e, ev.ConsentGiven | ev.SharedOnLegalBasis):
            if department in e.recipients:
                seen.append(Seen(seq, e, "recipient"))
            continue
        if isinstance(e, ev.ChildAtRiskReported):
            if department == e.to_department:
                seen.append(Seen(seq, e, "recipient"))
            continue
        if isinstance(e, ev.ConsentWithdrawn):
            c = state.consents.get(e.consent_id)
            if c is not None and department in c.recipients:
                seen.append(Seen(seq, e, "recipient"))
            continue
        if isinstance(e, ev.ConflictFlagged | ev.ConflictResolved):
            if department in conflict_parties.get(e.conflict_id, ()):
                seen.append(Seen(seq, e, "recipient"))
            continue
        if isinstance(e, ev.ClashFlagged | ev.ClashResolved):
            if department in clash_parties(state, e.clash_id):
                seen.append(Seen(seq, e, "recipient"))
            continue
        grounds = _covered_by_consent(state, e, consents)
        if grounds is not None:
            seen.append(Seen(seq, e, "consent", grounds))
            continue
        if e.categories:
            for s in shares:
                if seq < s.seq and set(e.categories) <= set(s.categories):
                    seen.append(Seen(seq, e, "legal-basis", (s.share_id,)))
                    break
    return seen


def _conflict_parties(state: CaseState, events: Sequence[ev.CaseEvent]) -> dict[str, set[str]]:
    by_id = {e.event_id: e for e in events}
    parties: dict[str, set[str]] = {}
    for e in events:
        if isinstance(e, ev.ConflictFlagged):
            involved = {by_id[x].department for x in e.events if x in by_id}
            if state.coordinator:
                involved.add(state.coordinator[1])
            if state.lead:
                involved.add(state.lead)
            parties[e.conflict_id] = involved
    return parties


def clash_parties(state: CaseState, clash_id: str) -> set[str]:
    """Who a clash concerns: the departments of the two parts of the work, the one that
    flagged it, the coordinator's and the lead (who settle it)."""
    c = state.clashes.get(clash_id)
    if c is None:
        return set()
    involved = {c.department}
    for item in c.items:
        if item in state.goals:
            involved.add(state.goals[item].owner)
        elif item in state.activities:
            involved.add(state.activities[item].department)
        elif item in state.decisions:
            involved.add(state.decisions[item])
    if state.coordinator:
        involved.add(state.coordinator[1])
    if state.lead:
        involved.add(state.lead)
    return involved


def all_views(
    case_id: str, events: Sequence[ev.CaseEvent], directory: Directory, at: datetime
) -> dict[str, list[Seen]]:
    """Every department's view of the case at `at` (parties only)."""
    state = fold(case_id, events)
    views: dict[str, list[Seen]] = {}
    for department in state.memberships:
        view = department_view(state, events, department, directory, at)
        if view is not None:
            views[department] = view
    return views
