"""Department views: which cases a department is a party to, and what it may see of one.

Two halves, because consent is judged when a view is *read* (a withdrawal must take
effect on the very next read, rule 2) while finding a department's cases must be fast:

- `CaseIndexProjection` follows the log (through `core.projection.ProjectionRunner`, rows
  and position in one transaction) and keeps two tables that hold only ids, statuses,
  department ids and times, never a name, CPR number or note:

      view_cases        case id, kind, lead department, status, closed at, last
                        position and sequence, earliest undecided erasure request
      view_dept_cases   department, case id, whether it is a party now, last position

  The retention and erasure lists (`core.retention`) are SQL over these rows.

- `CaseCache` keeps each case's decrypted events and folded state in memory, keyed by
  the last sequence it has applied, and extends them from the log's tail on each use (so
  several server instances stay honest). `department_case` then applies
  `core.visibility.department_view` at the moment of reading: a case of a few hundred
  events answers in a few milliseconds, and nothing decrypted ever touches the disk.

- `ViewCache` keeps the judged view of (case, department) as encoded JSON, for as long
  as judging it again could not give another answer: while the case's last sequence is
  the same (any new event, a withdrawal too, moves it) and until `next_change`, the
  first moment at which visibility changes by itself (midnight, when a consent runs out
  or a young person turns 18; a consent, withdrawal, membership or share dated in the
  future). Consent is still judged at the moment of reading; the cache only remembers
  the answer that judgement gives for the whole stretch of time it holds.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from core import events as ev
from core.case import CaseState, fold
from core.departments import Directory
from core.errors import CaseErased, KeyNotHeld
from core.log import CaseLog, LoggedEvent
from core.projection import Write
from core.sealing import from_micros, to_micros
from core.visibility import Seen, department_view

#: Event types whose payload changes who is a party, the case's status or its erasure
#: requests; the index opens only these (their type is readable without the key).
INDEX_TOPICS = frozenset(
    cls.TOPIC
    for cls in (
        ev.CaseOpened,
        ev.CaseClosed,
        ev.CaseReopened,
        ev.CaseTransferred,
        ev.CaseErased,
        ev.CoordinatorAssigned,
        ev.TeamMemberJoined,
        ev.TeamMemberLeft,
        ev.ErasureRequested,
        ev.ErasureDecided,
    )
)


def table_names(log: CaseLog) -> tuple[str, str]:
    """(cases table, department-cases table), schema-qualified on PostgreSQL."""
    q = log.tables.q
    return f"{q}view_cases", f"{q}view_dept_cases"


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One case as the index holds it: no personal data, only ids, statuses and times."""

    case_id: str
    kind: str | None
    lead: str | None
    status: str
    closed_at: int | None  # µs since the epoch
    erasure_requested_at: int | None  # earliest undecided request, µs
    position: int
    seq: int


class CaseIndexProjection:
    """Projection of the log onto `view_cases` and `view_dept_cases`.

    For each case touched by a page it folds the index-relevant events of the case up to
    the page's last position (decrypting only those) and rewrites the case's rows, so a
    replayed or rebuilt page always lands on the same rows.
    """

    name = "view_case_index"

    def __init__(self, log: CaseLog, remember: int = 100_000) -> None:
        self.log = log
        self.cases, self.dept_cases = table_names(log)
        # Index states folded so far, by case: (sequence folded up to, state). The log is
        # immutable, so a state folded to sequence n stays right and a later page only
        # folds the case's newer events; without this, each page re-read every touched
        # case from its start and a rebuild grew quadratic in the length of a case.
        self.remember = remember
        self._folded: OrderedDict[str, tuple[int, CaseState]] = OrderedDict()

    def create_statements(self, placeholder: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.cases} (case_id TEXT PRIMARY KEY, kind TEXT, "
            "lead TEXT, status TEXT NOT NULL, closed_at BIGINT, erasure_requested_at BIGINT, "
            "position BIGINT NOT NULL, seq BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.dept_cases} (department TEXT NOT NULL, "
            "case_id TEXT NOT NULL, party INTEGER NOT NULL, position BIGINT NOT NULL, "
            "PRIMARY KEY (department, case_id))",
        ]

    def drop_statements(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {self.dept_cases}", f"DROP TABLE IF EXISTS {self.cases}"]

    def handle(self, events: Sequence[LoggedEvent]) -> list[Write]:
        last: dict[str, tuple[int, int]] = {}
        paged: dict[str, list[LoggedEvent]] = {}
        for le in events:
            case_id = le.sealed.case_id
            last[case_id] = (le.position, le.seq)
            paged.setdefault(case_id, []).append(le)
        p = self.log.tables.p
        delete_case = f"DELETE FROM {self.cases} WHERE case_id={p}"
        insert_case = f"INSERT INTO {self.cases} VALUES ({p},{p},{p},{p},{p},{p},{p},{p})"
        delete_parties = f"DELETE FROM {self.dept_cases} WHERE case_id={p}"
        insert_party = f"INSERT INTO {self.dept_cases} VALUES ({p},{p},{p},{p})"
        cases: list[Write] = []
        parties: list[Write] = []
        for case_id, (position, seq) in last.items():
            state = self._index_state(case_id, seq, paged[case_id])
            requested = [at for at, granted in state.erasure_requests.values() if granted is None]
            cases.append(
                (
                    insert_case,
                    (
                        case_id,
                        state.kind,
                        state.lead,
                        state.status,
                        to_micros(state.closed_at) if state.closed_at else None,
                        to_micros(min(requested)) if requested else None,
                        position,
                        seq,
                    ),
                )
            )
            for department in state.memberships:
                party = int(state.is_party(department) and state.status != "erased")
                parties.append((insert_party, (department, case_id, party, position)))
        # Grouped by statement, so the runner sends each group as one executemany.
        cleared = [(case_id,) for case_id in last]
        return [
            *((delete_case, c) for c in cleared),
            *cases,
            *((delete_parties, c) for c in cleared),
            *parties,
        ]

    def _index_state(self, case_id: str, upto: int, page: Sequence[LoggedEvent] = ()) -> CaseState:
        """The case folded from its index-relevant events up to sequence `upto`.

        Membership and status live in sealed payloads, so those events are opened; an
        erased case cannot be opened any more and is indexed as erased with no parties.
        Only the events after the sequence folded last time are read, and not even those
        when the page at hand (the case's events in it, in order) follows on from it.
        """
        done, state = self._folded.get(case_id, (0, None))
        if state is None or done > upto:
            done, state = 0, CaseState(case_id)
        if state.status != "erased":
            follows = bool(page) and page[0].seq == done + 1 and page[-1].seq == upto
            logged = list(page) if follows else self.log.case_events(case_id, after=done, upto=upto)
            if any(le.sealed.topic == ev.CaseErased.TOPIC for le in logged):
                state = CaseState(case_id, status="erased")
            else:
                try:
                    for le in logged:
                        if le.sealed.topic in INDEX_TOPICS:
                            state.apply(self.log.open(le))
                except (CaseErased, KeyNotHeld):
                    state = CaseState(case_id, status="erased")
        self._folded[case_id] = (upto, state)
        self._folded.move_to_end(case_id)
        while len(self._folded) > self.remember:
            self._folded.popitem(last=False)
        return state


def case_rows(log: CaseLog, where: str = "", params: Sequence[Any] = ()) -> list[CaseRow]:
    """Rows of `view_cases`, optionally filtered by a SQL condition on its columns."""
    cases, _ = table_names(log)
    sql = (
        "SELECT case_id, kind, lead, status, closed_at, erasure_requested_at, position, seq "
        f"FROM {cases}{' WHERE ' + where if where else ''} ORDER BY case_id"
    )
    return [CaseRow(*r) for r in log.recorder.run(sql, params)]


def department_cases(log: CaseLog, department: str) -> list[CaseRow]:
    """The cases a department is a party to now, newest activity first."""
    cases, dept_cases = table_names(log)
    p = log.tables.p
    rows = log.recorder.run(
        "SELECT c.case_id, c.kind, c.lead, c.status, c.closed_at, c.erasure_requested_at, "
        f"c.position, c.seq FROM {dept_cases} d JOIN {cases} c ON c.case_id = d.case_id "
        f"WHERE d.department={p} AND d.party=1 AND c.status<>'erased' ORDER BY c.position DESC",
        (department,),
    )
    return [CaseRow(*r) for r in rows]


# --- read time ----------------------------------------------------------------------------


@dataclass
class CachedCase:
    """One case decrypted in memory: its logged events, typed events and folded state."""

    case_id: str
    logged: list[LoggedEvent] = field(default_factory=list)
    events: list[ev.CaseEvent] = field(default_factory=list)
    state: CaseState = field(init=False)

    def __post_init__(self) -> None:
        self.state = CaseState(self.case_id)

    @property
    def seq(self) -> int:
        return self.state.seq


class CaseCache:
    """Decrypted cases kept in memory (least recently used dropped first), never on disk.

    `get` reads the case's tail after the sequence it holds, so a read always includes
    everything the log has, also what another server instance appended.
    """

    def __init__(self, log: CaseLog, size: int = 500) -> None:
        self.log = log
        self.size = size
        self._cases: OrderedDict[str, CachedCase] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, case_id: str) -> CachedCase:
        """The case with every event the log holds; KeyNotHeld for an unknown case,
        CaseErased when its key was destroyed (and the case has no tombstone yet)."""
        with self._lock:
            cached = self._cases.get(case_id)
        if cached is None:
            cached = CachedCase(case_id)
        newer = self.log.case_events(case_id, after=cached.seq)
        if not newer and not cached.seq:
            raise KeyNotHeld(f"no case {case_id} is held here")
        if newer:
            # Extend a copy so a concurrent reader never sees half an extension.
            fresh = CachedCase(case_id, list(cached.logged), list(cached.events))
            fresh.state = fold(case_id, fresh.events) if cached.seq else fresh.state
            for le in newer:
                e = self.log.open(le)
                fresh.logged.append(le)
                fresh.events.append(e)
                fresh.state.apply(e)
            cached = fresh
        with self._lock:
            self._cases[case_id] = cached
            self._cases.move_to_end(case_id)
            while len(self._cases) > self.size:
                self._cases.popitem(last=False)
        return cached

    def forget(self, case_id: str) -> None:
        """Drop a case's plaintext from memory (after erasure, or to free room)."""
        with self._lock:
            self._cases.pop(case_id, None)


@dataclass(frozen=True)
class DepartmentCase:
    """A case as one department may see it at one moment: the events and their grounds,
    and the parts of the case folded from those events only."""

    case_id: str
    department: str
    at: datetime
    status: str
    lead: str | None
    seen: list[Seen]
    received: dict[str, int]  # event id -> µs the server received it
    partial: CaseState  # folded from the visible events only


def department_case(
    cache: CaseCache, case_id: str, department: str, directory: Directory, at: datetime
) -> DepartmentCase | None:
    """The case as `department` may see it at `at`, or None when it may see nothing
    (not a party, erased, or no such case: the caller cannot tell these apart)."""
    try:
        case = cache.get(case_id)
    except (KeyNotHeld, CaseErased):
        return None
    seen = department_view(case.state, case.events, department, directory, at)
    if seen is None:
        return None
    received = {le.sealed.event_id: le.received for le in case.logged}
    return DepartmentCase(
        case_id,
        department,
        at,
        case.state.status,
        case.state.lead,
        seen,
        received,
        fold(case_id, (s.event for s in seen)),
    )


def event_json(e: ev.CaseEvent, received: int | None = None) -> dict[str, Any]:
    """An event as JSON for people who may see it: its header, the three times, payload."""
    h = e.header
    out: dict[str, Any] = {
        "event": h.event_id,
        "type": h.topic,
        "department": h.department,
        "author": h.author,
        "role": h.role,
        "device": h.device,
        "occurred_at": h.occurred_at.isoformat(),
        "recorded_at": h.recorded_at.isoformat(),
    }
    if received is not None:
        out["received_at"] = from_micros(received).isoformat()
    out["payload"] = e.payload()
    return out


def seen_json(seen: Iterable[Seen], received: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "seq": s.seq,
            "basis": s.basis,
            "grounds": list(s.grounds),
            **event_json(s.event, received.get(s.event.event_id)),
        }
        for s in seen
    ]


def case_json(view: DepartmentCase) -> dict[str, Any]:
    """What a department gets for one case: timeline, plan, consents, decisions, conflicts."""
    part = view.partial
    return {
        "case": view.case_id,
        "department": view.department,
        "as_of": view.at.isoformat(),
        "status": view.status,
        "lead": view.lead,
        "persons": [
            {
                "person": p.person_id,
                "role": p.role,
                "name": p.name,
                "birth_date": p.birth_date.isoformat() if p.birth_date else None,
            }
            for p in part.persons.values()
        ],
        "plan": [
            {
                "goal": g.goal_id,
                "text": g.text,
                "owner": g.owner,
                "person": g.person,
                "parent": g.parent_goal,
                "revision": g.revision,
                "revisions": list(g.history),
                "closed": g.closed,
                "progress": list(g.scores),
            }
            for g in part.goals.values()
        ],
        "consents": [
            {
                "consent": c.consent_id,
                "subject": c.subject,
                "recipients": list(c.recipients),
                "categories": list(c.categories),
                "purpose": c.purpose,
                "valid_until": c.valid_until.isoformat(),
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
                "in_force": c.active_at(view.at),
            }
            for c in part.consents.values()
        ],
        "decisions": [
            event_json(s.event, view.received.get(s.event.event_id))
            for s in view.seen
            if isinstance(s.event, ev.DecisionMade)
        ],
        "conflicts": [{"conflict": cid, "resolved": resolved} for cid, resolved in part.conflicts.items()],
        "events": seen_json(view.seen, view.received),
    }


# --- judged views, remembered while they cannot change -----------------------------------


def encode_json(doc: Any) -> bytes:
    """JSON as the HTTP API sends it (UTF-8, compact; Starlette's `JSONResponse` encoding)."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def next_change(state: CaseState, at: datetime) -> datetime:
    """The first moment after `at` at which a view of the case judged at `at` may differ
    although no event was added: the next midnight (in `at`'s time zone: consents are
    valid until a date, ages count whole days) or the earliest moment after `at` at
    which a membership starts or ends, a consent starts or is withdrawn, or a share is
    made (events may be dated ahead of the server's clock)."""
    moments = [datetime.combine(at.date() + timedelta(days=1), time(), tzinfo=at.tzinfo)]
    for history in state.memberships.values():
        for m in history:
            moments.append(m.joined_at)
            if m.left_at is not None:
                moments.append(m.left_at)
    for c in state.consents.values():
        moments.append(c.given_at)
        if c.withdrawn_at is not None:
            moments.append(c.withdrawn_at)
    moments.extend(s.shared_at for s in state.shares.values())
    return min(m for m in moments if m > at)


@dataclass(frozen=True, slots=True)
class JudgedView:
    """A department's view of a case judged at `judged_at`, the same until `valid_until`
    as long as the case has no event after `seq`. `body` is None when the department may
    see nothing; otherwise the JSON of `case_json` in two parts around the moment of
    reading (``as_of``), which is spliced in per read."""

    seq: int
    authority: bool
    judged_at: datetime
    valid_until: datetime
    head: bytes | None
    tail: bytes

    def holds(self, seq: int, authority: bool, at: datetime) -> bool:
        return (
            seq == self.seq
            and authority == self.authority
            and self.judged_at <= at < self.valid_until
            and at.utcoffset() == self.judged_at.utcoffset()
        )

    def body(self, at: datetime) -> bytes | None:
        if self.head is None:
            return None
        return b"".join((self.head, self.moment(at), self.tail))

    @staticmethod
    def moment(at: datetime) -> bytes:
        """The part of the body between `head` and `tail`: the moment of reading."""
        return encode_json(at.isoformat())

    @property
    def size(self) -> int:
        return len(self.head or b"") + len(self.tail)


_AS_OF = "\x00as_of\x00"  # JSON-encodes to a text no event payload comes before


class ViewCache:
    """Judged department views in memory (least recently used dropped first, within a
    byte budget), never on disk. `body` judges afresh whenever the cached answer might
    be out of date, so using it answers exactly as `department_case` + `case_json`."""

    def __init__(self, cases: CaseCache, budget: int = 64 * 1024 * 1024) -> None:
        self.cases = cases
        self.budget = budget
        self.used = 0
        self.judged = 0  # views judged afresh (not answered from memory); for tests, metrics
        self._views: OrderedDict[tuple[str, str], JudgedView] = OrderedDict()
        self._lock = threading.Lock()

    def body(self, case_id: str, department: str, directory: Directory, at: datetime) -> bytes | None:
        """`case_json` of the case as `department` may see it at `at`, encoded; None when it
        may see nothing (not a party, erased, or no such case)."""
        view = self.view(case_id, department, directory, at)
        return None if view is None else view.body(at)

    def view(self, case_id: str, department: str, directory: Directory, at: datetime) -> JudgedView | None:
        """The case judged for `department` as it holds at `at` (its `body(at)` is None
        when the department may see nothing); None for an unknown or erased case. The
        case's tail is read from the log first, so an event appended anywhere is in the
        very next answer."""
        try:
            case = self.cases.get(case_id)
        except (KeyNotHeld, CaseErased):
            return None
        authority = directory.is_authority(department)
        found = self.holding(case_id, department, case.seq, authority, at)
        if found is not None:
            return found
        judged = self._judge(case, department, directory, authority, at)
        key = (case_id, department)
        with self._lock:
            self.judged += 1
            old = self._views.pop(key, None)
            if old is not None:
                self.used -= old.size
            if judged.size <= self.budget:
                self._views[key] = judged
                self.used += judged.size
            while self.used > self.budget and self._views:
                _, dropped = self._views.popitem(last=False)
                self.used -= dropped.size
        return judged

    def holding(self, case_id: str, department: str, seq: int, authority: bool, at: datetime) -> JudgedView | None:
        """The view judged earlier, from memory alone, when it still holds at `at` for the
        case whose last event is `seq` (read by the caller, e.g. from `core.heads`)."""
        key = (case_id, department)
        with self._lock:
            found = self._views.get(key)
            if found is not None:
                self._views.move_to_end(key)
        return found if found is not None and found.holds(seq, authority, at) else None

    def _judge(
        self, case: CachedCase, department: str, directory: Directory, authority: bool, at: datetime
    ) -> JudgedView:
        until = next_change(case.state, at)
        seen = department_view(case.state, case.events, department, directory, at)
        if seen is None:
            return JudgedView(case.seq, authority, at, until, None, b"")
        received = {le.sealed.event_id: le.received for le in case.logged}
        view = DepartmentCase(
            case.case_id,
            department,
            at,
            case.state.status,
            case.state.lead,
            seen,
            received,
            fold(case.case_id, (s.event for s in seen)),
        )
        doc = case_json(view)
        doc["as_of"] = _AS_OF
        head, marker, tail = encode_json(doc).partition(encode_json(_AS_OF))
        if not marker:  # cannot happen: as_of is a key of case_json; judged per read then
            raise RuntimeError("the case view has no as_of to fill in")
        return JudgedView(case.seq, authority, at, until, head, tail)

    def forget(self, case_id: str) -> None:
        """Drop every department's view of a case (after erasure)."""
        with self._lock:
            for key in [k for k in self._views if k[0] == case_id]:
                self.used -= self._views.pop(key).size
