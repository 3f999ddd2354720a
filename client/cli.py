"""Command group of the field laptop: `tovholder client ...`.

Everything but `init` and `sync` works without a connection. The passphrase comes from
TOVHOLDER_PASSPHRASE or a prompt, never from the command line. Each recording command
prints the new event's id and the id of what it made; `--json` prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from client.errors import AlreadyEnrolled
from client.laptop import CaseView, Laptop, read_passphrase
from client.store import store_path
from client.sync import Backoff, Syncer, enroll_laptop
from core import events as ev
from core.console import emit
from core.errors import InvalidInput
from core.runtime import tune_for_throughput
from core.sealing import from_micros

SERVER_ENV = "TOVHOLDER_SERVER"


def register(groups: Any) -> None:
    """Add the `client` command group to the `tovholder` parser."""
    client = groups.add_parser(
        "client",
        help="the field laptop: record offline, then sync",
        description="Record on a field laptop, with or without a connection, and sync later.",
    )
    client.add_argument("--data", metavar="DIR", type=Path, help="the laptop's data folder")
    sub = client.add_subparsers(dest="client_command", metavar="COMMAND", required=True)

    def leaf(parent: Any, name: str, func: Any, help: str, *, json: bool = True) -> Any:
        p = parent.add_parser(name, help=help, description=help)
        if json:
            p.add_argument("--json", action="store_true", help="print one JSON document")
        p.set_defaults(func=func)
        return p

    def group(name: str, help: str) -> Any:
        g = sub.add_parser(name, help=help, description=help)
        return g.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)

    p = leaf(sub, "init", cmd_init, "enroll this laptop with a server and create its store")
    p.add_argument("dir", metavar="DIR", type=Path, help="the data folder to create")
    p.add_argument("--server", help=f"the server's URL (or {SERVER_ENV})")
    p.add_argument("--code", required=True, help="the one-time enrollment code from IT")
    p.add_argument("--ca", type=Path, help="PEM file of the server's CA, for https")

    case = group("case", "open, show and list cases")
    p = leaf(case, "open", cmd_case_open, "open a new case (prints the case id)")
    p.add_argument("--kind", required=True, choices=("citizen", "family"))
    p.add_argument("--lead", required=True, metavar="DEPT", help="the lead department")
    p.add_argument("--reason", default="")
    p = leaf(
        case,
        "transfer",
        cmd_case_transfer,
        "transfer the case to another lead department, with its whole history",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("--to", required=True, metavar="DEPT", help="the new lead department")
    p.add_argument("--reason", default="", help='e.g. "turned 18: to adult services"')
    p = leaf(case, "show", cmd_case_show, "the case as this worker sees it, pending events marked")
    p.add_argument("case", metavar="CASE")
    leaf(case, "list", cmd_case_list, "the cases held on this laptop")

    p = leaf(group("person", "persons of a case"), "add", cmd_person_add, "add a person to a case")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--role", required=True, choices=ev.PERSON_ROLES)
    p.add_argument("--name", required=True)
    p.add_argument("--cpr")
    p.add_argument("--birth-date", metavar="YYYY-MM-DD")

    p = leaf(
        group("team", "the departments that are parties"),
        "add",
        cmd_team_add,
        "make a department a party to the case",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("--department", required=True, metavar="DEPT")
    p.add_argument("--worker", metavar="ID")
    p.add_argument("--role", default="caseworker", dest="member_role")

    p = leaf(
        group("coordinator", "the case's coordinator"),
        "assign",
        cmd_coordinator,
        "assign the coordinator (tovholder)",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("--worker", required=True, metavar="ID")
    p.add_argument("--department", metavar="DEPT", help="default: this worker's department")
    p.add_argument("--reason", default="intake", choices=("intake", "handover", "cover"))

    consent = group("consent", "consents given and withdrawn")
    p = leaf(consent, "give", cmd_consent_give, "record a consent (prints the consent id)")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--subject", required=True, metavar="PERSON")
    p.add_argument("--given-by", required=True, metavar="PERSON[,PERSON...]")
    p.add_argument("--to", required=True, metavar="DEPT[,DEPT...]")
    p.add_argument("--categories", required=True, metavar="CAT[,CAT...]")
    p.add_argument("--purpose", required=True)
    p.add_argument("--until", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--child-view", help="the child's own view (required from 10)")
    p = leaf(consent, "withdraw", cmd_consent_withdraw, "withdraw a consent")
    p.add_argument("case", metavar="CASE")
    p.add_argument("consent", metavar="CONSENT_ID")
    p.add_argument("--reason", default="")

    p = leaf(
        group("contact", "contacts with the citizen"),
        "record",
        cmd_contact,
        "record a contact (prints the contact id)",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("--kind", required=True, choices=ev.CONTACT_KINDS)
    p.add_argument("--place", default="")
    p.add_argument(
        "--categories", metavar="CAT[,CAT...]", help="information categories (default contact)"
    )
    p.add_argument(
        "--challenges", metavar="TEXT[,TEXT...]", help="challenges raised, e.g. finances,housing"
    )
    p.add_argument("--person", metavar="PERSON[,PERSON...]", help="the persons it concerns")
    p.add_argument("--one-off", action="store_true", help="a one-off contact, not an ongoing one")
    p.add_argument("--note", default="")

    p = leaf(
        group("meeting", "meetings held in the case"),
        "record",
        cmd_meeting,
        "record a meeting that was held (prints the meeting id)",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("--kind", required=True, choices=ev.MEETING_KINDS)
    p.add_argument(
        "--participants", metavar="DEPT[,DEPT...]", help="the departments taking part"
    )
    p.add_argument("--chair", default="", metavar="WORKER")
    p.add_argument("--minute-taker", default="", metavar="WORKER")
    p.add_argument("--minutes", default="")
    p.add_argument("--person", metavar="PERSON[,PERSON...]", help="the persons it concerns")

    goal = group("goal", "goals of the shared plan")
    p = leaf(goal, "add", cmd_goal_add, "add a goal (prints the goal id)")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--person", required=True, metavar="PERSON")
    p.add_argument("--text", required=True)
    p.add_argument("--owner", required=True, metavar="DEPT")
    p.add_argument("--parent", metavar="GOAL", help="makes this a sub-goal")
    p.add_argument("--due", metavar="YYYY-MM-DD")
    p.add_argument("--set-by-citizen", action="store_true")
    p = leaf(goal, "revise", cmd_goal_revise, "revise a goal from the revision you see")
    p.add_argument("case", metavar="CASE")
    p.add_argument("goal", metavar="GOAL")
    p.add_argument("--text", required=True)

    p = leaf(
        group("progress", "progress on goals"),
        "record",
        cmd_progress,
        "record a small-step score (1 to 5)",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("goal", metavar="GOAL")
    p.add_argument("--score", required=True, type=int, choices=range(1, 6), metavar="1..5")
    p.add_argument("--note", default="")

    p = leaf(
        group("referral", "referrals to other departments"),
        "make",
        cmd_referral,
        "refer the citizen to another department (prints the referral id)",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("--to", required=True, metavar="DEPT")
    p.add_argument("--reason", required=True)
    p.add_argument("--person", metavar="PERSON[,PERSON...]")
    p.add_argument(
        "--categories", metavar="CAT[,CAT...]", help="information categories (default plan)"
    )

    p = leaf(
        group("decision", "decisions in a legal area"),
        "record",
        cmd_decision,
        "record a decision of your department's legal area (prints the decision id)",
    )
    p.add_argument("case", metavar="CASE")
    p.add_argument("--legal-basis", required=True, help='e.g. "aktivloven § 81"')
    p.add_argument("--kind", required=True, choices=ev.DECISION_KINDS)
    p.add_argument("--considerations", required=True)
    p.add_argument("--facts", required=True, metavar="EVENT_ID[,...]")
    p.add_argument("--explanation", required=True)
    p.add_argument("--amount", type=int, help="in øre")
    p.add_argument("--person", metavar="PERSON[,PERSON...]")

    p = leaf(sub, "sync", cmd_sync, "push the outbox and pull the caseload")
    p.add_argument("--batch", type=int, default=500, help="events per pushed batch")
    p.add_argument("--page", type=int, default=1000, help="events per pulled page")
    p.add_argument("--attempts", type=int, default=6, help="tries per request before giving up")
    leaf(sub, "status", cmd_status, "pending and rejected events, last sync, cursor")


# --- helpers ----------------------------------------------------------------------------


def _laptop(args: argparse.Namespace) -> Laptop:
    if args.data is None:
        raise InvalidInput("say which laptop store to use: tovholder client --data DIR ...")
    return Laptop.open(args.data)


def _list(text: str | None) -> tuple[str, ...]:
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


def _recorded(args: argparse.Namespace, event: ev.CaseEvent, **made: str) -> None:
    emit({"event": event.event_id, "case": event.case_id, **made}, as_json=args.json)


# --- commands ---------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> None:
    server = args.server or os.environ.get(SERVER_ENV)
    if not server:
        raise InvalidInput(f"say which server to enroll with: --server URL or {SERVER_ENV}")
    server = server.rstrip("/")
    if store_path(args.dir).exists():
        raise AlreadyEnrolled(f"{args.dir} already holds a laptop store; use another folder")
    ca_pem = args.ca.read_text() if args.ca else None
    passphrase = read_passphrase(confirm=True)
    meta = asyncio.run(enroll_laptop(args.dir, server, args.code, passphrase, ca_pem=ca_pem))
    emit(
        {k: meta[k] for k in ("device_id", "worker", "department", "role", "server_url")},
        as_json=args.json,
        title="enrolled",
    )


def cmd_case_open(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        e = laptop.open_case(args.kind, args.lead, args.reason)
    _recorded(args, e)


def cmd_case_transfer(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        lead = laptop.view(args.case).state.lead
        e = laptop.record(
            args.case,
            ev.CaseTransferred,
            from_department=lead or "",
            to_department=args.to,
            reason=args.reason,
        )
    _recorded(args, e)


def cmd_case_list(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        rows = laptop.cases()
    emit(
        rows,
        as_json=args.json,
        title="cases on this laptop",
        columns=("case", "kind", "lead", "status", "persons", "confirmed", "pending"),
    )


def cmd_person_add(args: argparse.Namespace) -> None:
    person_id = ev.new_id()
    birth = ev.parse_date(args.birth_date, "--birth-date") if args.birth_date else None
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.PersonAdded,
            person_id=person_id,
            role=args.role,
            name=args.name,
            cpr=args.cpr,
            birth_date=birth,
            persons=(person_id,),
        )
    _recorded(args, e, person=person_id)


def cmd_team_add(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.TeamMemberJoined,
            member_department=args.department,
            worker=args.worker,
            member_role=args.member_role,
        )
    _recorded(args, e)


def cmd_coordinator(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.CoordinatorAssigned,
            worker=args.worker,
            coordinator_department=args.department or laptop.author.department,
            reason=args.reason,
        )
    _recorded(args, e)


def cmd_consent_give(args: argparse.Namespace) -> None:
    consent_id = ev.new_id()
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.ConsentGiven,
            consent_id=consent_id,
            subject=args.subject,
            given_by=_list(args.given_by),
            recipients=_list(args.to),
            consent_categories=_list(args.categories),
            purpose=args.purpose,
            valid_until=ev.parse_date(args.until, "--until"),
            child_view=args.child_view,
            persons=(args.subject,),
        )
    _recorded(args, e, consent=consent_id)


def cmd_consent_withdraw(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        consent = laptop.view(args.case).state.consents.get(args.consent)
        persons = (consent.subject,) if consent else ()
        e = laptop.record(
            args.case,
            ev.ConsentWithdrawn,
            consent_id=args.consent,
            reason=args.reason,
            persons=persons,
        )
    _recorded(args, e, consent=args.consent)


def cmd_contact(args: argparse.Namespace) -> None:
    contact_id = ev.new_id()
    fields: dict[str, Any] = {}
    if args.categories:
        fields["categories"] = _list(args.categories)
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.ContactRecorded,
            contact_id=contact_id,
            kind=args.kind,
            place=args.place,
            challenges=_list(args.challenges),
            ongoing=not args.one_off,
            note=args.note,
            persons=_list(args.person),
            **fields,
        )
    _recorded(args, e, contact=contact_id)


def cmd_meeting(args: argparse.Namespace) -> None:
    meeting_id = ev.new_id()
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.MeetingHeld,
            meeting_id=meeting_id,
            kind=args.kind,
            participants=_list(args.participants),
            chair=args.chair,
            minute_taker=args.minute_taker,
            minutes=args.minutes,
            persons=_list(args.person),
        )
    _recorded(args, e, meeting=meeting_id)


def cmd_goal_add(args: argparse.Namespace) -> None:
    goal_id = ev.new_id()
    due = ev.parse_date(args.due, "--due") if args.due else None
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.GoalAdded,
            goal_id=goal_id,
            text=args.text,
            owner=args.owner,
            parent_goal=args.parent,
            due=due,
            set_by_citizen=args.set_by_citizen,
            persons=(args.person,),
        )
    _recorded(args, e, goal=goal_id)


def cmd_goal_revise(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        e = laptop.revise_goal(args.case, args.goal, args.text)
    _recorded(args, e, goal=args.goal)


def cmd_progress(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        goal = laptop.view(args.case).state.goals.get(args.goal)
        persons = (goal.person,) if goal and goal.person else ()
        e = laptop.record(
            args.case,
            ev.ProgressRecorded,
            goal_id=args.goal,
            score=args.score,
            note=args.note,
            persons=persons,
        )
    _recorded(args, e, goal=args.goal)


def cmd_referral(args: argparse.Namespace) -> None:
    referral_id = ev.new_id()
    fields: dict[str, Any] = {}
    if args.categories:
        fields["categories"] = _list(args.categories)
    with _laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.ReferralMade,
            referral_id=referral_id,
            from_department=laptop.author.department,
            to_department=args.to,
            reason=args.reason,
            persons=_list(args.person),
            **fields,
        )
    _recorded(args, e, referral=referral_id)


def cmd_decision(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        view = laptop.view(args.case)
        facts = _list(args.facts)
        missing = [f for f in facts if f not in view.state.event_ids]
        if missing:
            raise InvalidInput(
                f"the facts must be events of the case; not found: {', '.join(missing)}"
            )
        decision_id = ev.new_id()
        e = laptop.record_decision(
            args.case,
            args.legal_basis,
            decision_id=decision_id,
            kind=args.kind,
            considerations=args.considerations,
            facts=facts,
            explanation=args.explanation,
            amount=args.amount,
            persons=_list(args.person),
        )
    _recorded(args, e, decision=decision_id)


def cmd_case_show(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        view = laptop.view(args.case)
    data = case_document(view)
    if args.json:
        emit(data, as_json=True)
        return
    emit(
        {
            k: data[k]
            for k in (
                "case",
                "kind",
                "lead",
                "status",
                "coordinator",
                "team",
                "confirmed_seq",
                "pending",
            )
        },
        as_json=False,
        title="case",
    )
    for name, cols in (
        ("persons", ("person", "role", "name", "birth_date")),
        (
            "consents",
            ("consent", "subject", "recipients", "categories", "valid_until", "withdrawn"),
        ),
        ("goals", ("goal", "text", "owner", "revision", "parent", "scores", "pending")),
        ("contacts", ("contact", "kind", "place", "occurred_at", "note", "pending")),
        ("referrals", ("referral", "to", "reason", "pending")),
        ("decisions", ("decision", "legal_basis", "kind", "amount", "pending")),
        ("conflicts", ("conflict", "rule", "events", "resolved")),
    ):
        if data[name]:
            emit(data[name], as_json=False, title=name, columns=cols)


def case_document(view: CaseView) -> dict[str, Any]:
    """The worker's view of a case as one document; pending events are marked."""
    s = view.state
    pending = set(view.pending)
    goal_pending: set[str] = set()
    contacts, referrals, decisions, conflicts = [], [], [], []
    for e, is_pending in view.events:
        if isinstance(e, (ev.GoalAdded, ev.GoalRevised)) and is_pending:
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
            referrals.append(
                {
                    "referral": e.referral_id,
                    "event": e.event_id,
                    "from": e.from_department,
                    "to": e.to_department,
                    "reason": e.reason,
                    "pending": is_pending,
                }
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
        elif isinstance(e, ev.ConflictFlagged):
            conflicts.append(
                {
                    "conflict": e.conflict_id,
                    "event": e.event_id,
                    "rule": e.rule,
                    "events": e.events,
                    "description": e.description,
                    "resolved": s.conflicts.get(e.conflict_id, False),
                }
            )
    return {
        "case": s.case_id,
        "kind": s.kind,
        "lead": s.lead,
        "status": s.status,
        "coordinator": None
        if s.coordinator is None
        else {"worker": s.coordinator[0], "department": s.coordinator[1]},
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
        "contacts": contacts,
        "referrals": referrals,
        "decisions": decisions,
        "conflicts": conflicts,
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


def cmd_sync(args: argparse.Namespace) -> None:
    tune_for_throughput()
    with _laptop(args) as laptop:
        syncer = Syncer(
            laptop,
            batch_size=args.batch,
            page_size=args.page,
            progress=not args.json,
            backoff=Backoff(attempts=max(1, args.attempts)),
        )
        report = asyncio.run(syncer.sync())
    emit(report.as_dict(), as_json=args.json, title="sync")


def cmd_status(args: argparse.Namespace) -> None:
    with _laptop(args) as laptop:
        store = laptop.store
        last = store.meta("last_sync")
        pending = store.outbox(statuses=("pending",))
        sent = store.outbox(statuses=("sent",))
        rejected = store.outbox(statuses=("rejected",))
        data = {
            "device": laptop.device_id,
            "worker": laptop.author.worker,
            "department": laptop.author.department,
            "role": laptop.author.role,
            "server": store.meta("server_url"),
            "pending": len(pending),
            "awaiting_confirmation": len(sent),
            "rejected": [
                {"event": r.event_id, "case": r.case_id, "reason": r.reason} for r in rejected
            ],
            "cases": len(store.held_cases()),
            "confirmed_events": store.count_confirmed(),
            "cursor": int(store.meta("cursor", 0)),
            "last_sync": None if last is None else from_micros(last),
        }
    if args.json:
        emit(data, as_json=True)
        return
    emit({k: v for k, v in data.items() if k != "rejected"}, as_json=False, title="status")
    if data["rejected"]:
        emit(
            data["rejected"],
            as_json=False,
            title="rejected by the server",
            columns=("event", "case", "reason"),
        )
