"""Monitoring: aggregate reports of the work, from a projection that holds no personal data.

`MonitoringProjection` follows the log (through `core.projection.ProjectionRunner`, rows
and position in one transaction, rebuildable from zero) and keeps one row per counted
fact of an event in `view_monitoring`: the case id, the kind of fact, the department, the
month it happened and a label from a closed list (a challenge, a meeting kind, a case
kind), with a number. It never copies a name, a CPR number, a note or a free-text word:
a challenge outside the municipality's list (`core.vocabularies`, the list it is given) is
counted as `other`. An erased case's rows
are deleted with it.

The statutory transition meetings (16, 17½, 18; `core.deadlines`) are a fact of the case
rather than of one event: whenever a case's persons or meetings change, its `statutory`
rows are recomputed from the case as folded: one per young person and meeting kind, by
the *month* the meeting fell due (never the date), valued 1 when a meeting of that kind
concerning them was held by the due date.

The reports (`contacts`, `families`, `goals`, `meetings`, `statutory`) group those rows. A cell that
counts fewer than `SMALL_CELL` cases (or, for tallies, contacts) is suppressed (None), and
so is a total that would give a suppressed cell away by subtraction. Each report's
definition is in the README, section "Monitoring".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core import events as ev
from core import vocabularies
from core.case import CaseState, fold
from core.deadlines import CHILD_SYSTEM, STATUTORY, YOUNG_ROLES, birthday
from core.errors import CaseErased, KeyNotHeld
from core.log import CaseLog, LoggedEvent
from core.projection import Write
from core.vocabularies import Vocabularies

STATUTORY_PART = 1000  # parts of an event's rows from here on are its case's statutory rows
SMALL_CELL = 5  # cells counting fewer than this many cases are suppressed
REPORTED_KINDS = ("citizen", "family")  # pseudonymous and tally cases are not families
#: The event types the monitoring view counts (it opens these and `STATUTORY_TOPICS` only).
MONITORED_TOPICS = frozenset(
    cls.TOPIC
    for cls in (
        ev.CaseOpened,
        ev.CoordinatorAssigned,
        ev.GoalAdded,
        ev.GoalClosed,
        ev.ProgressRecorded,
        ev.ContactRecorded,
        ev.ContactsTallied,
        ev.MeetingHeld,
    )
)

#: Events that may change a case's statutory meetings (`changes_statutory` says whether one does).
STATUTORY_TOPICS = frozenset(
    cls.TOPIC for cls in (ev.CaseTransferred, ev.PersonAdded, ev.PersonCorrected, ev.TeamMemberJoined, ev.MeetingHeld)
)
STATUTORY_KINDS = frozenset(kind for kind, _, _ in STATUTORY)
#: The events `statutory_facts` needs of a case folded (its other events are not opened).
FOLDED_TOPICS = STATUTORY_TOPICS | {
    cls.TOPIC for cls in (ev.CaseOpened, ev.CaseClosed, ev.CaseReopened, ev.TeamMemberLeft, ev.CoordinatorAssigned)
}

Fact = tuple[str, str, str, str, int]  # fact, department, month, label, value


def table_name(log: CaseLog) -> str:
    return f"{log.tables.q}view_monitoring"


OTHER = "other"  # the bucket of a challenge the list does not know


def challenge_index(words: Vocabularies) -> dict[str, str]:
    """Each word of the challenge list (name or label, case folded) -> its name, so a
    batch looks each challenge up once (`Vocabularies.name_of` reads the same)."""
    return {
        word.casefold(): name
        for name, labels in list(words.lists.get(vocabularies.CHALLENGES, {}).items())[::-1]
        for word in (name, *labels)
    }


DEFAULT_INDEX = challenge_index(vocabularies.DEFAULT)


def challenge(text: str, index: Mapping[str, str] = DEFAULT_INDEX) -> str:
    """A challenge as the reports count it: a name of the municipality's list (or a label
    of one), else `other` (so a word outside the list never reaches a report)."""
    return index.get(" ".join(text.split()).casefold(), OTHER)


def facts(e: ev.CaseEvent, index: Mapping[str, str] = DEFAULT_INDEX) -> list[Fact]:
    """What one event counts for, in the projection's terms (no personal data)."""
    month = e.occurred_at.strftime("%Y-%m")
    dept = e.department
    if isinstance(e, ev.CaseOpened):
        return [("case", e.lead_department, month, e.kind, 1)]
    if isinstance(e, ev.CoordinatorAssigned):
        return [("coordinator", e.coordinator_department, month, "coordinator", 1)]
    if isinstance(e, ev.GoalAdded):
        return [("goal", dept, month, "added", 1)]
    if isinstance(e, ev.GoalClosed):
        return [("goal", dept, month, "closed", 1)]
    if isinstance(e, ev.ProgressRecorded):
        return [("progress", dept, month, "score", e.score)]
    if isinstance(e, ev.ContactRecorded):
        labels = dict.fromkeys(challenge(c, index) for c in e.challenges) or {"none": None}
        return [("contact", dept, month, label, 1) for label in labels]
    if isinstance(e, ev.ContactsTallied):
        day = e.day.strftime("%Y-%m")
        return [("tally", dept, day, challenge(c, index), n) for c, n in sorted(e.counts.items())]
    if isinstance(e, ev.MeetingHeld):
        return [("meeting", dept, month, e.kind, 1)]
    return []


def changes_statutory(e: ev.CaseEvent) -> bool:
    """Whether the case's statutory rows must be counted again after `e`: a young person
    added or corrected, a statutory meeting, the child system joining, a transfer. (The
    count folds the whole case, so the many events that cannot change it are left out.)"""
    if isinstance(e, ev.PersonAdded):
        return e.role in YOUNG_ROLES
    if isinstance(e, ev.MeetingHeld):
        return e.kind in STATUTORY_KINDS
    if isinstance(e, ev.TeamMemberJoined):
        return e.member_department in CHILD_SYSTEM
    return isinstance(e, (ev.PersonCorrected, ev.CaseTransferred))


def statutory_facts(state: CaseState) -> list[Fact]:
    """Each statutory meeting of the case's young persons that fell due while the case
    was open (from its opening to its closing): the month it fell due, its kind, and
    1 when a meeting of that kind concerning the person was held by the due date. Counted
    under the coordinator's department, else the lead's; only cases of the child system."""
    opened = min((m.joined_at for ms in state.memberships.values() for m in ms), default=None)
    if state.lead is None or opened is None or not (CHILD_SYSTEM & ({state.lead} | set(state.parties()))):
        return []
    dept = state.coordinator[1] if state.coordinator else state.lead
    found: list[Fact] = []
    for p in state.persons.values():
        born = p.born()
        if p.role not in YOUNG_ROLES or born is None:
            continue
        for kind, years, months in STATUTORY:
            due = birthday(born, years, months)
            if due < opened.date() or (state.closed_at is not None and due > state.closed_at.date()):
                continue
            held = any(
                m.kind == kind and (p.person_id in m.persons or not m.persons) and m.held_at.date() <= due
                for m in state.meetings.values()
            )
            found.append(("statutory", dept, due.strftime("%Y-%m"), kind, int(held)))
    return found


class MonitoringProjection:
    """Projection of the log onto `view_monitoring`: counted facts, no personal data."""

    name = "view_monitoring"

    def __init__(self, log: CaseLog, words: Callable[[], Vocabularies] = lambda: vocabularies.DEFAULT) -> None:
        self.log = log
        self.words = words  # the municipality's lists as they are now
        self.table = table_name(log)

    def create_statements(self, placeholder: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} (event_id TEXT NOT NULL, part INTEGER NOT NULL, "
            "case_id TEXT NOT NULL, fact TEXT NOT NULL, department TEXT NOT NULL, month TEXT NOT NULL, "
            "label TEXT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY (event_id, part))",
            # A case's rows are deleted by its id (erased, or its statutory rows counted again).
            f"CREATE INDEX IF NOT EXISTS view_monitoring_case ON {self.table} (case_id, fact)",
        ]

    def drop_statements(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {self.table}"]

    def handle(self, events: Sequence[LoggedEvent]) -> list[Write]:
        p = self.log.tables.p
        insert = f"INSERT INTO {self.table} VALUES ({p},{p},{p},{p},{p},{p},{p},{p})"
        erase = f"DELETE FROM {self.table} WHERE case_id={p}"
        writes: list[Write] = []
        index = challenge_index(self.words())
        recount: dict[str, str] = {}  # case id -> the last event that changes its statutory meetings
        for le in events:
            sealed = le.sealed
            if sealed.topic == ev.CaseErased.TOPIC:
                writes.append((erase, (sealed.case_id,)))
                recount.pop(sealed.case_id, None)
                continue
            if sealed.topic not in MONITORED_TOPICS and sealed.topic not in STATUTORY_TOPICS:
                continue
            try:
                e = self.log.open(le)
            except (CaseErased, KeyNotHeld):
                continue  # erased since: its key is gone, and so are its counts
            if sealed.topic in STATUTORY_TOPICS and changes_statutory(e):
                recount[sealed.case_id] = sealed.event_id
            for part, (fact, dept, month, label, value) in enumerate(facts(e, index)):
                writes.append((insert, (sealed.event_id, part, sealed.case_id, fact, dept, month, label, value)))
        for case_id, event_id in recount.items():
            writes.extend(self._statutory(case_id, event_id, insert))
        return writes

    def _statutory(self, case_id: str, event_id: str, insert: str) -> list[Write]:
        """The case's statutory rows, recomputed from the whole case once per batch (under
        the id of its last event that changed them, at parts after that event's own)."""
        try:
            wanted = (le for le in self.log.case_events(case_id) if le.sealed.topic in FOLDED_TOPICS)
            state = fold(case_id, (self.log.open(le) for le in wanted))
        except (CaseErased, KeyNotHeld):
            return []
        p = self.log.tables.p
        writes: list[Write] = [(f"DELETE FROM {self.table} WHERE case_id={p} AND fact='statutory'", (case_id,))]
        for part, (fact, dept, month, label, value) in enumerate(statutory_facts(state), start=STATUTORY_PART):
            writes.append((insert, (event_id, part, case_id, fact, dept, month, label, value)))
        return writes


@dataclass(frozen=True)
class Report:
    """One aggregate report: named columns, rows of cells; None is a suppressed cell."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "suppressed": f"a cell counting fewer than {SMALL_CELL} is null",
            "note": self.note,
        }


def shown(count: int, cases: int | None = None) -> int | None:
    """A count as a report may show it: None when it, or the cases behind it, are small."""
    if count == 0:
        return 0
    if count < SMALL_CELL or (cases is not None and cases < SMALL_CELL):
        return None
    return count


def _rows(log: CaseLog, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in log.recorder.run(sql.format(t=table_name(log)), params)]


def contacts_report(log: CaseLog) -> Report:
    """Contacts by centre (department), month and challenge: recorded ones, anonymous
    tallies, and their total."""
    rows = _rows(
        log,
        "SELECT department, month, label, "
        "SUM(CASE WHEN fact='contact' THEN value ELSE 0 END) AS recorded, "
        "COUNT(DISTINCT CASE WHEN fact='contact' THEN case_id END) AS cases, "
        "SUM(CASE WHEN fact='tally' THEN value ELSE 0 END) AS tallied "
        "FROM {t} WHERE fact IN ('contact', 'tally') GROUP BY department, month, label "
        "ORDER BY department, month, label",
    )
    out = []
    for dept, month, label, recorded, cases, tallied in rows:
        rec, tal = shown(int(recorded), int(cases)), shown(int(tallied))
        total = None if rec is None or tal is None else rec + tal
        out.append((dept, month, label, rec, tal, total))
    return Report(
        "contacts",
        "Contacts by centre, month and challenge",
        ("department", "month", "challenge", "recorded", "tallied", "total"),
        out,
    )


def families_report(log: CaseLog) -> Report:
    """Cases by lead department and kind: how many, how many with a coordinator, with a
    shared plan (at least one goal), and with both."""
    per_case: dict[str, dict[str, Any]] = {}
    for case_id, fact, label, dept in _rows(
        log,
        "SELECT case_id, fact, MAX(label) AS label, MAX(department) AS department FROM {t} "
        "WHERE fact IN ('case', 'coordinator', 'goal') GROUP BY case_id, fact",
    ):
        per_case.setdefault(case_id, {})[fact] = (label, dept)
    groups: dict[tuple[str, str], list[int]] = {}
    for found in per_case.values():
        if "case" not in found or found["case"][0] not in REPORTED_KINDS:
            continue
        kind, lead = found["case"]
        coordinator, plan = "coordinator" in found, "goal" in found
        counts = groups.setdefault((lead, kind), [0, 0, 0, 0])
        for i, yes in enumerate((True, coordinator, plan, coordinator and plan)):
            counts[i] += int(yes)
    rows = [(lead, kind, *(shown(n) for n in counts)) for (lead, kind), counts in sorted(groups.items())]
    return Report(
        "families",
        "Cases with a coordinator and a shared plan",
        ("lead_department", "kind", "cases", "with_coordinator", "with_plan", "with_both"),
        rows,
    )


def goals_report(log: CaseLog) -> Report:
    """Goals and progress by month: goals added and closed, progress recorded, its mean
    score (1 to 5), each over the cases behind it."""
    rows = _rows(
        log,
        "SELECT month, "
        "SUM(CASE WHEN fact='goal' AND label='added' THEN 1 ELSE 0 END) AS added, "
        "COUNT(DISTINCT CASE WHEN fact='goal' AND label='added' THEN case_id END) AS added_cases, "
        "SUM(CASE WHEN fact='goal' AND label='closed' THEN 1 ELSE 0 END) AS closed, "
        "COUNT(DISTINCT CASE WHEN fact='goal' AND label='closed' THEN case_id END) AS closed_cases, "
        "SUM(CASE WHEN fact='progress' THEN 1 ELSE 0 END) AS progress, "
        "SUM(CASE WHEN fact='progress' THEN value ELSE 0 END) AS scores, "
        "COUNT(DISTINCT CASE WHEN fact='progress' THEN case_id END) AS progress_cases "
        "FROM {t} WHERE fact IN ('goal', 'progress') GROUP BY month ORDER BY month",
    )
    out = []
    for month, added, added_cases, closed, closed_cases, progress, score, progress_cases in rows:
        recorded = shown(int(progress), int(progress_cases))
        mean = round(int(score) / int(progress), 2) if recorded else None
        out.append((month, shown(int(added), int(added_cases)), shown(int(closed), int(closed_cases)), recorded, mean))
    return Report(
        "goals",
        "Goals and progress over time",
        ("month", "goals_added", "goals_closed", "progress_recorded", "mean_score"),
        out,
    )


def meetings_report(log: CaseLog) -> Report:
    """Meetings held by kind and month (statutory meetings among them)."""
    rows = _rows(
        log,
        "SELECT label, month, COUNT(*) AS meetings, COUNT(DISTINCT case_id) AS cases FROM {t} "
        "WHERE fact='meeting' GROUP BY label, month ORDER BY label, month",
    )
    return Report(
        "meetings",
        "Meetings held by kind and month",
        ("kind", "month", "held"),
        [(kind, month, shown(int(n), int(cases))) for kind, month, n, cases in rows],
        note="whether the statutory meetings were held on time: the statutory report",
    )


def statutory_report(log: CaseLog, today: date | None = None) -> Report:
    """The statutory transition meetings (16, 17½, 18) by the month they fell due and
    kind: how many fell due and how many were held by their due date, for the months
    before the current one (a month still running has not finished falling due)."""
    month = (today or ev.utcnow().date()).strftime("%Y-%m")
    before = f"month < {log.tables.p}"
    rows = _rows(
        log,
        "SELECT month, label, COUNT(*) AS due, COUNT(DISTINCT case_id) AS cases, SUM(value) AS held, "
        "COUNT(DISTINCT CASE WHEN value=1 THEN case_id END) AS held_cases FROM {t} "
        f"WHERE fact='statutory' AND {before} GROUP BY month, label ORDER BY month, label",
        (month,),
    )
    return Report(
        "statutory",
        "Statutory transition meetings held on time",
        ("month", "kind", "fell_due", "held_on_time"),
        [(m, kind, shown(int(due), int(cases)), shown(int(held), int(hc))) for m, kind, due, cases, held, hc in rows],
    )


REPORTS = {
    "contacts": contacts_report,
    "families": families_report,
    "goals": goals_report,
    "meetings": meetings_report,
    "statutory": statutory_report,
}


def report(log: CaseLog, name: str) -> Report:
    """The report named `name`; KeyError when there is none (the caller says so)."""
    return REPORTS[name](log)


def all_reports(log: CaseLog) -> Iterable[Report]:
    return (build(log) for build in REPORTS.values())
