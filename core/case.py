"""The state of one case, folded from its events in order.

Folding never judges: it is how a replay, a view or a laptop rebuilds what happened.
Judging a new event against this state is the work of `core.rules`; what a department
may see of it is the work of `core.visibility`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, NamedTuple

from core import events as ev
from core.cpr import birth_date_of
from core.errors import InvalidInput
from core.records import Record, field


class Person(Record, frozen=False, kw_only=False):
    person_id: str
    role: str
    name: str
    cpr: str | None
    birth_date: date | None

    def born(self) -> date | None:
        """The stated birth date, else the one the CPR number carries (`core.cpr`)."""
        if self.birth_date is not None or self.cpr is None:
            return self.birth_date
        try:
            return birth_date_of(self.cpr)
        except InvalidInput:  # recorded before CPR numbers were checked for their date
            return None

    def age_on(self, day: date) -> int | None:
        b = self.born()
        if b is None:
            return None
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    def birthday(self, age: int) -> date | None:
        """The day the person turns `age` (1 March in other years for one born on 29 February)."""
        b = self.born()
        if b is None:
            return None
        try:
            return b.replace(year=b.year + age)
        except ValueError:  # as `age_on` counts it
            return date(b.year + age, 3, 1)


class Membership(Record, frozen=False, kw_only=False):
    department: str
    joined_at: datetime
    left_at: datetime | None = None
    workers: set[str] = field(default_factory=set)
    whole: bool = False  # joined as a department, not only through named workers


class Consent(Record, frozen=False, kw_only=False):
    consent_id: str
    subject: str
    given_by: tuple[str, ...]
    recipients: tuple[str, ...]
    categories: tuple[str, ...]
    purpose: str
    valid_until: date
    given_at: datetime
    seq: int
    recorded_by: str
    withdrawn_at: datetime | None = None
    # Partial withdrawals: (from when, recipients taken off, categories taken off).
    narrowed: list[tuple[datetime, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)

    def active_at(self, moment: datetime) -> bool:
        return (
            self.given_at <= moment
            and (self.withdrawn_at is None or moment < self.withdrawn_at)
            and moment.date() <= self.valid_until
        )

    def as_of(self, moment: datetime) -> Consent:
        """The consent with the recipients and categories still in force at `moment`:
        a partial withdrawal takes some off from its moment on, earlier stays as it was."""
        if not self.narrowed:
            return self
        recipients, categories = list(self.recipients), list(self.categories)
        for at, off_recipients, off_categories in self.narrowed:
            if at <= moment:
                recipients = [r for r in recipients if r not in off_recipients]
                categories = [c for c in categories if c not in off_categories]
        return self.replace(recipients=tuple(recipients), categories=tuple(categories))


class Share(Record, frozen=False, kw_only=False):
    share_id: str
    basis: str
    recipients: tuple[str, ...]
    categories: tuple[str, ...]
    reason: str
    meeting_id: str | None
    shared_at: datetime
    seq: int
    department: str
    persons: tuple[str, ...] = ()  # the persons (children, for § 49 a) it concerns


class Goal(Record, frozen=False, kw_only=False):
    goal_id: str
    text: str
    owner: str
    person: str | None
    parent_goal: str | None
    revision: int = 1
    closed: bool = False
    phase: str = ""
    history: list[str] = field(default_factory=list)
    scores: list[int] = field(default_factory=list)
    due: date | None = None


class Activity(Record, frozen=False, kw_only=False):
    activity_id: str
    goal_id: str
    department: str
    kind: str
    started: bool = False
    ended: bool = False
    ends: date | None = None


class Meeting(Record, frozen=False, kw_only=False):
    meeting_id: str
    kind: str
    participants: tuple[str, ...]
    held_at: datetime
    persons: tuple[str, ...] = ()


class Clash(Record, frozen=False, kw_only=False):
    """Two parts of the work flagged as pulling against each other, until resolved."""

    clash_id: str
    items: tuple[str, ...]
    department: str  # who flagged it
    flagged_at: datetime
    resolved: bool = False


class Link(Record, kw_only=False):
    """A pseudonymous case's history linked to this case by a consent (`case.linked`)."""

    link_id: str
    linked_case: str
    linked_person: str
    person_id: str
    consent_id: str
    department: str
    linked_at: datetime


class CaseState(Record, frozen=False, kw_only=False):
    """Everything the rules need to know about a case, as of the events folded so far."""

    case_id: str
    seq: int = 0
    kind: str | None = None
    lead: str | None = None
    status: str = "new"  # new | open | closed | erased
    closed_at: datetime | None = None
    persons: dict[str, Person] = field(default_factory=dict)
    memberships: dict[str, list[Membership]] = field(default_factory=dict)
    coordinator: tuple[str, str] | None = None
    consents: dict[str, Consent] = field(default_factory=dict)
    shares: dict[str, Share] = field(default_factory=dict)
    goals: dict[str, Goal] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    meetings: dict[str, Meeting] = field(default_factory=dict)
    referrals: dict[str, tuple[str, str]] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)
    reports: dict[str, str] = field(default_factory=dict)  # underretning id -> receiving department
    conflicts: dict[str, bool] = field(default_factory=dict)  # id -> resolved
    clashes: dict[str, Clash] = field(default_factory=dict)
    aftercare: dict[str, date] = field(default_factory=dict)  # person id -> aftercare until
    erasure_requests: dict[str, tuple[datetime, bool | None]] = field(default_factory=dict)
    event_ids: dict[str, int] = field(default_factory=dict)  # event id -> seq
    links: dict[str, Link] = field(default_factory=dict)  # link id -> link

    # -- questions the rules ask ---------------------------------------------------------
    def is_party(self, department: str, moment: datetime | None = None) -> bool:
        for m in self.memberships.get(department, ()):
            if moment is None:
                if m.left_at is None:
                    return True
            elif m.joined_at <= moment and (m.left_at is None or moment < m.left_at):
                return True
        return False

    def parties(self, moment: datetime | None = None) -> list[str]:
        return sorted(d for d in self.memberships if self.is_party(d, moment))

    # -- folding -------------------------------------------------------------------------
    def apply(self, e: ev.CaseEvent | Unopened) -> None:
        self.seq += 1
        self.event_ids[e.event_id] = self.seq
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            handler(self, e)

    def _join(self, department: str, at: datetime, worker: str | None = None) -> None:
        history = self.memberships.setdefault(department, [])
        if not history or history[-1].left_at is not None:
            history.append(Membership(department, at))
        if worker:
            history[-1].workers.add(worker)
        else:
            history[-1].whole = True


class Unopened(NamedTuple):
    """An event of a kind the state does not read (see `STATE_TOPICS`), folded from its
    readable header alone: it counts in the sequence and its id is known, and its payload
    is never decrypted for it."""

    header: ev.Header

    @property
    def event_id(self) -> str:
        return self.header.event_id


def fold(case_id: str, events: Iterable[ev.CaseEvent | Unopened]) -> CaseState:
    """The state after applying the events in order."""
    state = CaseState(case_id)
    for e in events:
        state.apply(e)
    return state


def _opened(s: CaseState, e: ev.CaseOpened) -> None:
    s.kind, s.lead, s.status = e.kind, e.lead_department, "open"
    s._join(e.lead_department, e.occurred_at)
    s._join(e.department, e.occurred_at, e.header.author)


def _closed(s: CaseState, e: ev.CaseClosed) -> None:
    s.status, s.closed_at = "closed", e.occurred_at


def _reopened(s: CaseState, e: ev.CaseReopened) -> None:
    s.status, s.closed_at = "open", None


def _transferred(s: CaseState, e: ev.CaseTransferred) -> None:
    s.lead = e.to_department
    s._join(e.to_department, e.occurred_at)


def _erased(s: CaseState, e: ev.CaseErased) -> None:
    s.status = "erased"


def _person_added(s: CaseState, e: ev.PersonAdded) -> None:
    s.persons[e.person_id] = Person(e.person_id, e.role, e.name, e.cpr, e.birth_date)


def _person_corrected(s: CaseState, e: ev.PersonCorrected) -> None:
    p = s.persons.get(e.person_id)
    if p is None:
        return
    p.role = e.role or p.role
    p.name = e.name or p.name
    p.cpr = e.cpr or p.cpr
    p.birth_date = e.birth_date or p.birth_date


def _coordinator(s: CaseState, e: ev.CoordinatorAssigned) -> None:
    s.coordinator = (e.worker, e.coordinator_department)
    s._join(e.coordinator_department, e.occurred_at, e.worker)


def _joined(s: CaseState, e: ev.TeamMemberJoined) -> None:
    s._join(e.member_department, e.occurred_at, e.worker)


def _left(s: CaseState, e: ev.TeamMemberLeft) -> None:
    history = s.memberships.get(e.member_department)
    if not history or history[-1].left_at is not None:
        return
    if e.worker:
        # A worker leaving ends the department's part only when it was there through its
        # named workers alone and this was the last of them.
        history[-1].workers.discard(e.worker)
        if history[-1].workers or history[-1].whole:
            return
    history[-1].left_at = e.occurred_at


def _consent(s: CaseState, e: ev.ConsentGiven) -> None:
    s.consents[e.consent_id] = Consent(
        e.consent_id,
        e.subject,
        e.given_by,
        e.recipients,
        e.consent_categories,
        e.purpose,
        e.valid_until,
        e.occurred_at,
        s.seq,
        e.header.author,
    )


def _withdrawn(s: CaseState, e: ev.ConsentWithdrawn) -> None:
    c = s.consents.get(e.consent_id)
    if c is None or c.withdrawn_at is not None:
        return
    if e.from_recipients or e.from_categories:
        c.narrowed.append((e.occurred_at, e.from_recipients, e.from_categories))
        left = c.as_of(e.occurred_at)
        if left.recipients and left.categories:
            return
    c.withdrawn_at = e.occurred_at


def _shared(s: CaseState, e: ev.SharedOnLegalBasis) -> None:
    s.shares[e.share_id] = Share(
        e.share_id,
        e.basis,
        e.recipients,
        e.share_categories,
        e.reason,
        e.meeting_id,
        e.occurred_at,
        s.seq,
        e.department,
        e.persons,
    )


def _reported(s: CaseState, e: ev.ChildAtRiskReported) -> None:
    s.reports[e.report_id] = e.to_department


def _goal_added(s: CaseState, e: ev.GoalAdded) -> None:
    person = e.persons[0] if e.persons else None
    s.goals[e.goal_id] = Goal(
        e.goal_id, e.text, e.owner, person, e.parent_goal, history=[e.text], phase=e.phase, due=e.due
    )


def _goal_revised(s: CaseState, e: ev.GoalRevised) -> None:
    g = s.goals.get(e.goal_id)
    if g is not None:
        g.revision += 1
        g.text = e.text
        g.history.append(e.text)
        g.due = e.due if e.due is not None else g.due


def _goal_closed(s: CaseState, e: ev.GoalClosed) -> None:
    g = s.goals.get(e.goal_id)
    if g is not None:
        g.closed = True


def _progress(s: CaseState, e: ev.ProgressRecorded) -> None:
    g = s.goals.get(e.goal_id)
    if g is not None:
        g.scores.append(e.score)


def _activity_added(s: CaseState, e: ev.ActivityAdded) -> None:
    s.activities[e.activity_id] = Activity(e.activity_id, e.goal_id, e.activity_department, e.kind, ends=e.ends)


def _activity_started(s: CaseState, e: ev.ActivityStarted) -> None:
    a = s.activities.get(e.activity_id)
    if a is not None:
        a.started = True


def _activity_ended(s: CaseState, e: ev.ActivityEnded) -> None:
    a = s.activities.get(e.activity_id)
    if a is not None:
        a.ended = True


def _meeting(s: CaseState, e: ev.MeetingHeld) -> None:
    s.meetings[e.meeting_id] = Meeting(e.meeting_id, e.kind, e.participants, e.occurred_at, e.persons)


def _referral(s: CaseState, e: ev.ReferralMade) -> None:
    s.referrals[e.referral_id] = (e.from_department, e.to_department)


def _decision(s: CaseState, e: ev.DecisionMade) -> None:
    s.decisions[e.decision_id] = e.department


def _conflict(s: CaseState, e: ev.ConflictFlagged) -> None:
    s.conflicts[e.conflict_id] = False


def _conflict_resolved(s: CaseState, e: ev.ConflictResolved) -> None:
    if e.conflict_id in s.conflicts:
        s.conflicts[e.conflict_id] = True


def _clash(s: CaseState, e: ev.ClashFlagged) -> None:
    s.clashes[e.clash_id] = Clash(e.clash_id, e.items, e.department, e.occurred_at)


def _clash_resolved(s: CaseState, e: ev.ClashResolved) -> None:
    c = s.clashes.get(e.clash_id)
    if c is not None:
        c.resolved = True


def _aftercare(s: CaseState, e: ev.AftercareStarted) -> None:
    s.aftercare[e.person] = e.until


def _erasure_requested(s: CaseState, e: ev.ErasureRequested) -> None:
    s.erasure_requests[e.request_id] = (e.occurred_at, None)


def _erasure_decided(s: CaseState, e: ev.ErasureDecided) -> None:
    if e.request_id in s.erasure_requests:
        s.erasure_requests[e.request_id] = (s.erasure_requests[e.request_id][0], e.granted)


def _linked(s: CaseState, e: ev.CaseLinked) -> None:
    s.links[e.link_id] = Link(
        e.link_id, e.linked_case, e.linked_person, e.person_id, e.consent_id, e.department, e.occurred_at
    )


_HANDLERS: dict[type, Callable[[CaseState, Any], None]] = {
    ev.CaseOpened: _opened,
    ev.CaseClosed: _closed,
    ev.CaseReopened: _reopened,
    ev.CaseTransferred: _transferred,
    ev.CaseErased: _erased,
    ev.PersonAdded: _person_added,
    ev.PersonCorrected: _person_corrected,
    ev.CoordinatorAssigned: _coordinator,
    ev.TeamMemberJoined: _joined,
    ev.TeamMemberLeft: _left,
    ev.ConsentGiven: _consent,
    ev.ConsentWithdrawn: _withdrawn,
    ev.SharedOnLegalBasis: _shared,
    ev.ChildAtRiskReported: _reported,
    ev.GoalAdded: _goal_added,
    ev.GoalRevised: _goal_revised,
    ev.GoalClosed: _goal_closed,
    ev.ProgressRecorded: _progress,
    ev.ActivityAdded: _activity_added,
    ev.ActivityStarted: _activity_started,
    ev.ActivityEnded: _activity_ended,
    ev.MeetingHeld: _meeting,
    ev.ReferralMade: _referral,
    ev.DecisionMade: _decision,
    ev.ConflictFlagged: _conflict,
    ev.ConflictResolved: _conflict_resolved,
    ev.ClashFlagged: _clash,
    ev.ClashResolved: _clash_resolved,
    ev.AftercareStarted: _aftercare,
    ev.ErasureRequested: _erasure_requested,
    ev.ErasureDecided: _erasure_decided,
    ev.CaseLinked: _linked,
}

#: The event types whose payload the state reads; any other event folds the same from its
#: header (`Unopened`), so a fold for the rules need not decrypt it.
STATE_TOPICS = frozenset(cls.TOPIC for cls in _HANDLERS if issubclass(cls, ev.CaseEvent))
