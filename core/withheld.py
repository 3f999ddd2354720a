"""What a department could see of a case once and may not see now, and since when.

A withdrawal (or a narrowing) of a consent hides from its recipients, from that moment,
what the consent covered. The page says so instead of letting the entries vanish
silently: `withheld` counts the events the department could see just before each such
moment (those that had happened by then) and may not see at `at`, and names the first
moment something was lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from core import events as ev
from core.case import CaseState
from core.departments import Directory
from core.visibility import department_view

JUST_BEFORE = timedelta(microseconds=1)


def _losses(state: CaseState, department: str, at: datetime) -> list[datetime]:
    """The moments up to `at` at which a consent naming `department` was withdrawn or narrowed."""
    moments: set[datetime] = set()
    for c in state.consents.values():
        if department not in c.recipients:
            continue
        if c.withdrawn_at is not None and c.withdrawn_at <= at:
            moments.add(c.withdrawn_at)
        moments.update(when for when, _, _ in c.narrowed if when <= at)
    return sorted(moments)


def withheld(
    state: CaseState, events: Sequence[ev.CaseEvent], department: str, directory: Directory, at: datetime
) -> tuple[int, datetime | None]:
    """How many events `department` could see before a withdrawal and may not see at
    `at`, and the first moment one of them was lost (None when nothing is withheld)."""
    now = department_view(state, events, department, directory, at)
    if now is None:
        return 0, None
    visible = {s.event.event_id for s in now}
    lost: set[str] = set()
    since: datetime | None = None
    for moment in _losses(state, department, at):
        then = [e for e in events if e.occurred_at < moment]
        before = department_view(state, then, department, directory, moment - JUST_BEFORE) or []
        gone = {s.event.event_id for s in before} - visible - lost
        if gone:
            lost |= gone
            since = since or moment
    return len(lost), since
