"""The work with the citizen: `contact`, `meeting`, `assessment`, `referral`, `decision`
and `conflict` commands."""

from __future__ import annotations

import argparse

from client.commands.common import Parsers, categories_given, first_event, open_laptop, persons_of, recorded, split
from core import events as ev
from core.errors import InvalidInput, UnknownReference


def register(p: Parsers) -> None:
    a = p.leaf(
        p.group("contact", "contacts with the citizen"),
        "record",
        cmd_contact,
        "record a contact (prints the contact id)",
    )
    a.add_argument("case", metavar="CASE")
    a.add_argument("--kind", required=True, choices=ev.CONTACT_KINDS)
    a.add_argument("--place", default="")
    a.add_argument("--categories", metavar="CAT[,CAT...]", help="information categories (default contact)")
    a.add_argument("--challenges", metavar="TEXT[,TEXT...]", help="challenges raised, e.g. finances,housing")
    a.add_argument("--person", metavar="PERSON[,PERSON...]", help="the persons it concerns")
    a.add_argument("--one-off", action="store_true", help="a one-off contact, not an ongoing one")
    a.add_argument("--note", default="")

    a = p.leaf(
        p.group("meeting", "meetings held in the case"),
        "record",
        cmd_meeting,
        "record a meeting that was held (prints the meeting id)",
    )
    a.add_argument("case", metavar="CASE")
    a.add_argument("--kind", required=True, choices=ev.MEETING_KINDS)
    a.add_argument("--participants", metavar="DEPT[,DEPT...]", help="the departments taking part")
    a.add_argument("--chair", default="", metavar="WORKER")
    a.add_argument("--minute-taker", default="", metavar="WORKER")
    a.add_argument("--minutes", default="")
    a.add_argument("--person", metavar="PERSON[,PERSON...]", help="the persons it concerns")

    a = p.leaf(
        p.group("assessment", "assessments of a child's situation (ICS)"),
        "record",
        cmd_assessment,
        "record an assessment of the three ICS areas and its summary",
    )
    a.add_argument("case", metavar="CASE")
    a.add_argument("--development", required=True, help="the child's development")
    a.add_argument("--parenting-capacity", required=True)
    a.add_argument("--family-environment", required=True, help="family and environment")
    a.add_argument("--summary", required=True, help="one combined summary")
    a.add_argument(
        "--person", metavar="PERSON[,PERSON...]", help="the persons it concerns (default: the case's children)"
    )

    referral = p.group("referral", "referrals to other departments")
    a = p.leaf(referral, "make", cmd_referral, "refer the citizen to another department (prints the referral id)")
    a.add_argument("case", metavar="CASE")
    a.add_argument("--to", required=True, metavar="DEPT")
    a.add_argument("--reason", required=True)
    a.add_argument("--person", metavar="PERSON[,PERSON...]")
    a.add_argument("--categories", metavar="CAT[,CAT...]", help="information categories (default plan)")
    a = p.leaf(referral, "outcome", cmd_referral_outcome, "record whether the citizen arrived where referred")
    a.add_argument("case", metavar="CASE")
    a.add_argument("referral", metavar="REFERRAL")
    arrived = a.add_mutually_exclusive_group(required=True)
    arrived.add_argument("--arrived", action="store_true", dest="arrived", default=None)
    arrived.add_argument("--not-arrived", action="store_false", dest="arrived")
    a.add_argument("--note", default="")

    a = p.leaf(
        p.group("decision", "decisions in a legal area"),
        "record",
        cmd_decision,
        "record a decision of your department's legal area (prints the decision id)",
    )
    a.add_argument("case", metavar="CASE")
    a.add_argument("--legal-basis", required=True, help='e.g. "aktivloven § 81"')
    a.add_argument("--kind", required=True, choices=ev.DECISION_KINDS)
    a.add_argument("--considerations", required=True)
    a.add_argument("--facts", required=True, metavar="EVENT_ID[,...]")
    a.add_argument("--explanation", required=True)
    a.add_argument("--amount", type=int, help="in øre")
    a.add_argument("--person", metavar="PERSON[,PERSON...]")

    a = p.leaf(
        p.group("conflict", "conflicts the server flagged between concurrent events"),
        "resolve",
        cmd_conflict_resolve,
        "resolve a flagged conflict (the coordinator's task)",
    )
    a.add_argument("case", metavar="CASE")
    a.add_argument("conflict", metavar="CONFLICT")
    a.add_argument("--resolution", required=True, help="how the clash was settled")


def cmd_contact(args: argparse.Namespace) -> None:
    contact_id = ev.new_id()
    with open_laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.ContactRecorded,
            contact_id=contact_id,
            kind=args.kind,
            place=args.place,
            challenges=split(args.challenges),
            ongoing=not args.one_off,
            note=args.note,
            persons=split(args.person),
            **categories_given(args),
        )
    recorded(args, e, contact=contact_id)


def cmd_meeting(args: argparse.Namespace) -> None:
    meeting_id = ev.new_id()
    with open_laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.MeetingHeld,
            meeting_id=meeting_id,
            kind=args.kind,
            participants=split(args.participants),
            chair=args.chair,
            minute_taker=args.minute_taker,
            minutes=args.minutes,
            persons=split(args.person),
        )
    recorded(args, e, meeting=meeting_id)


def cmd_assessment(args: argparse.Namespace) -> None:
    texts = (args.development, args.parenting_capacity, args.family_environment, args.summary)
    if not all(t.strip() for t in texts):
        raise InvalidInput("an assessment describes all three ICS areas and gives a summary")
    with open_laptop(args) as laptop:
        persons = split(args.person)
        if not persons:
            state = laptop.view(args.case).state
            persons = tuple(p.person_id for p in state.persons.values() if p.role == "child")
        e = laptop.record(
            args.case,
            ev.AssessmentRecorded,
            development=args.development,
            parenting_capacity=args.parenting_capacity,
            family_environment=args.family_environment,
            summary=args.summary,
            persons=persons,
        )
    recorded(args, e)


def cmd_referral(args: argparse.Namespace) -> None:
    referral_id = ev.new_id()
    with open_laptop(args) as laptop:
        e = laptop.record(
            args.case,
            ev.ReferralMade,
            referral_id=referral_id,
            from_department=laptop.author.department,
            to_department=args.to,
            reason=args.reason,
            persons=split(args.person),
            **categories_given(args),
        )
    recorded(args, e, referral=referral_id)


def cmd_referral_outcome(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        made = first_event(laptop.view(args.case), ev.ReferralMade, referral_id=args.referral)
        e = laptop.record(
            args.case,
            ev.ReferralOutcome,
            referral_id=args.referral,
            arrived=bool(args.arrived),
            note=args.note,
            persons=made.persons if made is not None else (),
        )
    recorded(args, e, referral=args.referral)


def cmd_decision(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        view = laptop.view(args.case)
        facts = split(args.facts)
        missing = [f for f in facts if f not in view.state.event_ids]
        if missing:
            raise InvalidInput(f"the facts must be events of the case; not found: {', '.join(missing)}")
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
            persons=split(args.person),
        )
    recorded(args, e, decision=decision_id)


def cmd_conflict_resolve(args: argparse.Namespace) -> None:
    if not args.resolution.strip():
        raise InvalidInput("a resolution says how the conflict was settled")
    with open_laptop(args) as laptop:
        view = laptop.view(args.case)
        flagged = first_event(view, ev.ConflictFlagged, conflict_id=args.conflict)
        if flagged is None:
            raise UnknownReference(f"conflict {args.conflict} is not part of case {args.case}")
        e = laptop.record(
            args.case,
            ev.ConflictResolved,
            conflict_id=args.conflict,
            resolution=args.resolution,
            persons=flagged.persons or persons_of(view, flagged.events),
        )
    recorded(args, e, conflict=args.conflict)
