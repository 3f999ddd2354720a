"""What a coordinator does on the case page: resolve a conflict, assign or change the
coordinator, add a department to the team, record a meeting.

Each action is recorded as a laptop's would be: the event is built and checked by
`core.recording.record` against the server's current copy of the case, sealed with the
case key, signed in a batch by the worker's own office device (`server.staff_devices`)
and judged and appended by the push service, so the rules, the caseload check and the
log are the laptops' own. Laptops receive the result at their next pull.

Only the case's coordinator acts from the page (with no coordinator yet, a caseworker or
coordinator of the lead department: `core.rules.coordinates`, the rule that decides who
resolves a conflict); anyone else is refused with Forbidden before anything is made.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from copy import deepcopy
from datetime import datetime
from typing import Any, NamedTuple

from core import events as ev
from core.case import CaseState
from core.errors import InvalidInput, KeyNotHeld, RuleViolation
from core.recording import Author, record
from core.rules import DECIDING_ROLES, coordinates
from core.sealing import SealedEvent
from core.signing import sign_batch
from core.visibility import department_view
from core.words import LOCAL
from server.context import ServerContext
from server.errors import Forbidden
from server.reading.queries import is_case_id, not_visible, parse_moment
from server.staff_devices import StaffDevices
from server.store import Principal, check_worker_id
from server.syncing.push import Worker
from sync.protocol import PushRequest


class Entry(NamedTuple):
    """One event an action records: its typed payload and, when not now, when it happened."""

    what: ev.Payload[Any]
    occurred_at: datetime | None = None


class Case(NamedTuple):
    """The case as an action sees it: its state and events now, and the ids of the events
    the worker's department may see (a version to keep is chosen among those only)."""

    state: CaseState
    events: list[ev.CaseEvent]
    visible: frozenset[str]


#: One action: given the case as it is now, the events to record.
Action = Callable[[Case], list[Entry]]
MAX_TEXT = 2000  # of a resolution or meeting minutes typed on the page


def staff_devices(ctx: ServerContext) -> StaffDevices:
    """The process's office devices, made on first use."""
    found = ctx.extras.get("staff_devices")
    if not isinstance(found, StaffDevices):
        found = ctx.extras["staff_devices"] = StaffDevices(ctx.settings.data_dir, ctx.log.kek, ctx.log)
    return found


def may_act(state: CaseState, who: Principal) -> bool:
    """Whether `who` acts for the case from the page."""
    return who.role in DECIDING_ROLES and coordinates(state, who.subject, who.department)


def act(ctx: ServerContext, who: Principal, case_id: str, action: Action) -> list[str]:
    """Record what `action` makes as `who` on their office device; the event ids.
    NotFound for an unknown case, Forbidden for anyone but its coordinator, RuleViolation
    (or InvalidInput) with the rule's sentence when the push service rejects an event."""
    if not is_case_id(case_id):
        raise not_visible(case_id)
    try:
        key = ctx.log.case_key(case_id)
    except KeyNotHeld:
        raise not_visible(case_id) from None
    current = ctx.push.view(case_id)
    state = deepcopy(current.state)
    if not state.is_party(who.department):
        raise not_visible(case_id)
    if not may_act(state, who):
        raise Forbidden("only the case's coordinator acts on the case from this page; nothing was changed")
    device = staff_devices(ctx).of(who.subject)
    author = Author(who.subject, who.role, who.department, device.device_id)
    directory = ctx.store.directory()
    sealed: list[SealedEvent] = []
    # the push service's copy leaves unread kinds sealed; the page judges what the
    # department saw from every event, so the case is opened whole here (a rare, human act)
    events = [ctx.log.open(le) for le in ctx.log.case_events(case_id, upto=state.seq)]
    seen = department_view(state, events, who.department, directory, ctx.push.clock()) or []
    case = Case(deepcopy(state), events, frozenset(s.event.event_id for s in seen))
    for entry in action(case):
        sealed.append(record(state, key, directory, entry.what, author, occurred_at=entry.occurred_at)[1])
    seal = sign_batch(device.keys.signing, str(uuid.uuid4()), device.device_id, [s.digest for s in sealed])
    request = PushRequest(seal, tuple(s.raw for s in sealed))
    answer = ctx.push.push(request, device.device_id, Worker(who.subject, who.department, who.role))
    refused = [r.reason for r in answer.results if r.status == "rejected"]
    if refused:
        raise RuleViolation(refused[0])
    ctx.metrics.count_events("push_accepted", len(answer.results))
    return [r.event_id for r in answer.results]


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{what} is longer than {MAX_TEXT} characters")
    return text


def resolve_conflict(conflict_id: str, chosen: str, written: str) -> Action:
    """Resolve a flagged conflict with one of its versions (`chosen`, the id of one of its
    goal revisions) or a text of the coordinator's own (`written`); when the goal's text
    then differs from the one chosen or written, it is revised to it in the same batch."""

    def action(case: Case) -> list[Entry]:
        state = case.state
        flagged = _flag(case, conflict_id)
        versions = [e for e in case.events if e.event_id in flagged.events and isinstance(e, ev.GoalRevised)]
        picked = next((e for e in versions if e.event_id == chosen and chosen in case.visible), None)
        if chosen and picked is None:
            raise InvalidInput("the version chosen is not one of the conflict's")
        text = picked.text if picked is not None else _text(written, "the resolved text")
        made: list[Entry] = []
        goal_ids = {e.goal_id for e in versions}
        if len(goal_ids) == 1:
            goal = state.goals[goal_ids.pop()]
            if goal.text != text and not goal.closed:
                revised = ev.payload(ev.GoalRevised, goal_id=goal.goal_id, text=text, base_revision=goal.revision)
                made.append(Entry(revised))
        made.append(Entry(ev.payload(ev.ConflictResolved, conflict_id=conflict_id, resolution=text)))
        return made

    return action


def assign_coordinator(ctx: ServerContext, worker: str, reason: str) -> Action:
    """Make `worker` (an active worker) the case's coordinator: at intake when it has
    none, else by handover or cover."""
    record_of = ctx.store.worker(check_worker_id(worker.strip()))
    if record_of is None or ctx.store.disabled(record_of.id):
        raise InvalidInput("there is no active worker with that id")

    def action(case: Case) -> list[Entry]:
        why = "intake" if case.state.coordinator is None else reason
        department = record_of.department
        return [
            Entry(
                ev.payload(ev.CoordinatorAssigned, worker=record_of.id, coordinator_department=department, reason=why)
            )
        ]

    return action


def add_department(department: str) -> Action:
    def action(case: Case) -> list[Entry]:
        return [Entry(ev.payload(ev.TeamMemberJoined, member_department=department))]

    return action


def record_meeting(kind: str, held: str, participants: Sequence[str], minutes: str) -> Action:
    """A meeting held (its kind, when in local time, the departments taking part, minutes)."""
    if not held.strip():
        raise InvalidInput("a meeting's date and time is missing")
    try:
        held_at = parse_moment(held, datetime.min, LOCAL)  # typed on the page: Copenhagen time
    except InvalidInput:
        raise InvalidInput("a meeting's time is a date and a time of day") from None

    def action(case: Case) -> list[Entry]:
        held = ev.payload(
            ev.MeetingHeld,
            meeting_id=ev.new_id(),
            kind=kind,
            participants=tuple(participants),
            minutes=_text(minutes, "the text of the minutes") if minutes.strip() else "",
        )
        return [Entry(held, held_at)]

    return action


def _flag(case: Case, conflict_id: str) -> ev.ConflictFlagged:
    for e in case.events:
        if isinstance(e, ev.ConflictFlagged) and e.conflict_id == conflict_id:
            return e
    raise InvalidInput("that conflict is not part of this case")
