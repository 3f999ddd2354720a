"""What an auditor and a citizen can ask of the log, answered from the log alone.

- `replay`: a case as of any moment: the events the server had *received* by then, folded,
  and what each department could see then, with the grounds per event (own, the consent
  ids, the legal-basis share id). Processing before a withdrawal stays visible here, as
  rule 2 requires.
- `exceptions`: every disclosure made on a legal basis without consent (rule 3), across
  the whole log. Only the events of that type are opened: the type is readable.
- `citizen_export`: the right of access: every event concerning the person(s), and the
  looks at the case from the access log, staff identities withheld when asked.
- `records_of_processing`: the record of processing activities: which event types are
  kept, with which information categories, who received information under consents and
  legal bases, and the retention settings in force.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import events as ev
from core.access_log import Access
from core.case import CaseState, fold
from core.case_view import event_json, seen_json
from core.departments import Directory
from core.log import CaseLog
from core.visibility import Seen, all_views, in_force


@dataclass(frozen=True)
class Replay:
    """A case rebuilt as of `as_of` from the events received by then."""

    case_id: str
    as_of: datetime
    state: CaseState
    events: list[ev.CaseEvent]
    received: dict[str, int]
    views: dict[str, list[Seen]]

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "as_of": self.as_of.isoformat(),
            "status": self.state.status,
            "lead": self.state.lead,
            "parties": self.state.parties(self.as_of),
            "events": [event_json(e, self.received.get(e.event_id)) for e in self.events],
            "views": {department: seen_json(seen, self.received) for department, seen in sorted(self.views.items())},
            "shares": [
                {"event": e.event_id, "basis": e.basis, "recipients": list(e.recipients)}
                for e in self.events
                if isinstance(e, ev.SharedOnLegalBasis)
            ],
            "persons": [{"person": p.person_id, "role": p.role, "name": p.name} for p in self.state.persons.values()],
            "consents": [
                {
                    "consent": c.consent_id,
                    "subject": c.subject,
                    "given_by": list(c.given_by),
                    "recipients": list(c.recipients),
                    "categories": list(c.categories),
                    "given_at": c.given_at.isoformat(),
                    "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                    "in_force": in_force(self.state, c, self.as_of),
                }
                for c in self.state.consents.values()
            ],
        }


def replay(log: CaseLog, directory: Directory, case_id: str, as_of: datetime) -> Replay:
    """The case and every department's view as of `as_of` (server receipt time decides
    what the log held then: a note written offline on Monday and synced on Friday was not
    there on Wednesday). Raises KeyNotHeld for an unknown case, CaseErased when erased."""
    logged = [le for le in log.case_events(case_id) if le.received_at <= as_of]
    events = [log.open(le) for le in logged]
    received = {le.sealed.event_id: le.received for le in logged}
    return Replay(case_id, as_of, fold(case_id, events), events, received, all_views(case_id, events, directory, as_of))


@dataclass(frozen=True)
class ExceptionRow:
    """One disclosure without consent, as the exception report lists it."""

    case_id: str
    event_id: str
    basis: str
    recipients: tuple[str, ...]
    categories: tuple[str, ...]
    reason: str
    meeting_id: str | None
    occurred_at: datetime
    received_at: datetime
    author: str
    department: str
    persons: tuple[str, ...] = ()  # the persons of the case the disclosure is about

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "event": self.event_id,
            "persons": list(self.persons),
            "basis": self.basis,
            "recipients": list(self.recipients),
            "categories": list(self.categories),
            "reason": self.reason,
            "meeting": self.meeting_id,
            "occurred_at": self.occurred_at.isoformat(),
            "received_at": self.received_at.isoformat(),
            "by": self.author,
            "department": self.department,
        }


UNDERRETNING = "barnets-lov-133"
"""The basis an underretning (`child.reported`) is listed under in the exceptions report."""


def exceptions(log: CaseLog, case_id: str | None = None) -> list[ExceptionRow]:
    """Every disclosure without consent of the log (or one case), oldest first: each
    `shared on legal basis` event and each underretning about a child at risk. Erased
    cases cannot be opened any more and are left out."""
    topics = (ev.SharedOnLegalBasis.TOPIC, ev.ChildAtRiskReported.TOPIC)
    logged = log.case_events(case_id) if case_id else log.of_topic(topics)
    rows: list[ExceptionRow] = []
    erased: set[str] = set()
    for le in logged:
        if le.sealed.topic not in topics or le.sealed.case_id in erased:
            continue
        if log.erased(le.sealed.case_id):
            erased.add(le.sealed.case_id)
            continue
        e = log.open(le)
        if isinstance(e, ev.SharedOnLegalBasis):
            row = (e.basis, e.recipients, e.share_categories, e.reason, e.meeting_id)
        elif isinstance(e, ev.ChildAtRiskReported):
            row = (UNDERRETNING, (e.to_department,), e.categories, e.reason, None)
        else:
            continue
        rows.append(
            ExceptionRow(
                e.case_id, e.event_id, *row, e.occurred_at, le.received_at, e.header.author, e.department, e.persons
            )
        )
    return rows


def citizen_export(
    log: CaseLog,
    case_id: str,
    accesses: Iterable[Access],
    person_id: str | None = None,
    *,
    withhold_staff: bool = False,
) -> dict[str, Any]:
    """A person's own file: the events concerning them (all persons of the case when no
    person is named) and the looks at the case. Withheld staff show only their department."""
    logged = log.case_events(case_id)
    events = [log.open(le) for le in logged]
    received = {le.sealed.event_id: le.received for le in logged}
    state = fold(case_id, events)
    wanted = {person_id} if person_id else set(state.persons)
    concerning = [e for e in events if wanted & set(e.persons) or (person_id is None and not e.persons)]

    def redact(item: dict[str, Any]) -> dict[str, Any]:
        if withhold_staff:
            item = {**item, "author": None, "device": None}
        return item

    return {
        "case": case_id,
        "persons": [
            {
                "person": p.person_id,
                "role": p.role,
                "name": p.name,
                "cpr": p.cpr,
                "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            }
            for p in state.persons.values()
            if p.person_id in wanted
        ],
        "events": [redact(event_json(e, received.get(e.event_id))) for e in concerning],
        "access_log": [{**a.as_json(), "worker": None if withhold_staff else a.worker} for a in accesses],
        "staff_withheld": withhold_staff,
    }


def records_of_processing(log: CaseLog, retention: Mapping[str, Any]) -> dict[str, Any]:
    """The record of processing activities, from the log: event types with their counts and
    default categories, and the recipients and categories of consents and shares."""
    counts: Counter[str] = Counter()
    recipients: dict[str, dict[str, set[str]]] = {"consent": {}, "legal-basis": {}}
    wanted = {ev.ConsentGiven.TOPIC, ev.SharedOnLegalBasis.TOPIC}
    erased: dict[str, bool] = {}
    for le in log.iterate():
        topic = le.sealed.topic
        counts[topic] += 1
        if topic not in wanted:
            continue
        case_id = le.sealed.case_id
        if case_id not in erased:
            erased[case_id] = log.erased(case_id)
        if erased[case_id]:
            continue
        e = log.open(le)
        if isinstance(e, ev.ConsentGiven):
            kind, cats = "consent", e.consent_categories
        elif isinstance(e, ev.SharedOnLegalBasis):
            kind, cats = "legal-basis", e.share_categories
        else:
            continue
        for r in e.recipients:
            recipients[kind].setdefault(r, set()).update(cats)
    return {
        "event_types": [
            {"type": cls.TOPIC, "count": counts.get(cls.TOPIC, 0), "categories": list(cls.DEFAULT_CATEGORIES)}
            for cls in ev.all_event_classes()
        ],
        "categories": list(ev.CATEGORIES),
        "special_categories": sorted(ev.SPECIAL_CATEGORIES),
        "recipients": {kind: {r: sorted(c) for r, c in sorted(by.items())} for kind, by in recipients.items()},
        "retention": dict(retention),
    }
