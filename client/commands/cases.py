"""The case and who is in it: `case`, `person`, `team` and `coordinator` commands."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from client.commands import anonymous
from client.commands.common import Parsers, day, open_laptop, record, recorded
from client.commands.show import cmd_case_show
from core import events as ev
from core.console import emit
from core.errors import InvalidInput, RuleViolation, UnknownReference


def register(p: Parsers) -> None:
    anonymous.register(p, _register_case(p))
    _register_person(p)
    _register_team(p)
    a = p.single(
        "coordinator", "the case's coordinator", "assign", cmd_coordinator, "assign the coordinator (tovholder)"
    )
    a.add_argument("--worker", required=True, metavar="ID")
    a.add_argument("--department", metavar="DEPT", help="default: this worker's department")
    a.add_argument("--reason", default="intake", choices=("intake", "handover", "cover"))


def _register_case(p: Parsers) -> Any:
    """The `case` commands; returns their group, which `case link` joins."""
    case = p.group("case", "open, close, reopen, transfer, link, show and list cases")
    a = p.leaf(case, "open", cmd_case_open, "open a new case (prints the case id)")
    a.add_argument("--kind", required=True, choices=ev.CASE_KINDS)
    a.add_argument("--lead", required=True, metavar="DEPT", help="the lead department")
    a.add_argument("--reason", default="")
    a = p.on_case(case, "close", cmd_case_close, "close the case (its retention clock starts)")
    a.add_argument("--reason", default="")
    a = p.on_case(case, "reopen", cmd_case_reopen, "reopen a closed case (its retention clock stops)")
    a.add_argument("--reason", default="")
    a = p.on_case(
        case,
        "transfer",
        cmd_case_transfer,
        "transfer the case to another lead department, with its whole history",
    )
    a.add_argument("--to", required=True, metavar="DEPT", help="the new lead department")
    a.add_argument("--reason", default="", help='e.g. "turned 18: to adult services"')
    p.on_case(case, "show", cmd_case_show, "the case as this worker sees it, pending events marked")
    p.leaf(case, "list", cmd_case_list, "the cases held on this laptop")
    return case


def _register_person(p: Parsers) -> None:
    person = p.group("person", "persons of a case")
    a = p.on_case(person, "add", cmd_person_add, "add a person to a case (prints the person id)")
    a.add_argument("--role", required=True, choices=ev.PERSON_ROLES)
    a.add_argument("--name", required=True)
    a.add_argument("--cpr")
    a.add_argument("--birth-date", metavar="YYYY-MM-DD")
    a = p.on_case(person, "correct", cmd_person_correct, "correct a person's details (a new event; nothing is edited)")
    a.add_argument("person", metavar="PERSON")
    a.add_argument("--role", choices=ev.PERSON_ROLES)
    a.add_argument("--name")
    a.add_argument("--cpr")
    a.add_argument("--birth-date", metavar="YYYY-MM-DD")


def _register_team(p: Parsers) -> None:
    team = p.group("team", "the departments that are parties")
    a = p.on_case(team, "add", cmd_team_add, "make a department a party to the case")
    a.add_argument("--department", required=True, metavar="DEPT")
    a.add_argument("--worker", metavar="ID")
    a.add_argument("--role", default="caseworker", dest="member_role")
    a = p.on_case(
        team,
        "leave",
        cmd_team_leave,
        "a worker leaves the team, or (without --worker) the department stops being a party",
    )
    a.add_argument("--department", required=True, metavar="DEPT")
    a.add_argument("--worker", metavar="ID")


def cmd_case_open(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        e = laptop.open_case(args.kind, args.lead, args.reason)
    recorded(args, e)


def cmd_case_close(args: argparse.Namespace) -> None:
    record(args, ev.payload(ev.CaseClosed, reason=args.reason))


def cmd_case_reopen(args: argparse.Namespace) -> None:
    record(args, ev.payload(ev.CaseReopened, reason=args.reason))


def cmd_case_transfer(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        lead = laptop.view(args.case).state.lead
        transfer = ev.payload(ev.CaseTransferred, from_department=lead or "", to_department=args.to, reason=args.reason)
        e = laptop.record(args.case, transfer)
    recorded(args, e)


def cmd_case_list(args: argparse.Namespace) -> None:
    with open_laptop(args, reading=True) as laptop:
        rows = laptop.cases()
    emit(
        rows,
        as_json=args.json,
        title="cases on this laptop",
        columns=("case", "kind", "lead", "status", "persons", "confirmed", "pending", "not_shown"),
    )
    if not args.json and any(r["provisional"] for r in rows):
        print(
            "Provisional until the next sync: events not shown are not for your department to see "
            "(or were hidden here since a consent expired); the server judges again at the next sync."
        )


def person_added(
    role: str, name: str, cpr: str | None = None, birth_date: date | None = None
) -> ev.Payload[ev.PersonAdded]:
    """A new person of a case (`person add` and the app)."""
    person_id = ev.new_id()
    return ev.payload(
        ev.PersonAdded,
        person_id=person_id,
        role=role,
        name=name,
        cpr=cpr,
        birth_date=birth_date,
        persons=(person_id,),
    )


def cmd_person_add(args: argparse.Namespace) -> None:
    added = person_added(args.role, args.name, args.cpr, day(args.birth_date, "--birth-date"))
    record(args, added, person=added.fields["person_id"])


def cmd_person_correct(args: argparse.Namespace) -> None:
    birth = day(args.birth_date, "--birth-date")
    if args.role is None and args.name is None and args.cpr is None and birth is None:
        raise InvalidInput("say what to correct: --role, --name, --cpr or --birth-date")
    if args.name is not None and not args.name.strip():
        raise InvalidInput("a person's corrected name cannot be empty")
    corrected = ev.payload(
        ev.PersonCorrected,
        person_id=args.person,
        role=args.role,
        name=args.name,
        cpr=args.cpr,
        birth_date=birth,
        persons=(args.person,),
    )
    record(args, corrected, person=args.person)


def team_joined(
    department: str, worker: str | None = None, role: str = "caseworker"
) -> ev.Payload[ev.TeamMemberJoined]:
    """A department (or one of its workers) made a party to the case (`team add` and the app)."""
    return ev.payload(ev.TeamMemberJoined, member_department=department, worker=worker, member_role=role)


def cmd_team_add(args: argparse.Namespace) -> None:
    record(args, team_joined(args.department, args.worker, args.member_role))


def cmd_team_leave(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        args.department = laptop.directory.id_of(args.department)
        if args.worker is not None:
            state = laptop.view(args.case).state
            history = state.memberships.get(args.department) or []
            workers = history[-1].workers if history and history[-1].left_at is None else set()
            if args.worker not in workers:
                raise UnknownReference(
                    f"worker {args.worker} is not on department {args.department}'s team in case {args.case}"
                )
            if args.department == state.lead and workers == {args.worker}:
                raise RuleViolation(
                    "the lead department's last worker cannot leave; add another worker or transfer the case first"
                )
        e = laptop.record(
            args.case, ev.payload(ev.TeamMemberLeft, member_department=args.department, worker=args.worker)
        )
    recorded(args, e)


def cmd_coordinator(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        assigned = ev.payload(
            ev.CoordinatorAssigned,
            worker=args.worker,
            coordinator_department=args.department or laptop.author.department,
            reason=args.reason,
        )
        e = laptop.record(args.case, assigned)
    recorded(args, e)
