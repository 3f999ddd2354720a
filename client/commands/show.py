"""`case show`: the worker's view of a case, confirmed events with the pending ones on top."""

from __future__ import annotations

import argparse
from typing import Any

from client.commands.common import open_laptop
from client.laptop import CaseView
from core import events as ev
from core.console import emit

SUMMARY = ("case", "kind", "lead", "status", "coordinator", "team", "confirmed_seq", "pending")
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
    with open_laptop(args) as laptop:
        view = laptop.view(args.case)
    data = case_document(view)
    if args.json:
        emit(data, as_json=True)
        return
    emit({k: data[k] for k in SUMMARY}, as_json=False, title="case")
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


def case_document(view: CaseView) -> dict[str, Any]:
    """The worker's view of a case as one document; pending events are marked."""
    s = view.state
    pending = set(view.pending)
    goal_pending: set[str] = set()
    contacts: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    assessments: list[dict[str, Any]] = []
    referrals: dict[str, dict[str, Any]] = {}
    shares: dict[str, dict[str, Any]] = {}
    activities: dict[str, dict[str, Any]] = {}
    erasures: dict[str, dict[str, Any]] = {}
    conflicts: dict[str, dict[str, Any]] = {}
    for e, is_pending in view.events:
        if isinstance(e, (ev.GoalAdded, ev.GoalRevised, ev.GoalClosed)) and is_pending:
            goal_pending.add(e.goal_id)
        if isinstance(e, ev.ContactRecorded):
            contacts.append(
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
                    "pending": is_pending,
                }
            )
        elif isinstance(e, ev.ReferralMade):
            referrals[e.referral_id] = {
                "referral": e.referral_id,
                "event": e.event_id,
                "from": e.from_department,
                "to": e.to_department,
                "reason": e.reason,
                "outcome": None,
                "outcome_note": "",
                "pending": is_pending,
            }
        elif isinstance(e, ev.ReferralOutcome) and e.referral_id in referrals:
            referrals[e.referral_id].update(
                outcome="arrived" if e.arrived else "not arrived",
                outcome_note=e.note,
                pending=referrals[e.referral_id]["pending"] or is_pending,
            )
        elif isinstance(e, ev.DecisionMade):
            decisions.append(
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
                    "pending": is_pending,
                }
            )
        elif isinstance(e, ev.AssessmentRecorded):
            assessments.append(
                {
                    "event": e.event_id,
                    "persons": e.persons,
                    "department": e.department,
                    "development": e.development,
                    "parenting_capacity": e.parenting_capacity,
                    "family_environment": e.family_environment,
                    "summary": e.summary,
                    "occurred_at": e.occurred_at,
                    "pending": is_pending,
                }
            )
        elif isinstance(e, ev.SharedOnLegalBasis):
            shares[e.share_id] = {
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
                "pending": is_pending,
            }
        elif isinstance(e, ev.ActivityAdded):
            activities[e.activity_id] = {
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
                "pending": is_pending,
            }
        elif isinstance(e, (ev.ActivityStarted, ev.ActivityEnded, ev.FinancingAgreed)):
            row = activities.get(e.activity_id)
            if row is None:
                continue
            row["pending"] = row["pending"] or is_pending
            if isinstance(e, ev.ActivityStarted):
                row.update(state="running", started_on=e.on or e.occurred_at.date())
            elif isinstance(e, ev.ActivityEnded):
                row.update(state="ended", ended_on=e.on or e.occurred_at.date())
            else:
                row["financing"] = {"shares": dict(e.shares), "granted_by": e.granted_by, "paid_by": e.paid_by}
        elif isinstance(e, ev.ErasureRequested):
            erasures[e.request_id] = {
                "request": e.request_id,
                "event": e.event_id,
                "requested_by": e.requested_by,
                "reason": e.reason,
                "requested_at": e.occurred_at,
                "decision": "awaiting decision",
                "legal_basis": None,
                "decision_reason": "",
                "decided_at": None,
                "pending": is_pending,
            }
        elif isinstance(e, ev.ErasureDecided) and e.request_id in erasures:
            erasures[e.request_id].update(
                decision="granted" if e.granted else "refused",
                legal_basis=e.legal_basis,
                decision_reason=e.reason,
                decided_at=e.occurred_at,
                pending=erasures[e.request_id]["pending"] or is_pending,
            )
        elif isinstance(e, ev.ConflictFlagged):
            conflicts[e.conflict_id] = {
                "conflict": e.conflict_id,
                "event": e.event_id,
                "rule": e.rule,
                "events": e.events,
                "description": e.description,
                "resolved": s.conflicts.get(e.conflict_id, False),
                "status": "open",
                "resolution": None,
                "resolved_by": None,
                "pending": is_pending,
            }
        elif isinstance(e, ev.ConflictResolved) and e.conflict_id in conflicts:
            conflicts[e.conflict_id].update(
                status="resolved",
                resolution=e.resolution,
                resolved_by=e.header.author,
                pending=conflicts[e.conflict_id]["pending"] or is_pending,
            )
    return {
        "case": s.case_id,
        "kind": s.kind,
        "lead": s.lead,
        "status": s.status,
        "coordinator": None if s.coordinator is None else {"worker": s.coordinator[0], "department": s.coordinator[1]},
        "team": s.parties(),
        "confirmed_seq": view.confirmed_seq,
        "pending": len(pending),
        "persons": [
            {
                "person": p.person_id,
                "role": p.role,
                "name": p.name,
                "cpr": p.cpr,
                "birth_date": p.birth_date,
            }
            for p in s.persons.values()
        ],
        "consents": [
            {
                "consent": c.consent_id,
                "subject": c.subject,
                "given_by": c.given_by,
                "recipients": c.recipients,
                "categories": c.categories,
                "purpose": c.purpose,
                "valid_until": c.valid_until,
                "withdrawn": c.withdrawn_at,
            }
            for c in s.consents.values()
        ],
        "shares": list(shares.values()),
        "goals": [
            {
                "goal": g.goal_id,
                "text": g.text,
                "owner": g.owner,
                "person": g.person,
                "parent": g.parent_goal,
                "revision": g.revision,
                "revisions": g.history,
                "scores": g.scores,
                "closed": g.closed,
                "pending": g.goal_id in goal_pending,
            }
            for g in s.goals.values()
        ],
        "activities": list(activities.values()),
        "assessments": assessments,
        "contacts": contacts,
        "referrals": list(referrals.values()),
        "decisions": decisions,
        "erasure_requests": list(erasures.values()),
        "conflicts": list(conflicts.values()),
        "events": [
            {
                "event": e.event_id,
                "type": e.header.topic,
                "department": e.department,
                "author": e.header.author,
                "occurred_at": e.occurred_at,
                "pending": p,
            }
            for e, p in view.events
        ],
    }
