"""A case as one department may see it at one moment, and the JSON documents people read.

Consent is judged when a view is *read*, so a withdrawal takes effect on the very next
read (rule 2): `department_case` takes the case from `core.case_cache.CaseCache` and
applies `core.visibility.department_view` at the moment of reading. `case_json` is what a
department gets for the case (timeline, plan, consents, decisions, conflicts);
`event_json` and `seen_json` are the shapes of events in it, in the auditor's replay and
in an erasure archive. `next_change` says until when a judged view stays the same by
itself, so a judged answer can be remembered for that long (`server.view_cache`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from core import events as ev
from core.case import CaseState, fold
from core.case_cache import CachedCase, CaseCache
from core.departments import Directory
from core.errors import CaseErased, KeyNotHeld
from core.sealing import from_micros
from core.visibility import Seen, department_view, in_force


@dataclass(frozen=True)
class DepartmentCase:
    """A case as one department may see it at one moment: the events and their grounds,
    and the parts of the case folded from those events only."""

    case_id: str
    department: str
    at: datetime
    status: str
    lead: str | None
    seen: list[Seen]
    received: dict[str, int]  # event id -> µs the server received it
    partial: CaseState  # folded from the visible events only
    in_force: frozenset[str] = frozenset()  # consents in force at `at`, judged on the whole case


def department_case(
    cache: CaseCache, case_id: str, department: str, directory: Directory, at: datetime
) -> DepartmentCase | None:
    """The case as `department` may see it at `at`, or None when it may see nothing
    (not a party, erased, or no such case: the caller cannot tell these apart)."""
    try:
        case = cache.get(case_id)
    except (KeyNotHeld, CaseErased):
        return None
    return judge(case, department, directory, at)


def judge(case: CachedCase, department: str, directory: Directory, at: datetime) -> DepartmentCase | None:
    """A case held in memory as `department` may see it at `at`; None when it may see
    nothing of it."""
    seen = department_view(case.state, case.events, department, directory, at)
    if seen is None:
        return None
    received = {le.sealed.event_id: le.received for le in case.logged}
    return DepartmentCase(
        case.case_id,
        department,
        at,
        case.state.status,
        case.state.lead,
        seen,
        received,
        fold(case.case_id, (s.event for s in seen)),
        frozenset(c.consent_id for c in case.state.consents.values() if in_force(case.state, c, at)),
    )


def event_json(e: ev.CaseEvent, received: int | None = None) -> dict[str, Any]:
    """An event as JSON for people who may see it: its header, the three times, payload."""
    h = e.header
    out: dict[str, Any] = {
        "event": h.event_id,
        "type": h.topic,
        "department": h.department,
        "author": h.author,
        "role": h.role,
        "device": h.device,
        "occurred_at": h.occurred_at.isoformat(),
        "recorded_at": h.recorded_at.isoformat(),
    }
    if received is not None:
        out["received_at"] = from_micros(received).isoformat()
    out["payload"] = e.payload()
    return out


def seen_json(seen: Iterable[Seen], received: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "seq": s.seq,
            "basis": s.basis,
            "grounds": list(s.grounds),
            **event_json(s.event, received.get(s.event.event_id)),
        }
        for s in seen
    ]


def case_json(view: DepartmentCase) -> dict[str, Any]:
    """What a department gets for one case: timeline, plan, consents, decisions, conflicts."""
    part = view.partial
    return {
        "case": view.case_id,
        "department": view.department,
        "as_of": view.at.isoformat(),
        "status": view.status,
        "lead": view.lead,
        "persons": [
            {
                "person": p.person_id,
                "role": p.role,
                "name": p.name,
                "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            }
            for p in part.persons.values()
        ],
        "plan": [
            {
                "goal": g.goal_id,
                "text": g.text,
                "owner": g.owner,
                "person": g.person,
                "parent": g.parent_goal,
                "revision": g.revision,
                "revisions": list(g.history),
                "closed": g.closed,
                "progress": list(g.scores),
                "phase": g.phase,
                "due": g.due.isoformat() if g.due else None,
            }
            for g in part.goals.values()
        ],
        "consents": [
            {
                "consent": c.consent_id,
                "subject": c.subject,
                "recipients": list(c.as_of(view.at).recipients),
                "categories": list(c.as_of(view.at).categories),
                "purpose": c.purpose,
                "valid_until": c.valid_until.isoformat(),
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                "in_force": c.consent_id in view.in_force,
            }
            for c in part.consents.values()
        ],
        "decisions": [
            event_json(s.event, view.received.get(s.event.event_id))
            for s in view.seen
            if isinstance(s.event, ev.DecisionMade)
        ],
        "conflicts": [{"conflict": cid, "resolved": resolved} for cid, resolved in part.conflicts.items()],
        "clashes": [
            {"clash": c.clash_id, "between": list(c.items), "flagged_by": c.department, "resolved": c.resolved}
            for c in part.clashes.values()
        ],
        "aftercare": [{"person": p, "until": until.isoformat()} for p, until in part.aftercare.items()],
        "events": seen_json(view.seen, view.received),
    }


def next_change(state: CaseState, at: datetime) -> datetime:
    """The first moment after `at` at which a view of the case judged at `at` may differ
    although no event was added: the next midnight (in `at`'s time zone: consents are
    valid until a date, ages count whole days) or the earliest moment after `at` at
    which a membership starts or ends, a consent starts or is withdrawn, or a share is
    made (events may be dated ahead of the server's clock)."""
    moments = [datetime.combine(at.date() + timedelta(days=1), time(), tzinfo=at.tzinfo)]
    for history in state.memberships.values():
        for m in history:
            moments.append(m.joined_at)
            if m.left_at is not None:
                moments.append(m.left_at)
    for c in state.consents.values():
        moments.append(c.given_at)
        moments.extend(at for at, _, _ in c.narrowed)
        if c.withdrawn_at is not None:
            moments.append(c.withdrawn_at)
    moments.extend(s.shared_at for s in state.shares.values())
    return min(m for m in moments if m > at)
