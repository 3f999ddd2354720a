"""`case show`: the worker's view of a case, confirmed events with the pending ones on top.

It shows only what the laptop holds of the case and the worker may see now (`client.laptop`),
and says when that judgement is provisional until the next sync.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from client.commands.common import open_laptop
from client.laptop import CaseView
from core import events as ev
from core.case import CaseState, Consent, Goal, Person
from core.console import emit
from core.records import Record, field

SUMMARY = ("case", "kind", "lead", "status", "coordinator", "team", "confirmed_seq", "pending", "not_shown")
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("persons", ("person", "role", "name", "birth_date")),
    ("consents", ("consent", "subject", "recipients", "categories", "valid_until", "withdrawn")),
    ("shares", ("share", "basis", "recipients", "categories", "purpose", "reason", "pending")),
    ("goals", ("goal", "text", "owner", "revision", "parent", "scores", "closed", "pending")),
    ("activities", ("activity", "kind", "department", "goal", "starts", "ends", "state", "financing", "pending")),
    ("assessments", ("event", "summary", "occurred_at", "pending")),
    ("contacts", ("contact", "kind", "place", "occurred_at", "note", "pending")),
    ("referrals", ("referral", "to", "reason", "outcome", "pending")),
    ("decisions", ("decision", "legal_basis", "kind", "amount", "pending")),
    ("erasure_requests", ("request", "requested_by", "decision", "legal_basis", "pending")),
    ("conflicts", ("conflict", "rule", "events", "status", "resolution")),
)


def cmd_case_show(args: argparse.Namespace) -> None:
    with open_laptop(args, reading=True) as laptop:
        view = laptop.view(args.case)
    data = case_document(view)
    if args.json:
        emit(data, as_json=True)
        return
    emit({k: data[k] for k in SUMMARY}, as_json=False, title="case")
    if data["provisional"]:
        print(data["provisional"])
    for name, cols in TABLES:
        if data[name]:
            rows = data[name]
            if name == "activities":
                rows = [{**r, "financing": _financing_text(r["financing"])} for r in rows]
            emit(rows, as_json=False, title=name.replace("_", " "), columns=cols)


def _financing_text(financing: dict[str, Any] | None) -> str:
    if not financing:
        return ""
    return ", ".join(f"{d} {pct} %" for d, pct in financing["shares"].items())


class _Gathered(Record, frozen=False, kw_only=False):
    """The rows `case_document` gathers while it walks the case's events in order."""

    state: CaseState
    goal_pending: set[str] = field(default_factory=set)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)
    referrals: dict[str, dict[str, Any]] = field(default_factory=dict)
    shares: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: dict[str, dict[str, Any]] = field(default_factory=dict)
    erasures: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)


def case_document(view: CaseView) -> dict[str, Any]:
    """The worker's view of a case as one document; pending events are marked."""
    s = view.state
    rows = _Gathered(s)
    for e, is_pending in view.events:
        if isinstance(e, (ev.GoalAdded, ev.GoalRevised, ev.GoalClosed)) and is_pending:
            rows.goal_pending.add(e.goal_id)
        gather = _GATHER.get(type(e))
        if gather is not None:
            gather(rows, e, is_pending)
    return {
        "case": s.case_id,
        "kind": s.kind,
        "lead": s.lead,
        "status": s.status,
        "coordinator": None if s.coordinator is None else {"worker": s.coordinator[0], "department": s.coordinator[1]},
        "team": s.parties(),
        "confirmed_seq": view.confirmed_seq,
        "pending": len(set(view.pending)),
        "not_shown": view.veiled + view.hidden,
        "provisional": view.note() or None,
        "persons": [_person(p) for p in s.persons.values()],
        "consents": [_consent(c) for c in s.consents.values()],
        "shares": list(rows.shares.values()),
        "goals": [_goal(g, g.goal_id in rows.goal_pending) for g in s.goals.values()],
        "activities": list(rows.activities.values()),
        "assessments": rows.assessments,
        "contacts": rows.contacts,
        "referrals": list(rows.referrals.values()),
        "decisions": rows.decisions,
        "erasure_requests": list(rows.erasures.values()),
        "conflicts": list(rows.conflicts.values()),
        "events": [_event(e, p) for e, p in view.events],
    }


# --- what the case's state holds ----------------------------------------------------------


def _person(p: Person) -> dict[str, Any]:
    return {"person": p.person_id, "role": p.role, "name": p.name, "cpr": p.cpr, "birth_date": p.birth_date}


def _consent(c: Consent) -> dict[str, Any]:
    return {
        "consent": c.consent_id,
        "subject": c.subject,
        "given_by": c.given_by,
        "recipients": c.recipients,
        "categories": c.categories,
        "purpose": c.purpose,
        "valid_until": c.valid_until,
        "withdrawn": c.withdrawn_at,
    }


def _goal(g: Goal, pending: bool) -> dict[str, Any]:
    return {
        "goal": g.goal_id,
        "text": g.text,
        "owner": g.owner,
        "person": g.person,
        "parent": g.parent_goal,
        "revision": g.revision,
        "revisions": g.history,
        "scores": g.scores,
        "closed": g.closed,
        "pending": pending,
    }


def _event(e: ev.CaseEvent, pending: bool) -> dict[str, Any]:
    return {
        "event": e.event_id,
        "type": e.header.topic,
        "department": e.department,
        "author": e.header.author,
        "occurred_at": e.occurred_at,
        "pending": pending,
    }


# --- rows gathered from the events, one function per kind of event -------------------------


def _contact(rows: _Gathered, e: ev.ContactRecorded, pending: bool) -> None:
    rows.contacts.append(
        {
            "contact": e.contact_id,
            "event": e.event_id,
            "kind": e.kind,
            "place": e.place,
            "occurred_at": e.occurred_at,
            "challenges": e.challenges,
            "ongoing": e.ongoing,
            "note": e.note,
            "author": e.header.author,
            "pending": pending,
        }
    )


def _referral(rows: _Gathered, e: ev.ReferralMade, pending: bool) -> None:
    rows.referrals[e.referral_id] = {
        "referral": e.referral_id,
        "event": e.event_id,
        "from": e.from_department,
        "to": e.to_department,
        "reason": e.reason,
        "outcome": None,
        "outcome_note": "",
        "pending": pending,
    }


def _referral_outcome(rows: _Gathered, e: ev.ReferralOutcome, pending: bool) -> None:
    row = rows.referrals.get(e.referral_id)
    if row is not None:
        row.update(
            outcome="arrived" if e.arrived else "not arrived", outcome_note=e.note, pending=row["pending"] or pending
        )


def _decision(rows: _Gathered, e: ev.DecisionMade, pending: bool) -> None:
    rows.decisions.append(
        {
            "decision": e.decision_id,
            "event": e.event_id,
            "department": e.department,
            "legal_basis": e.legal_basis,
            "legal_area": e.legal_area,
            "kind": e.kind,
            "amount": e.amount,
            "considerations": e.considerations,
            "facts": e.facts,
            "explanation": e.explanation,
            "pending": pending,
        }
    )


def _assessment(rows: _Gathered, e: ev.AssessmentRecorded, pending: bool) -> None:
    rows.assessments.append(
        {
            "event": e.event_id,
            "persons": e.persons,
            "department": e.department,
            "development": e.development,
            "parenting_capacity": e.parenting_capacity,
            "family_environment": e.family_environment,
            "summary": e.summary,
            "occurred_at": e.occurred_at,
            "pending": pending,
        }
    )


def _share(rows: _Gathered, e: ev.SharedOnLegalBasis, pending: bool) -> None:
    rows.shares[e.share_id] = {
        "share": e.share_id,
        "event": e.event_id,
        "department": e.department,
        "basis": e.basis,
        "recipients": e.recipients,
        "categories": e.share_categories,
        "purpose": e.purpose,
        "meeting": e.meeting_id,
        "reason": e.reason,
        "occurred_at": e.occurred_at,
        "pending": pending,
    }


def _activity(rows: _Gathered, e: ev.ActivityAdded, pending: bool) -> None:
    rows.activities[e.activity_id] = {
        "activity": e.activity_id,
        "event": e.event_id,
        "goal": e.goal_id,
        "department": e.activity_department,
        "kind": e.kind,
        "starts": e.starts,
        "ends": e.ends,
        "state": "planned",
        "started_on": None,
        "ended_on": None,
        "financing": None,
        "pending": pending,
    }


def _activity_step(
    rows: _Gathered, e: ev.ActivityStarted | ev.ActivityEnded | ev.FinancingAgreed, pending: bool
) -> None:
    row = rows.activities.get(e.activity_id)
    if row is None:
        return
    row["pending"] = row["pending"] or pending
    if isinstance(e, ev.ActivityStarted):
        row.update(state="running", started_on=e.on or e.occurred_at.date())
    elif isinstance(e, ev.ActivityEnded):
        row.update(state="ended", ended_on=e.on or e.occurred_at.date())
    else:
        row["financing"] = {"shares": dict(e.shares), "granted_by": e.granted_by, "paid_by": e.paid_by}


def _erasure_request(rows: _Gathered, e: ev.ErasureRequested, pending: bool) -> None:
    rows.erasures[e.request_id] = {
        "request": e.request_id,
        "event": e.event_id,
        "requested_by": e.requested_by,
        "reason": e.reason,
        "requested_at": e.occurred_at,
        "decision": "awaiting decision",
        "legal_basis": None,
        "decision_reason": "",
        "decided_at": None,
        "pending": pending,
    }


def _erasure_decision(rows: _Gathered, e: ev.ErasureDecided, pending: bool) -> None:
    row = rows.erasures.get(e.request_id)
    if row is not None:
        row.update(
            decision="granted" if e.granted else "refused",
            legal_basis=e.legal_basis,
            decision_reason=e.reason,
            decided_at=e.occurred_at,
            pending=row["pending"] or pending,
        )


def _conflict(rows: _Gathered, e: ev.ConflictFlagged, pending: bool) -> None:
    rows.conflicts[e.conflict_id] = {
        "conflict": e.conflict_id,
        "event": e.event_id,
        "rule": e.rule,
        "events": e.events,
        "description": e.description,
        "resolved": rows.state.conflicts.get(e.conflict_id, False),
        "status": "open",
        "resolution": None,
        "resolved_by": None,
        "pending": pending,
    }


def _conflict_resolution(rows: _Gathered, e: ev.ConflictResolved, pending: bool) -> None:
    row = rows.conflicts.get(e.conflict_id)
    if row is not None:
        row.update(
            status="resolved", resolution=e.resolution, resolved_by=e.header.author, pending=row["pending"] or pending
        )


# Event classes are leaves of the catalogue (none derives from another), so the exact
# type picks the one function that gathers its row.
_GATHER: dict[type[ev.CaseEvent], Callable[[_Gathered, Any, bool], None]] = {
    ev.ContactRecorded: _contact,
    ev.ReferralMade: _referral,
    ev.ReferralOutcome: _referral_outcome,
    ev.DecisionMade: _decision,
    ev.AssessmentRecorded: _assessment,
    ev.SharedOnLegalBasis: _share,
    ev.ActivityAdded: _activity,
    ev.ActivityStarted: _activity_step,
    ev.ActivityEnded: _activity_step,
    ev.FinancingAgreed: _activity_step,
    ev.ErasureRequested: _erasure_request,
    ev.ErasureDecided: _erasure_decision,
    ev.ConflictFlagged: _conflict,
    ev.ConflictResolved: _conflict_resolution,
}
