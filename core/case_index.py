"""The case index: which cases a department is a party to, kept in two tables of the database.

`CaseIndexProjection` follows the log (through `core.projection.ProjectionRunner`, rows
and position in one transaction, rebuildable from zero) and owns two tables that hold
only ids, statuses, department ids and times, never a name, CPR number or note:

    view_cases        case id, kind, lead department, status, closed at, last
                      position and sequence, earliest undecided erasure request
    view_dept_cases   department, case id, whether it is a party now, last position

`department_cases` lists a department's cases from them; `cases_by_id`, `closed_cases`
and `undecided_erasures` answer the CPR search and the retention and erasure lists
(`core.retention`). Finding a department's cases is fast this way; what the department may see of
one is judged when it is read (`core.case_view`), never stored here.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from core import events as ev
from core.case import CaseState
from core.errors import CaseErased, KeyNotHeld
from core.log import CaseLog, LoggedEvent
from core.memory_budget import Budgeted, estimate
from core.projection import Write
from core.sealing import to_micros

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


_TOPICS = tuple(sorted(INDEX_TOPICS))

#: Bytes of folded index states one `IndexFolds` keeps by default (`cache_mib` sets it).
FOLD_BUDGET = 16 * 1024 * 1024


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


class IndexFolds:
    """Cases folded from their index-relevant events only (membership, status, erasure
    requests), remembered by the sequence they were folded up to.

    The log is immutable, so a state folded to sequence n stays right and a later
    question only folds the case's newer events; without this, each page of the index
    re-read every touched case from its start and a rebuild grew quadratic in the length
    of a case. The caseload asks the same of the cases a worker may hold
    (`server.syncing.caseload`).
    """

    def __init__(self, log: CaseLog, budget: int = FOLD_BUDGET) -> None:
        self.log = log
        # case -> (sequence folded to, state, sealed bytes of the events folded into it)
        self.folded: Budgeted[str, tuple[int, CaseState, int]] = Budgeted(budget)

    def state(self, case_id: str, upto: int, page: Sequence[LoggedEvent] = ()) -> CaseState:
        """The case folded from its index-relevant events up to sequence `upto`.

        Membership and status live in sealed payloads, so those events are opened; an
        erased case cannot be opened any more and is indexed as erased with no parties.
        Only the events after the sequence folded last time are read, and not even those
        when the page at hand (the case's events in it, in order) holds all of them.
        """
        found = self.folded.get(case_id)
        if found is not None and found[0] == upto:
            return found[1]  # folded to here before: nothing to read, nothing to remember anew
        remembered = found is not None and found[0] <= upto
        done, state, weight = found if found is not None and remembered else (0, CaseState(case_id), 0)
        if done < upto and state.status != "erased":
            if page and not (page[0].seq == done + 1 and page[-1].seq == upto):
                page = [le for le in page if done < le.seq <= upto]  # a tail read from earlier on
            follows = bool(page) and page[0].seq == done + 1 and page[-1].seq == upto
            # Only the rows stored as index-relevant are read (their sealed type is checked
            # again below; `audit verify` holds the stored type to the sealed one).
            logged = list(page) if follows else self.log.case_events(case_id, after=done, upto=upto, topics=_TOPICS)
            relevant = [le for le in logged if le.sealed.topic in INDEX_TOPICS]
            if any(le.sealed.topic == ev.CaseErased.TOPIC for le in relevant):
                state = CaseState(case_id, status="erased")
            elif relevant:
                if remembered:
                    state = deepcopy(state)  # another thread may be reading the remembered one
                try:
                    for le in relevant:
                        state.apply(self.log.open(le))
                        weight += len(le.sealed.raw)
                except (CaseErased, KeyNotHeld):
                    state = CaseState(case_id, status="erased")
        self.folded.put(case_id, (upto, state, weight), estimate(weight))
        return state


class CaseIndexProjection:
    """Projection of the log onto `view_cases` and `view_dept_cases`.

    For each case touched by a page it folds the index-relevant events of the case up to
    the page's last position (decrypting only those) and rewrites the case's rows, so a
    replayed or rebuilt page always lands on the same rows.
    """

    name = "view_case_index"

    def __init__(self, log: CaseLog, budget: int = FOLD_BUDGET) -> None:
        self.log = log
        self.cases, self.dept_cases = table_names(log)
        self.folds = IndexFolds(log, budget)

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
            state = self.folds.state(case_id, seq, paged[case_id])
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


def _case_rows(log: CaseLog, where: str = "", params: Sequence[Any] = ()) -> list[CaseRow]:
    """Rows of `view_cases`, optionally filtered by a condition on its columns."""
    cases, _ = table_names(log)
    sql = (
        "SELECT case_id, kind, lead, status, closed_at, erasure_requested_at, position, seq "
        f"FROM {cases}{' WHERE ' + where if where else ''} ORDER BY case_id"
    )
    return [CaseRow(*r) for r in log.recorder.run(sql, params)]


def cases_by_id(log: CaseLog, case_ids: Sequence[str]) -> list[CaseRow]:
    """The index rows of the named cases (those the index knows), in case id order."""
    if not case_ids:
        return []
    marks = ",".join([log.tables.p] * len(case_ids))
    return _case_rows(log, f"case_id IN ({marks})", list(case_ids))


def closed_cases(log: CaseLog) -> list[CaseRow]:
    """Cases closed and not reopened: those whose retention clock runs."""
    return _case_rows(log, "status='closed' AND closed_at IS NOT NULL")


def undecided_erasures(log: CaseLog, requested_before: int) -> list[CaseRow]:
    """Cases not erased whose erasure was requested at or before a moment (µs since the epoch)."""
    p = log.tables.p
    return _case_rows(
        log,
        f"erasure_requested_at IS NOT NULL AND erasure_requested_at<={p} AND status<>'erased'",
        (requested_before,),
    )


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
