"""The deadlines the law sets on the way to adult life, from a young person's birth date.

A young person in the child system has statutory meetings at 16, 17½ and 18 (barnets lov,
before 2024 serviceloven § 68 d): each is *due* from `within` days before the date and
*overdue* once the date has passed without a meeting of that kind concerning them. A
service of the child system, or one set to end by the 18th birthday, is flagged *ending*
from a year ahead, so the adult system can take over in time. The lists are computed from
a case as folded (a department's part of it, or a laptop's), never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from core.case import CaseState, Person
from core.records import Record

#: (meeting kind, years, months) of the statutory meetings of the transition.
STATUTORY = (("statutory-16", 16, 0), ("statutory-17.5", 17, 6), ("statutory-18", 18, 0))
#: The departments of the child system: a young person with one of them as a party is in it.
CHILD_SYSTEM = frozenset({"children-family", "children-disability"})
YOUNG_ROLES = frozenset({"child", "citizen"})
DUE_WITHIN = timedelta(days=90)
ENDING_AHEAD = timedelta(days=365)
ENDS_AT_18 = "ends-at-18"


class Deadline(Record, kw_only=False):
    """One meeting due or overdue, or one service ending at 18, of one young person."""

    case_id: str
    person: str
    what: str  # a statutory meeting kind, or ENDS_AT_18
    due: date
    status: str  # due | overdue | ending
    coordinator: str | None
    department: str | None  # the coordinator's department, else the lead
    activity: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "person": self.person,
            "what": self.what,
            "due": self.due.isoformat(),
            "status": self.status,
            "coordinator": self.coordinator,
            "department": self.department,
            "activity": self.activity,
        }


def birthday(born: date, years: int, months: int = 0) -> date:
    """The day a person born on `born` is `years` and `months` old (28 February for 29 February)."""
    month = born.month - 1 + months
    year, month = born.year + years + month // 12, month % 12 + 1
    try:
        return born.replace(year=year, month=month)
    except ValueError:
        return date(year, month, 28)


def young_persons(state: CaseState, today: date) -> list[Person]:
    """The persons of an open case in the child system who are not yet 19 (an overdue
    meeting at 18 stays listed for a year) and whose birth date is known."""
    if state.status != "open" or not (CHILD_SYSTEM & ({state.lead} | set(state.parties()))):
        return []
    return [
        p
        for p in state.persons.values()
        if p.role in YOUNG_ROLES and p.birth_date is not None and (p.age_on(today) or 0) < 19
    ]


def case_deadlines(state: CaseState, today: date, within: timedelta = DUE_WITHIN) -> list[Deadline]:
    """The statutory meetings due or overdue, and the services ending at 18, in the case."""
    coordinator, department = state.coordinator or (None, state.lead)
    found: list[Deadline] = []
    for p in young_persons(state, today):
        assert p.birth_date is not None
        for kind, years, months in STATUTORY:
            due = birthday(p.birth_date, years, months)
            if due > today + within or _held(state, kind, p.person_id):
                continue
            status = "overdue" if due < today else "due"
            found.append(Deadline(state.case_id, p.person_id, kind, due, status, coordinator, department))
        at_18 = birthday(p.birth_date, 18)
        if today <= at_18 <= today + ENDING_AHEAD:
            for a in state.activities.values():
                goal = state.goals.get(a.goal_id)
                if a.ended or goal is None or goal.person != p.person_id:
                    continue
                if a.department in CHILD_SYSTEM or (a.ends is not None and a.ends <= at_18):
                    found.append(
                        Deadline(
                            state.case_id,
                            p.person_id,
                            ENDS_AT_18,
                            at_18,
                            "ending",
                            coordinator,
                            department,
                            a.activity_id,
                        )
                    )
    return found


def _held(state: CaseState, kind: str, person: str) -> bool:
    return any(m.kind == kind and (person in m.persons or not m.persons) for m in state.meetings.values())


def sorted_deadlines(found: Iterable[Deadline]) -> list[Deadline]:
    """Overdue first, then by date."""
    return sorted(found, key=lambda d: (d.status != "overdue", d.due, d.case_id, d.what))
