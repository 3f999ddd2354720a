"""What the next status meeting takes up: `clash` (departments' work pulling against each
other), `deadlines` (the law's meetings at 16, 17½ and 18, and services ending at 18) and
`aftercare` (the young person's phase after 18)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from client.commands.common import Parsers, open_laptop, record, record_seen, split
from client.laptop import CaseView, Laptop
from core import events as ev
from core.console import emit
from core.deadlines import case_deadlines, sorted_deadlines
from core.errors import InvalidInput, UnknownReference


def register(p: Parsers) -> None:
    clash = p.group("clash", "departments' work pulling against each other, for the coordinator to settle")
    a = p.on_case(
        clash, "flag", cmd_clash_flag, "flag two goals, activities or decisions as working against each other"
    )
    a.add_argument("--between", required=True, metavar="ID,ID", help="two goal, activity or decision ids")
    a.add_argument("--reason", required=True)
    a = p.on_case(clash, "resolve", cmd_clash_resolve, "resolve a flagged clash (the coordinator's task)")
    a.add_argument("clash", metavar="CLASH")
    a.add_argument("--resolution", required=True)
    p.leaf(clash, "list", cmd_clash_list, "the open clashes of the cases on this laptop, for the next status meeting")

    a = p.sub.add_parser(
        "deadlines",
        help="statutory meetings due and overdue, and services ending at 18",
        description="statutory meetings due and overdue, and services ending at 18, in the cases on this laptop",
    )
    a.add_argument("--json", action="store_true", help="print one JSON document")
    a.add_argument("--coordinator", metavar="WORKER", help="only the cases this worker coordinates")
    a.add_argument("--department", metavar="DEPT", help="only the cases this department coordinates or leads")
    a.add_argument("--within", type=int, default=90, metavar="DAYS", help="meetings due within this many days")
    a.set_defaults(func=cmd_deadlines)

    a = p.single(
        "aftercare", "the aftercare phase after 18", "start", cmd_aftercare, "start a young person's aftercare"
    )
    a.add_argument("--person", required=True, metavar="PERSON")
    a.add_argument("--until", required=True, metavar="YYYY-MM-DD", help="when the aftercare ends (before 23)")
    a.add_argument("--legal-basis", default="barnets lov § 114")
    a.add_argument("--reason", default="")


def _persons_of_items(view: CaseView, items: tuple[str, ...]) -> tuple[str, ...]:
    """The young persons the flagged goals and activities concern, each once."""
    state, found = view.state, dict[str, None]()
    for item in items:
        goal_id = state.activities[item].goal_id if item in state.activities else item
        goal = state.goals.get(goal_id)
        if goal is not None and goal.person:
            found[goal.person] = None
    return tuple(found)


def cmd_clash_flag(args: argparse.Namespace) -> None:
    clash_id = ev.new_id()

    def flagged(view: CaseView) -> ev.Payload[ev.ClashFlagged]:
        items = split(args.between)
        return ev.payload(
            ev.ClashFlagged,
            clash_id=clash_id,
            items=items,
            reason=args.reason,
            persons=_persons_of_items(view, items),
        )

    record_seen(args, flagged, clash=clash_id)


def cmd_clash_resolve(args: argparse.Namespace) -> None:
    def resolved(view: CaseView) -> ev.Payload[ev.ClashResolved]:
        clash = view.state.clashes.get(args.clash)
        if clash is None:
            raise UnknownReference(f"clash {args.clash} is not part of case {args.case}")
        persons = _persons_of_items(view, clash.items)
        return ev.payload(ev.ClashResolved, clash_id=args.clash, resolution=args.resolution, persons=persons)

    record_seen(args, resolved, clash=args.clash)


def open_clashes(laptop: Laptop) -> list[dict[str, Any]]:
    """Every open clash of the cases held, with the reason it was flagged."""
    rows = []
    for case_id in laptop.store.held_cases():
        view = laptop.view(case_id)
        for e, _ in view.events:
            if isinstance(e, ev.ClashFlagged) and not view.state.clashes[e.clash_id].resolved:
                rows.append(
                    {
                        "case": case_id,
                        "clash": e.clash_id,
                        "between": ",".join(e.items),
                        "reason": e.reason,
                        "flagged_by": e.department,
                        "flagged_at": e.occurred_at,
                    }
                )
    return rows


def cmd_clash_list(args: argparse.Namespace) -> None:
    with open_laptop(args, reading=True) as laptop:
        rows = open_clashes(laptop)
    emit(
        rows,
        as_json=args.json,
        title="open clashes, for the next status meeting",
        columns=("case", "clash", "between", "reason", "flagged_by", "flagged_at"),
    )


def cmd_deadlines(args: argparse.Namespace) -> None:
    if args.within < 0:
        raise InvalidInput("--within is a number of days, 0 or more")
    with open_laptop(args, reading=True) as laptop:
        today = laptop.clock().date()
        found = [
            d
            for case_id in laptop.store.held_cases()
            for d in case_deadlines(laptop.view(case_id).state, today, timedelta(days=args.within))
            if (args.coordinator is None or d.coordinator == args.coordinator)
            and (args.department is None or d.department == args.department)
        ]
    emit(
        [d.as_json() for d in sorted_deadlines(found)],
        as_json=args.json,
        title="deadlines the law sets",
        columns=("case", "person", "what", "due", "status", "coordinator", "activity"),
    )


def cmd_aftercare(args: argparse.Namespace) -> None:
    started = ev.payload(
        ev.AftercareStarted,
        person=args.person,
        until=ev.parse_date(args.until, "--until"),
        legal_basis=args.legal_basis,
        reason=args.reason,
        persons=(args.person,),
    )
    record(args, started, person=args.person)
