"""A form's fields: how each is asked, how its sent value is read, and where its choices come from.

Values arrive as the browser sends them (every value of each name). A reader returns
the value in the type the event wants, or raises `FieldError` naming the field, with
the reason in the user's language. Choices (persons, departments, goals, the case's
events as facts, the municipality's word lists) come from the worker's view of the case
and the laptop's directory, so a form never asks for an id to be typed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import NamedTuple

from client.laptop import CaseView, Laptop
from core import events as ev
from core import vocabularies, words
from core.errors import InvalidInput, TovholderError

Values = dict[str, list[str]]
Choices = list[tuple[str, str]]


class FieldError(TovholderError):
    """A value of a form that cannot be read, and the field it was sent in."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Field(NamedTuple):
    """One field: its name, its label (a key of `core.words`), how it is asked, and
    where its choices come from (a key of `CHOICES`)."""

    name: str
    label: str
    kind: str = "text"  # text | textarea | select | checks | date | moment | number | check
    choices: str = ""
    required: bool = False
    hint: str = ""
    default: str = ""


# --- reading the sent values ------------------------------------------------------------


def one(values: Values, name: str, *, required: bool = False) -> str:
    text = (values.get(name) or [""])[0].strip()
    if required and not text:
        raise FieldError(name, words.t("Fill in this field."))
    return text


def many(values: Values, name: str, *, required: bool = False) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(v for v in values.get(name, []) if v))
    if required and not chosen:
        raise FieldError(name, words.t("Choose at least one."))
    return chosen


def a_date(values: Values, name: str, *, required: bool = False) -> date | None:
    text = one(values, name, required=required)
    if not text:
        return None
    try:
        return ev.parse_date(text)
    except InvalidInput:
        raise FieldError(name, words.t("Write the date as 01-06-2027 or 2027-06-01.")) from None


def a_moment(values: Values, name: str, now: datetime) -> datetime | None:
    """A past moment written as the browser's local date and time, in Copenhagen time."""
    text = one(values, name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text).replace(tzinfo=words.LOCAL).astimezone(UTC)
    except ValueError:
        raise FieldError(name, words.t("Write the date and time as 2027-06-01 14:30.")) from None
    if moment > now:
        raise FieldError(name, words.t("It cannot have happened in the future."))
    return moment


def within(values: Values, name: str, choices: Choices, *, required: bool = False) -> tuple[str, ...]:
    """The chosen values, each one the form offered."""
    offered = {value for value, _ in choices}
    chosen = many(values, name, required=required)
    if any(c not in offered for c in chosen):
        raise FieldError(name, words.t("Choose from the list."))
    return chosen


# --- what the lists offer ----------------------------------------------------------------


def _labelled(laptop: Laptop, which: str) -> Choices:
    lists = laptop.vocabularies.lists.get(which, {})
    at = 0 if words.language.get() == words.DANISH_CODE else 1
    return [(name, labels[at]) for name, labels in lists.items()]


def _coded(codes: tuple[str, ...]) -> Callable[[Laptop, CaseView], Choices]:
    return lambda laptop, view: [(c, words.word(c)) for c in codes]


def _events(laptop: Laptop, view: CaseView) -> Choices:
    names = {p.person_id: p.name for p in view.state.persons.values()}
    return [
        (
            e.event_id,
            f"{words.event_kind(e.header.topic)}, {words.when(e.occurred_at)}: {words.told(e.payload(), names)}",
        )
        for e, _ in reversed(view.events)
    ]


CHOICES: dict[str, Callable[[Laptop, CaseView], Choices]] = {
    "persons": lambda laptop, view: [(p.person_id, p.name) for p in view.state.persons.values()],
    "departments": lambda laptop, view: [(d.id, d.name) for d in laptop.directory.departments.values()],
    "goals": lambda laptop, view: [(g.goal_id, g.text) for g in view.state.goals.values() if not g.closed],
    "referrals": lambda laptop, view: [
        (e.referral_id, f"{laptop.directory.departments[e.to_department].name}: {e.reason}")
        if e.to_department in laptop.directory.departments
        else (e.referral_id, e.reason)
        for e, _ in view.events
        if isinstance(e, ev.ReferralMade)
    ],
    "outcomes": lambda laptop, view: [("arrived", words.word("arrived")), ("not arrived", words.word("not arrived"))],
    "categories": lambda laptop, view: _labelled(laptop, vocabularies.CATEGORIES),
    "challenges": lambda laptop, view: _labelled(laptop, vocabularies.CHALLENGES),
    "contact-kinds": lambda laptop, view: _labelled(laptop, vocabularies.CONTACT_KINDS),
    "roles": _coded(ev.PERSON_ROLES),
    "case-kinds": _coded(ev.CASE_KINDS),
    "meeting-kinds": _coded(ev.MEETING_KINDS),
    "decision-kinds": _coded(ev.DECISION_KINDS),
    "scores": lambda laptop, view: [(str(n), str(n)) for n in range(1, 6)],
    "events": _events,
}


def choices(laptop: Laptop, view: CaseView, field: Field) -> Choices:
    return CHOICES[field.choices](laptop, view) if field.choices else []


def picked(laptop: Laptop, view: CaseView, values: Values, name: str, source: str, **kw: bool) -> tuple[str, ...]:
    return within(values, name, CHOICES[source](laptop, view), **kw)
