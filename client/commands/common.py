"""What every `tovholder client` command shares: its parser helpers, the laptop it opens,
how lists and dates are read from the command line, and what a recording command prints."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from client.laptop import CaseView, Laptop
from core import events as ev
from core import vocabularies
from core.console import emit
from core.errors import InvalidInput
from core.records import Record
from core.vocabularies import Vocabularies

SERVER_ENV = "TOVHOLDER_SERVER"


class Parsers(Record, frozen=False, kw_only=False):
    """The client's subparsers, with the two shapes every command takes: a group and a leaf."""

    sub: Any

    def leaf(self, parent: Any, name: str, func: Callable[..., Any] | str, help: str, *, json: bool = True) -> Any:
        """A command; `func` runs it, or is its path ("client sync") when the composition
        root loads it only for that command (`tovholder.__main__.COMMANDS`)."""
        p = parent.add_parser(name, help=help, description=help)
        if json:
            p.add_argument("--json", action="store_true", help="print one JSON document")
        if isinstance(func, str):
            p.set_defaults(func=None, deferred=func)
        else:
            p.set_defaults(func=func)
        return p

    def group(self, name: str, help: str) -> Any:
        g = self.sub.add_parser(name, help=help, description=help)
        return g.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)

    def on_case(self, parent: Any, name: str, func: Callable[..., Any], help: str) -> Any:
        """A command about one case: a leaf whose first argument is the case id."""
        p = self.leaf(parent, name, func, help)
        p.add_argument("case", metavar="CASE")
        return p

    def single(self, group: str, group_help: str, name: str, func: Callable[..., Any], help: str) -> Any:
        """A group with one command about a case, as `contact record CASE`."""
        return self.on_case(self.group(group, group_help), name, func, help)


def open_laptop(args: argparse.Namespace, *, reading: bool = False) -> Laptop:
    """The laptop of ``--data``; `reading` for a command that writes nothing, which then
    works on a full disk too."""
    if args.data is None:
        raise InvalidInput("say which laptop store to use: tovholder client --data DIR ...")
    return Laptop.open(args.data, reading=reading)


def split(text: str | None) -> tuple[str, ...]:
    """A comma-separated list from the command line, blanks dropped."""
    return tuple(x.strip() for x in (text or "").split(",") if x.strip())


def category_names(text: str | None, words: Vocabularies = vocabularies.DEFAULT) -> tuple[str, ...]:
    """The information categories of a comma-separated list typed by name or label."""
    return words.names_of(vocabularies.CATEGORIES, split(text))


def day(text: str | None, flag: str) -> date | None:
    """An optional YYYY-MM-DD date; InvalidInput naming the flag when it is not one."""
    return None if text is None else ev.parse_date(text, flag)


def recorded(args: argparse.Namespace, event: ev.CaseEvent, **made: str) -> None:
    """Print the new event's id, its case and the id of what it made."""
    emit({"event": event.event_id, "case": event.case_id, **made}, as_json=args.json)


def record(args: argparse.Namespace, what: ev.Payload[Any], **made: str) -> None:
    """Record the typed payload in the case `args.case` names, then print what was made."""
    with open_laptop(args) as laptop:
        e = laptop.record(args.case, what)
    recorded(args, e, **made)


def record_seen(args: argparse.Namespace, build: Callable[[CaseView], ev.Payload[Any]], **made: str) -> None:
    """Record the typed payload `build` makes from the worker's view of the case (for
    fields that come from what is already there), then print what was made."""
    with open_laptop(args) as laptop:
        e = laptop.record(args.case, build(laptop.view(args.case)))
    recorded(args, e, **made)


# --- the persons an event concerns, when the worker does not name them ----------------------


def goal_persons(view: CaseView, goal_id: str | None) -> tuple[str, ...]:
    goal = view.state.goals.get(goal_id or "")
    return (goal.person,) if goal is not None and goal.person else ()


def activity_persons(view: CaseView, activity_id: str) -> tuple[str, ...]:
    activity = view.state.activities.get(activity_id)
    return goal_persons(view, activity.goal_id) if activity is not None else ()


def persons_of(view: CaseView, event_ids: Iterable[str]) -> tuple[str, ...]:
    """The persons the given events of the case concern, in order, each once."""
    wanted = set(event_ids)
    found: dict[str, None] = {}
    for e, _ in view.events:
        if e.event_id in wanted:
            found.update(dict.fromkeys(e.persons))
    return tuple(found)


def first_event(view: CaseView, cls: type[ev.CaseEvent], **match: Any) -> Any:
    """The first event of `cls` in the case whose fields equal `match`, or None."""
    for e, _ in view.events:
        if isinstance(e, cls) and all(getattr(e, k) == v for k, v in match.items()):
            return e
    return None
