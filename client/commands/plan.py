"""The shared plan: `goal`, `progress`, `activity` (measures) and `financing` commands."""

from __future__ import annotations

import argparse
from datetime import date
from types import MappingProxyType

from client.commands.common import (
    Parsers,
    activity_persons,
    day,
    goal_persons,
    open_laptop,
    record,
    record_seen,
    recorded,
    split,
)
from client.laptop import CaseView
from core import events as ev
from core.errors import InvalidInput

SHARES_FORM = "--shares is written DEPT=PCT[,DEPT=PCT...], e.g. jobcenter=60,addiction=40"


def register(p: Parsers) -> None:
    _register_goal(p)
    a = p.single("progress", "progress on goals", "record", cmd_progress, "record a small-step score (1 to 5)")
    a.add_argument("goal", metavar="GOAL")
    a.add_argument("--score", required=True, type=int, choices=range(1, 6), metavar="1..5")
    a.add_argument("--note", default="")
    _register_activity(p)
    a = p.single(
        "financing",
        "who pays for an activity",
        "agree",
        cmd_financing,
        "record the departments' agreed split of an activity's cost (shares add up to 100 percent)",
    )
    a.add_argument("activity", metavar="ACTIVITY")
    a.add_argument("--shares", required=True, metavar="DEPT=PCT[,DEPT=PCT...]")
    a.add_argument("--granted-by", metavar="DEPT", help="default: the activity's department")
    a.add_argument("--paid-by", metavar="DEPT", help="default: the activity's department")


def _register_goal(p: Parsers) -> None:
    goal = p.group("goal", "goals of the shared plan")
    a = p.on_case(goal, "add", cmd_goal_add, "add a goal (prints the goal id)")
    a.add_argument("--person", required=True, metavar="PERSON")
    a.add_argument("--text", required=True)
    a.add_argument("--owner", required=True, metavar="DEPT")
    a.add_argument("--parent", metavar="GOAL", help="makes this a sub-goal")
    a.add_argument("--due", metavar="YYYY-MM-DD")
    a.add_argument("--set-by-citizen", action="store_true")
    a.add_argument("--aftercare", action="store_true", help="a goal of the aftercare plan after 18")
    a = p.on_case(goal, "revise", cmd_goal_revise, "revise a goal from the revision you see")
    a.add_argument("goal", metavar="GOAL")
    a.add_argument("--text", required=True)
    a = p.on_case(goal, "close", cmd_goal_close, "close a goal (reached, or no longer pursued)")
    a.add_argument("goal", metavar="GOAL")
    a.add_argument("--reason", default="")


def _register_activity(p: Parsers) -> None:
    activity = p.group("activity", "activities (measures) towards a goal")
    a = p.on_case(activity, "add", cmd_activity_add, "add an activity to a goal (prints the activity id)")
    a.add_argument("--goal", required=True, metavar="GOAL")
    a.add_argument("--department", required=True, metavar="DEPT", help="the department that carries it out")
    a.add_argument("--kind", required=True, help='e.g. "mentor", "treatment course"')
    a.add_argument("--starts", metavar="YYYY-MM-DD", help="planned start")
    a.add_argument("--ends", metavar="YYYY-MM-DD", help="planned end")
    a = p.on_case(
        activity,
        "start",
        cmd_activity_start,
        "start an activity (in the disability model only after the analysis meeting)",
    )
    a.add_argument("activity", metavar="ACTIVITY")
    a.add_argument("--on", metavar="YYYY-MM-DD", help="default: today")
    a = p.on_case(activity, "end", cmd_activity_end, "end a running activity")
    a.add_argument("activity", metavar="ACTIVITY")
    a.add_argument("--on", metavar="YYYY-MM-DD", help="default: today")


def goal_added(
    person: str,
    text: str,
    owner: str,
    *,
    parent: str | None = None,
    due: date | None = None,
    set_by_citizen: bool = False,
    aftercare: bool = False,
) -> ev.Payload[ev.GoalAdded]:
    """A goal (a sub-goal with `parent`) of the shared plan (`goal add` and the app)."""
    return ev.payload(
        ev.GoalAdded,
        goal_id=ev.new_id(),
        text=text,
        owner=owner,
        parent_goal=parent,
        due=due,
        set_by_citizen=set_by_citizen,
        phase="aftercare" if aftercare else "",
        persons=(person,),
    )


def cmd_goal_add(args: argparse.Namespace) -> None:
    added = goal_added(
        args.person,
        args.text,
        args.owner,
        parent=args.parent,
        due=day(args.due, "--due"),
        set_by_citizen=args.set_by_citizen,
        aftercare=args.aftercare,
    )
    record(args, added, goal=added.fields["goal_id"])


def cmd_goal_revise(args: argparse.Namespace) -> None:
    with open_laptop(args) as laptop:
        e = laptop.revise_goal(args.case, args.goal, args.text)
    recorded(args, e, goal=args.goal)


def goal_closed(view: CaseView, goal_id: str, reason: str = "") -> ev.Payload[ev.GoalClosed]:
    """A goal closed, reached or no longer pursued (`goal close` and the app)."""
    return ev.payload(ev.GoalClosed, goal_id=goal_id, reason=reason, persons=goal_persons(view, goal_id))


def cmd_goal_close(args: argparse.Namespace) -> None:
    record_seen(args, lambda view: goal_closed(view, args.goal, args.reason), goal=args.goal)


def progress_recorded(view: CaseView, goal_id: str, score: int, note: str = "") -> ev.Payload[ev.ProgressRecorded]:
    """A small-step score on a goal, about the goal's person (`progress record` and the app)."""
    return ev.payload(ev.ProgressRecorded, goal_id=goal_id, score=score, note=note, persons=goal_persons(view, goal_id))


def cmd_progress(args: argparse.Namespace) -> None:
    record_seen(args, lambda view: progress_recorded(view, args.goal, args.score, args.note), goal=args.goal)


def activity_added(
    view: CaseView, goal_id: str, department: str, kind: str, starts: date | None = None, ends: date | None = None
) -> ev.Payload[ev.ActivityAdded]:
    """An activity towards a goal, carried out by `department` (`activity add` and the app)."""
    if starts is not None and ends is not None and ends < starts:
        raise InvalidInput("an activity cannot end (--ends) before it starts (--starts)")
    if not kind.strip():
        raise InvalidInput("an activity needs a kind, e.g. --kind mentor")
    return ev.payload(
        ev.ActivityAdded,
        activity_id=ev.new_id(),
        goal_id=goal_id,
        activity_department=department,
        kind=kind,
        starts=starts,
        ends=ends,
        persons=goal_persons(view, goal_id),
    )


def cmd_activity_add(args: argparse.Namespace) -> None:
    starts, ends = day(args.starts, "--starts"), day(args.ends, "--ends")
    with open_laptop(args) as laptop:
        added = activity_added(laptop.view(args.case), args.goal, args.department, args.kind, starts, ends)
        e = laptop.record(args.case, added)
    recorded(args, e, activity=added.fields["activity_id"])


def cmd_activity_start(args: argparse.Namespace) -> None:
    _activity_step(args, ev.ActivityStarted)


def cmd_activity_end(args: argparse.Namespace) -> None:
    _activity_step(args, ev.ActivityEnded)


def _activity_step(args: argparse.Namespace, cls: type[ev.ActivityStarted | ev.ActivityEnded]) -> None:
    on = day(args.on, "--on")

    def step(view: CaseView) -> ev.Payload[ev.ActivityStarted | ev.ActivityEnded]:
        return ev.payload(cls, activity_id=args.activity, on=on, persons=activity_persons(view, args.activity))

    record_seen(args, step, activity=args.activity)


def parse_shares(text: str) -> dict[str, int]:
    """`jobcenter=60,addiction=40` as {department: whole percent}; InvalidInput otherwise."""
    shares: dict[str, int] = {}
    for item in split(text):
        dept, sep, pct = (x.strip() for x in item.partition("="))
        if not sep or not dept or not pct.isdigit():
            raise InvalidInput(SHARES_FORM)
        if dept in shares:
            raise InvalidInput(f"department {dept} appears twice in --shares")
        if not 1 <= int(pct) <= 100:
            raise InvalidInput("each share of a financing split is a whole percent from 1 to 100")
        shares[dept] = int(pct)
    if not shares:
        raise InvalidInput(SHARES_FORM)
    return shares


def cmd_financing(args: argparse.Namespace) -> None:
    shares = parse_shares(args.shares)
    with open_laptop(args) as laptop:
        view = laptop.view(args.case)
        activity = view.state.activities.get(args.activity)
        own = activity.department if activity is not None else ""
        granted_by, paid_by = (laptop.directory.id_of(d) for d in (args.granted_by or own, args.paid_by or own))
        shares = {laptop.directory.id_of(d): pct for d, pct in shares.items()}
        for dept in {granted_by, paid_by} - {""}:
            laptop.directory.get(dept)
        agreed = ev.payload(
            ev.FinancingAgreed,
            activity_id=args.activity,
            shares=MappingProxyType(shares),
            granted_by=granted_by,
            paid_by=paid_by,
            persons=activity_persons(view, args.activity),
        )
        e = laptop.record(args.case, agreed)
    recorded(args, e, activity=args.activity)
