"""What the caseworker's pages show: the caseload by family and the case a coordinator explains.

Both are judged as the JSON reads are (`core.case_view`): names, plan, meetings and
deadlines come from what the department may see now. Beyond the JSON case view the page
shows what every party may know of anyway: who the coordinator is, which departments are
on the team since when, on what grounds each of them sees the case
(`core.visibility`), and how much a withdrawal now withholds from this department
(`core.withheld`). CPR numbers are masked; showing one is a look of its own, logged
before it is shown (view ``department-cpr``). A search by name looks only at the names
the department may see; a search by CPR number is `queries.search_cpr`, judged and
logged as the JSON one is.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Any

from core import events as ev
from core.case import CaseState
from core.case_cache import CachedCase
from core.case_index import department_cases
from core.case_view import case_json, judge, next_change
from core.deadlines import case_deadlines, sorted_deadlines
from core.departments import Directory
from core.errors import CaseErased, KeyNotHeld
from core.visibility import Seen, department_view
from core.withheld import withheld
from server.office import may_act
from server.reading.queries import is_case_id, not_visible, search_cpr
from server.reading.service import Reading
from server.store import Principal

CPR_LIKE = re.compile(r"\d{6}-?\d{4}")


def _cached(r: Reading, case_id: str) -> CachedCase | None:
    try:
        return r.cache.get(case_id) if is_case_id(case_id) else None
    except (KeyNotHeld, CaseErased):
        return None


def department_name(directory: Directory, department: str | None) -> str:
    """The department's name in the directory (its id when it has left the directory)."""
    if department is None:
        return ""
    return directory.get(department).name if department in directory else department


def _summary(case: CachedCase, department: str, directory: Directory, at: datetime) -> dict[str, Any] | None:
    """One caseload row: the family's names as the department may see them, coordinator,
    last activity, next due date and open conflicts and clashes."""
    view = judge(case, department, directory, at)
    if view is None:
        return None
    part = view.partial
    due = sorted_deadlines(case_deadlines(part, at.date()))
    coordinator = case.state.coordinator
    return {
        "case": case.case_id,
        "names": [p.name for p in part.persons.values()],
        "coordinator": coordinator[0] if coordinator else None,
        "coordinator_department": department_name(directory, coordinator[1]) if coordinator else None,
        "last_activity": max((s.event.occurred_at for s in view.seen), default=None),
        "next_due": due[0] if due else None,
        "open": sum(not done for done in part.conflicts.values()) + sum(not c.resolved for c in part.clashes.values()),
    }


def caseload(r: Reading, who: Principal, query: str, purpose: str) -> list[dict[str, Any]]:
    """The department's cases by family, newest activity first; with `query`, those with a
    visible name containing it, or (a CPR number) those `search_cpr` finds."""
    department = who.department
    r.caught_up()
    if CPR_LIKE.fullmatch(query.strip()):
        ids = [row["case"] for row in search_cpr(r, who, department, query.strip(), purpose)]
    else:
        ids = [row.case_id for row in department_cases(r.ctx.log, department)]
        r.access.record(who.subject, department, None, "department-list", purpose)
    directory, at = r.ctx.store.directory(), r.now()
    rows = [s for s in (_summary(c, department, directory, at) for c in map(lambda i: _cached(r, i), ids) if c) if s]
    needle = query.strip().casefold()
    if needle and not CPR_LIKE.fullmatch(needle):
        rows = [row for row in rows if any(needle in name.casefold() for name in row["names"])]
    return rows


def mask(cpr: str | None) -> str:
    """A CPR number with its last four digits hidden."""
    return f"{cpr[:6]}-xxxx" if cpr else ""


def _team(case: CachedCase, directory: Directory, at: datetime) -> list[dict[str, Any]]:
    """Every party now, since when, and on which grounds it sees how much of the case."""
    team = []
    for department in case.state.parties(at):
        seen = department_view(case.state, case.events, department, directory, at) or []
        joined = min(m.joined_at for m in case.state.memberships[department] if m.left_at is None)
        team.append(
            {
                "department": department,
                "name": department_name(directory, department),
                "since": joined,
                "lead": department == case.state.lead,
                "seen": len(seen),
                "grounds": sorted(Counter(s.basis for s in seen).items()),
            }
        )
    return team


def case_page(r: Reading, who: Principal, case_id: str, show_cpr: str | None, purpose: str) -> dict[str, Any]:
    """The case page's content for `who`'s department; NotFound when it may see nothing.
    With `show_cpr` (a person id), that person's CPR number unmasked, the look logged."""
    department, directory, at = who.department, r.ctx.store.directory(), r.now()
    case = _cached(r, case_id)
    view = judge(case, department, directory, at) if case is not None else None
    if case is None or view is None:
        r.access.record(who.subject, department, case_id, "department-case", purpose, "refused")
        raise not_visible(case_id)
    r.access.record(who.subject, department, case_id, "department-case", purpose)
    part = view.partial
    if show_cpr is not None and show_cpr in part.persons:
        r.access.record(who.subject, department, case_id, "department-cpr", purpose)
    count, since = withheld(case.state, case.events, department, directory, at)
    coordinator = case.state.coordinator
    return {
        **case_json(view),
        "cpr": {p.person_id: (p.cpr or "") if p.person_id == show_cpr else mask(p.cpr) for p in part.persons.values()},
        "names": {p.person_id: p.name for p in part.persons.values()},
        "coordinator": {"worker": coordinator[0], "department": department_name(directory, coordinator[1])}
        if coordinator
        else None,
        "team": _team(case, directory, at),
        "lead_name": department_name(directory, case.state.lead),
        "activities": [a for a in part.activities.values()],
        "meetings": sorted(part.meetings.values(), key=lambda m: m.held_at),
        "deadlines": sorted_deadlines(case_deadlines(part, at.date())),
        "withheld": count,
        "withheld_since": since,
        "acts": may_act(case.state, who),
        "seq": case.seq,
        "until": next_change(case.state, at),
        "open_conflicts": _conflicts(case, view.seen, part.conflicts),
        "financing": _financing(view.seen, part),
    }


def _conflicts(case: CachedCase, seen: list[Seen], conflicts: dict[str, bool]) -> list[dict[str, Any]]:
    """Each open conflict the department knows of: its rule, and the versions in conflict
    side by side, those the department may see in full (the others counted)."""
    visible = {s.event.event_id: s.event for s in seen}
    flags = {e.conflict_id: e for e in case.events if isinstance(e, ev.ConflictFlagged) and e.conflict_id in conflicts}
    shown = []
    for conflict_id, flag in flags.items():
        if conflicts[conflict_id]:
            continue
        versions = [e for i, e in visible.items() if i in flag.events]  # in the order of the log
        shown.append(
            {
                "conflict": conflict_id,
                "rule": flag.rule,
                "flagged_at": flag.occurred_at,
                "versions": versions,
                "hidden": sum(1 for i in flag.events if i not in visible),
                "choosable": [e.event_id for e in versions if isinstance(e, ev.GoalRevised)],
            }
        )
    return shown


def _financing(seen: list[Seen], part: CaseState) -> list[dict[str, Any]]:
    """The financing agreed for each measure the department may see: shares per department."""
    rows = []
    for s in seen:
        e = s.event
        if isinstance(e, ev.FinancingAgreed):
            activity = part.activities.get(e.activity_id)
            rows.append(
                {
                    "activity": activity.kind if activity else "",
                    "shares": sorted(e.shares.items(), key=lambda kv: -kv[1]),
                    "granted_by": e.granted_by,
                    "paid_by": e.paid_by,
                    "agreed_at": e.occurred_at,
                }
            )
    return rows
