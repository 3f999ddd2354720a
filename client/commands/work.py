"""The work with the citizen: `contact`, `meeting`, `assessment`, `referral`, `decision`
and `conflict` commands."""

from __future__ import annotations

import argparse

from client.commands.common import (
    Parsers,
    first_event,
    open_laptop,
    persons_of,
    record,
    record_seen,
    recorded,
    split,
)
from client.laptop import CaseView
from core import events as ev
from core import vocabularies
from core.errors import InvalidInput, UnknownReference
from core.vocabularies import Vocabularies


def register(p: Parsers) -> None:
    _register_contact_and_meeting(p)
    _register_assessment(p)
    _register_referral(p)
    a = p.single(
        "decision",
        "decisions in a legal area",
        "record",
        cmd_decision,
        "record a decision of your department's legal area (prints the decision id)",
    )
    a.add_argument("--legal-basis", required=True, help='e.g. "aktivloven § 81"')
    a.add_argument("--kind", required=True, choices=ev.DECISION_KINDS)
    a.add_argument("--considerations", required=True)
    a.add_argument("--facts", required=True, metavar="EVENT_ID[,...]")
    a.add_argument("--explanation", required=True)
    a.add_argument("--amount", type=int, help="in øre")
    a.add_argument("--person", metavar="PERSON[,PERSON...]")

    a = p.single(
        "conflict",
        "conflicts the server flagged between concurrent events",
        "resolve",
        cmd_conflict_resolve,
        "resolve a flagged conflict (the coordinator's task)",
    )
    a.add_argument("conflict", metavar="CONFLICT")
    a.add_argument("--resolution", required=True, help="how the clash was settled")


def _register_contact_and_meeting(p: Parsers) -> None:
    a = p.single(
        "contact", "contacts with the citizen", "record", cmd_contact, "record a contact (prints the contact id)"
    )
    a.add_argument("--kind", required=True, help=f"one of {', '.join(ev.CONTACT_KINDS)}, or its Danish label")
    a.add_argument("--place", default="")
    a.add_argument("--categories", metavar="CAT[,CAT...]", help="information categories (default contact)")
    a.add_argument(
        "--challenges", metavar="NAME[,NAME...]", help="challenge categories, by name or label: finances,bolig"
    )
    a.add_argument("--person", metavar="PERSON[,PERSON...]", help="the persons it concerns")
    a.add_argument("--one-off", action="store_true", help="a one-off contact, not an ongoing one")
    a.add_argument("--note", default="")

    a = p.single(
        "meeting",
        "meetings held in the case",
        "record",
        cmd_meeting,
        "record a meeting that was held (prints the meeting id)",
    )
    a.add_argument("--kind", required=True, choices=ev.MEETING_KINDS)
    a.add_argument("--participants", metavar="DEPT[,DEPT...]", help="the departments taking part")
    a.add_argument("--chair", default="", metavar="WORKER")
    a.add_argument("--minute-taker", default="", metavar="WORKER")
    a.add_argument("--minutes", default="")
    a.add_argument("--person", metavar="PERSON[,PERSON...]", help="the persons it concerns")
    a.add_argument("--present", metavar="PERSON[,PERSON...]", help="persons of the case present (the young person)")
    a.add_argument("--companion", action="append", default=[], help="an adult a person brings (repeatable)")
    a.add_argument("--expert", action="append", default=[], help="an outside expert taking part (repeatable)")
    a.add_argument(
        "--checked", metavar="ITEM[,ITEM...]", help=f"checklist items gone through: {', '.join(ev.MEETING_CHECKLIST)}"
    )


def _register_assessment(p: Parsers) -> None:
    a = p.single(
        "assessment",
        "assessments of a child's situation (ICS)",
        "record",
        cmd_assessment,
        "record an assessment of the three ICS areas and its summary",
    )
    a.add_argument("--development", required=True, help="the child's development")
    a.add_argument("--parenting-capacity", required=True)
    a.add_argument("--family-environment", required=True, help="family and environment")
    a.add_argument("--summary", required=True, help="one combined summary")
    a.add_argument(
        "--person", metavar="PERSON[,PERSON...]", help="the persons it concerns (default: the case's children)"
    )


def _register_referral(p: Parsers) -> None:
    referral = p.group("referral", "referrals to other departments")
    a = p.on_case(referral, "make", cmd_referral, "refer the citizen to another department (prints the referral id)")
    a.add_argument("--to", required=True, metavar="DEPT")
    a.add_argument("--reason", required=True)
    a.add_argument("--person", metavar="PERSON[,PERSON...]")
    a.add_argument("--categories", metavar="CAT[,CAT...]", help="information categories (default plan)")
    a = p.on_case(referral, "outcome", cmd_referral_outcome, "record whether the citizen arrived where referred")
    a.add_argument("referral", metavar="REFERRAL")
    arrived = a.add_mutually_exclusive_group(required=True)
    arrived.add_argument("--arrived", action="store_true", dest="arrived", default=None)
    arrived.add_argument("--not-arrived", action="store_false", dest="arrived")
    a.add_argument("--note", default="")


def contact_recorded(
    words: Vocabularies,
    *,
    kind: str,
    place: str = "",
    challenges: tuple[str, ...] = (),
    ongoing: bool = True,
    note: str = "",
    persons: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
) -> ev.Payload[ev.ContactRecorded]:
    """A new contact, its kind and challenges named or labelled from the municipality's
    lists; the categories of a contact by default (`contact record` and the app)."""
    chosen = {"categories": words.names_of(vocabularies.CATEGORIES, categories)} if categories else {}
    return ev.payload(
        ev.ContactRecorded,
        contact_id=ev.new_id(),
        kind=words.name_of(vocabularies.CONTACT_KINDS, kind),
        place=place,
        challenges=words.names_of(vocabularies.CHALLENGES, challenges),
        ongoing=ongoing,
        note=note,
        persons=persons,
        **chosen,
    )


def cmd_contact(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        contact = contact_recorded(
            laptop.vocabularies,
            kind=args.kind,
            place=args.place,
            challenges=split(args.challenges),
            ongoing=not args.one_off,
            note=args.note,
            persons=split(args.person),
            categories=split(args.categories),
        )
        e = laptop.record(args.case, contact)
    recorded(args, e, contact=contact.fields["contact_id"])


def meeting_held(
    kind: str,
    *,
    participants: tuple[str, ...] = (),
    chair: str = "",
    minute_taker: str = "",
    minutes: str = "",
    present: tuple[str, ...] = (),
    companions: tuple[str, ...] = (),
    experts: tuple[str, ...] = (),
    checklist: tuple[str, ...] = (),
    persons: tuple[str, ...] = (),
) -> ev.Payload[ev.MeetingHeld]:
    """A meeting that was held, with its minutes (`meeting record` and the app)."""
    return ev.payload(
        ev.MeetingHeld,
        meeting_id=ev.new_id(),
        kind=kind,
        participants=participants,
        chair=chair,
        minute_taker=minute_taker,
        minutes=minutes,
        present=present,
        companions=companions,
        experts=experts,
        checklist=checklist,
        persons=persons,
    )


def cmd_meeting(args: argparse.Namespace) -> None:
    meeting = meeting_held(
        args.kind,
        participants=split(args.participants),
        chair=args.chair,
        minute_taker=args.minute_taker,
        minutes=args.minutes,
        present=split(args.present),
        companions=tuple(args.companion),
        experts=tuple(args.expert),
        checklist=split(args.checked),
        persons=split(args.person),
    )
    record(args, meeting, meeting=meeting.fields["meeting_id"])


def cmd_assessment(args: argparse.Namespace) -> None:
    texts = (args.development, args.parenting_capacity, args.family_environment, args.summary)
    if not all(t.strip() for t in texts):
        raise InvalidInput("an assessment describes all three ICS areas and gives a summary")

    def assessment(view: CaseView) -> ev.Payload[ev.AssessmentRecorded]:
        persons = split(args.person) or tuple(p.person_id for p in view.state.persons.values() if p.role == "child")
        return ev.payload(
            ev.AssessmentRecorded,
            development=args.development,
            parenting_capacity=args.parenting_capacity,
            family_environment=args.family_environment,
            summary=args.summary,
            persons=persons,
        )

    record_seen(args, assessment)


def referral_made(
    from_department: str, to: str, reason: str, persons: tuple[str, ...], categories: tuple[str, ...] = ()
) -> ev.Payload[ev.ReferralMade]:
    """A referral from the worker's department (`referral make` and the app)."""
    return ev.payload(
        ev.ReferralMade,
        referral_id=ev.new_id(),
        from_department=from_department,
        to_department=to,
        reason=reason,
        persons=persons,
        **({"categories": vocabularies.DEFAULT.names_of(vocabularies.CATEGORIES, categories)} if categories else {}),
    )


def cmd_referral(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        made = referral_made(laptop.author.department, args.to, args.reason, split(args.person), split(args.categories))
        e = laptop.record(args.case, made)
    recorded(args, e, referral=made.fields["referral_id"])


def referral_outcome(view: CaseView, referral_id: str, arrived: bool, note: str = "") -> ev.Payload[ev.ReferralOutcome]:
    """Whether the citizen arrived where referred, about the referral's persons
    (`referral outcome` and the app)."""
    made = first_event(view, ev.ReferralMade, referral_id=referral_id)
    persons = made.persons if made is not None else ()
    return ev.payload(ev.ReferralOutcome, referral_id=referral_id, arrived=arrived, note=note, persons=persons)


def cmd_referral_outcome(args: argparse.Namespace) -> None:
    record_seen(
        args, lambda view: referral_outcome(view, args.referral, bool(args.arrived), args.note), referral=args.referral
    )


def cmd_decision(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        view = laptop.view(args.case)
        facts = split(args.facts)
        missing = [f for f in facts if f not in view.state.event_ids]
        if missing and not view.provisional:  # on a partial case, the server judges the facts
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


def conflict_resolved(view: CaseView, conflict_id: str, resolution: str) -> ev.Payload[ev.ConflictResolved]:
    """The coordinator's resolution of a flagged conflict, about the persons its events
    concern (`conflict resolve` and the app)."""
    if not resolution.strip():
        raise InvalidInput("a resolution says how the conflict was settled")
    flagged = first_event(view, ev.ConflictFlagged, conflict_id=conflict_id)
    if flagged is None:
        raise UnknownReference(f"conflict {conflict_id} is not part of case {view.state.case_id}")
    persons = flagged.persons or persons_of(view, flagged.events)
    return ev.payload(ev.ConflictResolved, conflict_id=conflict_id, resolution=resolution, persons=persons)


def cmd_conflict_resolve(args: argparse.Namespace) -> None:
    if not args.resolution.strip():
        raise InvalidInput("a resolution says how the conflict was settled")
    record_seen(args, lambda view: conflict_resolved(view, args.conflict, args.resolution), conflict=args.conflict)
