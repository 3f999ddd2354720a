"""Recording: turning a worker's command into a checked, sealed event.

Used wherever events are made (a field laptop, the server's own events, the demo): the
new event is judged against the case state by `core.rules` first; only then is it sealed
under the case key. A rule broken raises RuleViolation and nothing is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import events as ev
from core.case import CaseState
from core.departments import Directory
from core.keys import CaseKey
from core.rules import check
from core.sealing import SealedEvent, seal


@dataclass(frozen=True)
class Author:
    """Who records: a worker of a department, in a role, on a device."""

    worker: str
    role: str
    department: str
    device: str


def make_event(
    cls: type[ev.CaseEvent],
    case_id: str,
    key_id: str,
    author: Author,
    seen_seq: int,
    *,
    occurred_at: datetime | None = None,
    clock: Callable[[], datetime] = ev.utcnow,
    event_id: str | None = None,
    **fields: Any,
) -> ev.CaseEvent:
    """Build an event of `cls` with a fresh header; categories default to the class's."""
    now = clock()
    header = ev.Header(
        event_id=event_id or ev.new_event_id(),
        case_id=case_id,
        topic=cls.TOPIC,
        class_version=cls.class_version,
        author=author.worker,
        role=author.role,
        department=author.department,
        device=author.device,
        occurred_at=occurred_at or now,
        recorded_at=now,
        seen_seq=seen_seq,
        key_id=key_id,
    )
    fields.setdefault("categories", cls.DEFAULT_CATEGORIES)
    return cls(header=header, **fields)


def record(
    state: CaseState,
    key: CaseKey,
    directory: Directory,
    cls: type[ev.CaseEvent],
    author: Author,
    *,
    seen_seq: int | None = None,
    occurred_at: datetime | None = None,
    clock: Callable[[], datetime] = ev.utcnow,
    **fields: Any,
) -> tuple[ev.CaseEvent, SealedEvent]:
    """Check and seal a new event; `state` is then advanced by it."""
    event = make_event(
        cls,
        state.case_id,
        key.key_id,
        author,
        state.seq if seen_seq is None else seen_seq,
        occurred_at=occurred_at,
        clock=clock,
        **fields,
    )
    check(state, event, directory)
    sealed = seal(event, key)
    state.apply(event)
    return event, sealed
