"""Recording: turning a worker's command into a checked, sealed event.

Used wherever events are made (a field laptop, the server's own events, the demo): the
new event is judged against the case state by `core.rules` first; only then is it sealed
under the case key. A rule broken raises RuleViolation and nothing is made.

A command says what it records as a typed payload (`core.events.payload`), so a
misspelt field is caught by mypy, and at run time by an InvalidInput naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from core import events as ev
from core.case import CaseState
from core.departments import Directory
from core.errors import InvalidInput, UnknownReference
from core.keys import CaseKey
from core.records import Record
from core.rules import check
from core.sealing import SealedEvent, seal

E = TypeVar("E", bound=ev.CaseEvent)


class Author(Record, kw_only=False):
    """Who records: a worker of a department, in a role, on a device."""

    worker: str
    role: str
    department: str
    device: str


def make_event(
    cls: type[E],
    case_id: str,
    key_id: str,
    author: Author,
    seen_seq: int,
    *,
    occurred_at: datetime | None = None,
    clock: Callable[[], datetime] = ev.utcnow,
    event_id: str | None = None,
    **fields: Any,
) -> E:
    """Build an event of `cls` with a fresh header; categories default to the class's.

    The fields are checked by name at run time (InvalidInput); the server's own events
    are made here directly, a worker's through `record` and a typed payload.
    """
    ev.check_fields(cls, fields)
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
    what: ev.Payload[E] | type[E],
    author: Author,
    *,
    seen_seq: int | None = None,
    occurred_at: datetime | None = None,
    clock: Callable[[], datetime] = ev.utcnow,
    partial: bool = False,
    **fields: Any,
) -> tuple[E, SealedEvent]:
    """Check and seal a new event; `state` is then advanced by it.

    `partial` says `state` is folded from part of the case only (a field laptop holds what
    its department may see): a reference to a person or event it does not hold
    (UnknownReference) is then left for the server to judge at push.

    `what` is the event's typed payload; an event class with its fields as keywords is
    still taken (checked by name at run time only) for callers that build events in bulk.
    """
    if isinstance(what, ev.Payload):
        if fields:
            raise InvalidInput(f"the fields of a {what.kind.TOPIC} event belong in its payload")
        cls, fields = what.kind, dict(what.fields)
    else:
        cls = what
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
    try:
        check(state, event, directory)
    except UnknownReference:
        if not partial:
            raise
    sealed = seal(event, key)
    state.apply(event)
    return event, sealed
