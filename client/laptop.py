"""The worker's bench on a field laptop: record offline, see the case as the worker left it.

A case on the laptop is its confirmed stream (as pulled from the server) with the
worker's pending outbox applied on top, folded into one `CaseState`. The laptop holds
only its worker's share of a case (what the department may see, and the worker's own
events; placeholders for the rest), and judges again what it can on what it holds: an
event whose consent expired since the last sync is hidden at once, by the rule the
server applies (`core.visibility.held_view`). What it cannot judge on a partial case
(whether the department is a party: the memberships may be among what it may not see)
it takes from the server's last judgement, and the view says it is provisional. A new event is
judged against that whole view by the same rules the server uses, sealed under the case
key and put in the outbox; its header names the confirmed case sequence the worker had
seen, so the server can tell a concurrent edit from a stale one. Nothing is decrypted
except in memory, and only with the worker's passphrase.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from client.store import LaptopStore
from core import events as ev
from core import vocabularies
from core.case import CaseState, Membership
from core.departments import Department, Directory
from core.errors import InvalidInput, UnknownReference
from core.keys import CaseKey
from core.recording import Author, record
from core.records import Record, field
from core.sealing import open_sealed, parse
from core.visibility import held_view

E = TypeVar("E", bound=ev.CaseEvent)
P = ParamSpec("P")
PASSPHRASE_ENV = "TOVHOLDER_PASSPHRASE"  # noqa: S105 (the name of a variable)


def read_passphrase(*, confirm: bool = False) -> str:
    """The worker's passphrase from TOVHOLDER_PASSPHRASE or a prompt (never from argv)."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    try:
        value = getpass.getpass("Passphrase for this laptop's store: ")
        if confirm and getpass.getpass("Repeat the passphrase: ") != value:
            raise InvalidInput("the two passphrases differ; nothing was created")
    except EOFError:
        raise InvalidInput(f"no passphrase given; set {PASSPHRASE_ENV} or run from a terminal") from None
    if not value:
        raise InvalidInput("the passphrase must not be empty")
    return value


class CaseView(Record, frozen=False, kw_only=False):
    """The worker's view of one case: confirmed events, then the pending ones on top.

    `veiled` counts the events held only as placeholders (not for the department to
    see), `hidden` those held whole but hidden here since (a consent expired offline).
    """

    state: CaseState
    events: list[tuple[ev.CaseEvent, bool]] = field(default_factory=list)  # (event, pending)
    confirmed_seq: int = 0
    veiled: int = 0
    hidden: int = 0

    @property
    def pending(self) -> list[str]:
        return [e.event_id for e, p in self.events if p]

    @property
    def provisional(self) -> bool:
        """Whether the view is judged on part of the case, until the next sync."""
        return bool(self.veiled or self.hidden)

    def note(self) -> str:
        """What a worker should know of a provisional view, in one sentence."""
        if not self.provisional:
            return ""
        return (
            f"Provisional until the next sync: {self.veiled} events of this case are not for your "
            f"department to see and {self.hidden} more were hidden here since (a consent expired); "
            "whether your department is a party is the server's last judgement, and the server "
            "judges again what you record."
        )


#: The payload fields that name departments, one or several: a worker may write a
#: department's name (`Børn og Familie`) where its id (`children-family`) is meant.
DEPARTMENT_FIELDS = frozenset(
    {
        "lead_department",
        "to_department",
        "coordinator_department",
        "member_department",
        "recipients",
        "from_recipients",
        "owner",
        "activity_department",
        "granted_by",
        "paid_by",
    }
)


def by_id(directory: Directory, what: ev.Payload[E]) -> ev.Payload[E]:
    """`what` with each department it names by name named by id instead (a meeting's
    participants too)."""
    fields = dict(what.fields)
    named = DEPARTMENT_FIELDS | ({"participants"} if what.kind is ev.MeetingHeld else set())
    for name in named & fields.keys():
        value = fields[name]
        if isinstance(value, str) and value:
            fields[name] = directory.id_of(value)
        elif isinstance(value, tuple):
            fields[name] = tuple(directory.id_of(v) for v in value)
    return ev.Payload(what.kind, fields)


def trust_server(state: CaseState, department: str) -> None:
    """Fill in, for a partial case, what the server judged at the last pull and the held
    events may not show: the case was opened, and the department is a party to it."""
    if state.status == "new":
        state.status = "open"
    if not state.is_party(department):
        state.memberships.setdefault(department, []).append(Membership(department, datetime.min.replace(tzinfo=UTC)))
        state.memberships[department][-1].whole = True


def directory_from(meta: list[dict[str, Any]] | None) -> Directory:
    """The default directory, extended or overridden by departments the server sent."""
    departments = dict(Directory.default().departments)
    for d in meta or ():
        departments[d["id"]] = Department(
            d["id"],
            d.get("name", d["id"]),
            bool(d.get("authority", True)),
            tuple(d.get("legal_areas", ())),
            bool(d.get("disability_model", False)),
        )
    return Directory(departments)


class Laptop:
    """An unlocked laptop: its store, its worker, and the municipality's directory."""

    def __init__(self, store: LaptopStore, clock: Callable[[], datetime] = ev.utcnow) -> None:
        self.store = store
        self.clock = clock
        meta = store.all_meta()
        self.device_id: str = meta["device_id"]
        self.author = Author(meta["worker"], meta["role"], meta["department"], self.device_id)
        self.directory = directory_from(meta.get("departments"))
        words = meta.get("vocabularies")
        self.vocabularies = vocabularies.from_json(words) if words else vocabularies.DEFAULT

    @classmethod
    def open(cls, folder: Path, passphrase: str | None = None, *, reading: bool = False) -> Laptop:
        """Unlock the laptop in `folder`; `reading` when the command writes nothing."""
        return cls(LaptopStore.open(folder, passphrase or read_passphrase(), reading=reading))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Laptop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------
    def learn_directory(self, departments: list[dict[str, Any]]) -> None:
        """Keep the municipality's departments as the server last sent them, for the rules."""
        if departments != self.store.meta("departments"):
            self.store.set_meta(departments=departments)
        self.directory = directory_from(departments)

    def learn_vocabularies(self, words: dict[str, Any]) -> None:
        """Keep the municipality's word lists as the server last sent them; a malformed
        list (InvalidInput) is not kept, the last good one stays."""
        self.vocabularies = vocabularies.from_json(words)
        if words != self.store.meta("vocabularies"):
            self.store.set_meta(vocabularies=words)

    def key(self, case_id: str) -> CaseKey:
        return self.store.case_key(case_id)

    def view(self, case_id: str) -> CaseView:
        """Fold what the worker may see of the confirmed stream, then the pending outbox
        (KeyNotHeld if not held), each event opened with the key its header names."""
        key = self.key(case_id)
        keys = self.store.case_keys(case_id)
        view = CaseView(CaseState(case_id))
        held: list[tuple[int, ev.CaseEvent]] = []
        for c in self.store.confirmed(case_id):
            view.confirmed_seq = c.seq
            if c.placeholder:
                view.veiled += 1
            else:
                sealed = parse(c.sealed)
                held.append((c.seq, open_sealed(sealed, keys.get(sealed.header.key_id, key))))
        shown = self._shown(case_id, held)
        view.hidden = len(held) - len(shown)
        for seq, e in shown:
            view.state.seq = seq - 1  # fold by the server's sequence, gaps and all
            view.state.apply(e)
            view.events.append((e, False))
        view.state.seq = view.confirmed_seq
        for p in self.store.outbox(case_id):
            sealed = parse(p.sealed)
            e = open_sealed(sealed, keys.get(sealed.header.key_id, key))
            view.state.apply(e)
            view.events.append((e, True))
        if view.provisional:
            trust_server(view.state, self.author.department)
        return view

    def _shown(self, case_id: str, held: list[tuple[int, ev.CaseEvent]]) -> list[tuple[int, ev.CaseEvent]]:
        """The held events the worker may see now: the department's view judged here on
        what the laptop holds, and the worker's own."""
        state = CaseState(case_id)
        for seq, e in held:
            state.seq = seq - 1
            state.apply(e)
        visible = {s.seq for s in held_view(state, held, self.author.department, self.directory, self.clock())}
        return [(seq, e) for seq, e in held if seq in visible or e.header.author == self.author.worker]

    # -- recording --------------------------------------------------------------------
    def open_case(self, kind: str, lead: str, reason: str = "") -> ev.CaseEvent:
        """Open a case offline: its key is made here and kept wrapped until pushed."""
        case_id = ev.new_id()
        key = CaseKey.generate(case_id)
        opened = ev.payload(ev.CaseOpened, kind=kind, lead_department=self.directory.id_of(lead), reason=reason)
        _, sealed = record(CaseState(case_id), key, self.directory, opened, self.author, seen_seq=0, clock=self.clock)
        self.store.add_pending(sealed, key)
        return open_sealed(sealed, key)

    @overload
    def record(self, case_id: str, what: ev.Payload[E], /) -> E: ...

    @overload
    def record(
        self, case_id: str, what: Callable[Concatenate[ev.Header, P], E], /, *args: P.args, **fields: P.kwargs
    ) -> E: ...

    def record(self, case_id: str, what: Any, /, *args: Any, **fields: Any) -> Any:
        """Check a new event against the worker's view, seal it and put it in the outbox.

        `what` is the event's typed payload (`core.events.payload`), or its class with the
        fields as keywords, typed the same way.
        """
        if not isinstance(what, ev.Payload):
            what = ev.payload(what, *args, **fields)
        return self.record_at(case_id, what, None)

    def record_at(
        self, case_id: str, what: ev.Payload[E], occurred_at: datetime | None, *, view: CaseView | None = None
    ) -> E:
        """`record`, for what happened at `occurred_at` and is recorded afterwards (a
        contact at the drop-in; None for now). Departments may be named by name. `view`,
        the worker's current view of the case when the caller keeps one, is judged
        against instead of folding the case again, and gets the new event."""
        what = by_id(self.directory, what)
        view = view or self.view(case_id)
        event, sealed = record(
            view.state,
            self.key(case_id),
            self.directory,
            what,
            self.author,
            seen_seq=view.confirmed_seq,
            occurred_at=occurred_at,
            clock=self.clock,
            partial=view.provisional,
        )
        self.store.add_pending(sealed)
        view.events.append((event, True))
        return event

    def revise_goal(self, case_id: str, goal_id: str, text: str, *, due: date | None = None) -> ev.GoalRevised:
        """Revise a goal from the revision the worker sees now."""
        return self.record(case_id, goal_revision(self.view(case_id), goal_id, text, due=due))

    def legal_area(self, legal_basis: str) -> str:
        """The legal area of a decision under `legal_basis`, from the delegation plan."""
        _, area = self.directory.owner_of(legal_basis)
        return area

    def decision(
        self,
        legal_basis: str,
        *,
        kind: str,
        considerations: str,
        facts: tuple[str, ...],
        explanation: str,
        decision_id: str | None = None,
        amount: int | None = None,
        effective_from: date | None = None,
        effective_to: date | None = None,
        appeal_deadline: date | None = None,
        persons: tuple[str, ...] = (),
    ) -> ev.Payload[ev.DecisionMade]:
        """A decision; its legal area comes from the delegation plan."""
        return ev.payload(
            ev.DecisionMade,
            decision_id=decision_id or ev.new_id(),
            legal_basis=legal_basis,
            legal_area=self.legal_area(legal_basis),
            kind=kind,
            considerations=considerations,
            facts=facts,
            explanation=explanation,
            amount=amount,
            effective_from=effective_from,
            effective_to=effective_to,
            appeal_deadline=appeal_deadline,
            persons=persons,
        )

    def record_decision(self, case_id: str, legal_basis: str, **fields: Any) -> ev.DecisionMade:
        """Record a decision (the fields of `decision`); its legal area comes from the delegation plan."""
        return self.record(case_id, self.decision(legal_basis, **fields))

    def cases(self) -> list[dict[str, Any]]:
        """One row per held case: lead, persons, events confirmed and pending."""
        rows = []
        for case_id in self.store.held_cases():
            view = self.view(case_id)
            rows.append(
                {
                    "case": case_id,
                    "kind": view.state.kind,
                    "lead": view.state.lead,
                    "status": view.state.status,
                    "persons": len(view.state.persons),
                    "confirmed": view.confirmed_seq,
                    "pending": len(view.pending),
                    "not_shown": view.veiled + view.hidden,
                    "provisional": view.provisional,
                }
            )
        return rows


def goal_revision(view: CaseView, goal_id: str, text: str, *, due: date | None = None) -> ev.Payload[ev.GoalRevised]:
    """A goal's revision from the revision the worker sees in `view` (UnknownReference
    when the case has no such goal)."""
    goal = view.state.goals.get(goal_id)
    if goal is None:
        raise UnknownReference(f"goal {goal_id} is not part of case {view.state.case_id}")
    persons = (goal.person,) if goal.person else ()
    return ev.payload(ev.GoalRevised, goal_id=goal_id, text=text, base_revision=goal.revision, due=due, persons=persons)
