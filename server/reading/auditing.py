"""What the auditor's pages show: the replay as a grid, the exceptions with their law,
meeting and persons, and the access log a page at a time.

The content is the JSON reads' (`queries.audit_case`, `queries.exception_rows`,
`queries.access_entries`), with the same access-log entries; this module only arranges
it for reading. The replay is one row per event the log held then and one column per
department, each cell the grounds on which that department saw the event (its own
record, a consent, a legal basis, being a recipient) or nothing: one screen answers "who
could see what, and why", where one table per department repeated the case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from core.access_log import Access
from core.errors import CaseErased, InvalidInput, KeyNotHeld
from core.words import LOCAL
from server.reading.queries import access_entries, exception_rows, parse_moment
from server.reading.service import Reading
from server.store import Principal

PAGE = 100  # access-log entries per page


def replay_grid(replay: dict[str, Any]) -> dict[str, Any]:
    """The replay's events × departments: per event its cells, in the order of `departments`."""
    departments = sorted(replay["views"])
    seen = {d: {s["event"]: s for s in replay["views"][d]} for d in departments}
    rows = [{"event": e, "cells": [seen[d].get(e["event"]) for d in departments]} for e in replay["events"]]
    names = {p["person"]: p["name"] for p in replay.get("persons", [])}
    return {"departments": departments, "rows": rows, "names": names}


def exceptions_page(r: Reading, who: Principal, purpose: str) -> list[dict[str, Any]]:
    """Every disclosure without consent, with the names of its persons and the meeting it
    was discussed at (kind and time), from the case as the log holds it."""
    rows = exception_rows(r, who, None, purpose)
    for row in rows:
        try:
            state = r.cache.get(row["case"]).state
        except (KeyNotHeld, CaseErased):
            row.update(names=[], meeting_held=None)
            continue
        row["names"] = [state.persons[p].name for p in row["persons"] if p in state.persons]
        meeting = state.meetings.get(row["meeting"]) if row["meeting"] else None
        row["meeting_held"] = {"kind": meeting.kind, "held_at": meeting.held_at} if meeting else None
    return rows


class AccessQuery(NamedTuple):
    """The access-log page's filters, as typed in its form (empty: not filtered)."""

    case: str = ""
    worker: str = ""
    department: str = ""
    since: str = ""  # a local date or time: from its start
    until: str = ""  # a local date or time: to the end of that day
    after: str = ""  # the cursor of the previous page's last entry

    @classmethod
    def of(cls, params: dict[str, str]) -> AccessQuery:
        return cls(*(params.get(f, "").strip()[:100] for f in cls._fields))


def access_page(r: Reading, who: Principal, q: AccessQuery, purpose: str) -> tuple[list[dict[str, Any]], str]:
    """One page of the access log, newest first, and the cursor of the next ("" at the end)."""
    since = None
    if q.since:
        since = parse_moment(q.since, datetime.min, LOCAL)
        if len(q.since) == 10:  # a date: from the start of that day
            since = since.replace(hour=0, minute=0, second=0, microsecond=0)
    until = parse_moment(q.until, datetime.min, LOCAL) if q.until else None
    rows = access_entries(
        r,
        who,
        q.case or None,
        PAGE + 1,
        purpose,
        worker=q.worker or None,
        department=q.department or None,
        since=since,
        until=until,
        after=_cursor(q.after),
    )
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, (f"{rows[-1]['at']}|{rows[-1]['entry']}" if more else "")


def _cursor(text: str) -> Access | None:
    if not text:
        return None
    at, _, entry = text.partition("|")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise InvalidInput("the page asked for does not exist; start again from the first") from None
    return Access(moment, None, "", None, "", "", entry_id=entry)
