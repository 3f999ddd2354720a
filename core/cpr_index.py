"""The CPR look-up: which persons of which cases carry a CPR number, by keyed hash only.

`CprIndexProjection` follows the log (through `core.projection.ProjectionRunner`, rows and
position in one transaction, rebuildable from zero) and keeps one table

    cpr_index     HMAC-SHA256 of the CPR number (hex), case id, person id, last position

fed by ``person.added`` and ``person.corrected``: only those events are opened, and only
the keyed hash of the number they carry is stored (the key is derived from the server's
key-encryption key, `KeyEncryptionKey.cpr_index`), never the number. A correction that
changes the number moves the person's row. An erased case has no rows: they are deleted
when its ``case.erased`` tombstone arrives, and a case whose key is gone (a rebuild after
erasure) is never indexed again.

`search` answers a department at the moment of reading: the index names the candidate
cases, then each is judged with `core.visibility.department_view` as a department view
is, so a case is found only when the department is a party to it now and may see the
person's ``person.added`` event and the event that gave the person the number searched
for (its own record, or a consent covering identity). Every other case does not exist
for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core import events as ev
from core.case_cache import CachedCase, CaseCache
from core.departments import Directory
from core.errors import CaseErased, InvalidInput, KeyNotHeld
from core.keys import CprIndex, normalise_cpr
from core.log import CaseLog, LoggedEvent
from core.projection import Write
from core.visibility import department_view

PERSON_TOPICS = frozenset((ev.PersonAdded.TOPIC, ev.PersonCorrected.TOPIC))


def table_name(log: CaseLog) -> str:
    """The index table, schema-qualified on PostgreSQL."""
    return f"{log.tables.q}cpr_index"


class CprIndexProjection:
    """Projection of the log onto `cpr_index`: (keyed CPR hash, case id, person id)."""

    name = "view_cpr_index"

    def __init__(self, log: CaseLog, index: CprIndex | None = None) -> None:
        self.log = log
        self.index = index or log.kek.cpr_index()
        self.table = table_name(log)

    def create_statements(self, placeholder: str) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} (cpr_hash TEXT NOT NULL, case_id TEXT NOT NULL, "
            "person_id TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (case_id, person_id))",
            f"CREATE INDEX IF NOT EXISTS cpr_index_hash ON {self.table} (cpr_hash)",
        ]

    def drop_statements(self) -> list[str]:
        return [f"DROP TABLE IF EXISTS {self.table}"]

    def handle(self, events: Sequence[LoggedEvent]) -> list[Write]:
        p = self.log.tables.p
        writes: list[Write] = []
        gone: set[str] = set()  # cases erased (tombstone or key destroyed) in this page
        for le in events:
            case_id, topic = le.sealed.case_id, le.sealed.topic
            if case_id in gone:
                continue
            if topic == ev.CaseErased.TOPIC:
                writes.append((f"DELETE FROM {self.table} WHERE case_id={p}", (case_id,)))
                gone.add(case_id)
                continue
            if topic not in PERSON_TOPICS:
                continue
            try:
                e = self.log.open(le)
            except (CaseErased, KeyNotHeld):
                writes.append((f"DELETE FROM {self.table} WHERE case_id={p}", (case_id,)))
                gone.add(case_id)
                continue
            if not isinstance(e, ev.PersonAdded | ev.PersonCorrected) or e.cpr is None:
                continue  # no number given (a correction of something else keeps the row)
            writes.append((f"DELETE FROM {self.table} WHERE case_id={p} AND person_id={p}", (case_id, e.person_id)))
            try:
                digest = self.index.digest(e.cpr)
            except InvalidInput:
                continue  # the rules refuse a malformed number; never index one
            writes.append(
                (
                    f"INSERT INTO {self.table} VALUES ({p},{p},{p},{p})",
                    (digest, case_id, e.person_id, le.position),
                )
            )
        return writes


def lookup(log: CaseLog, digest: str) -> dict[str, list[str]]:
    """Case id -> person ids whose CPR number has this keyed hash, from the index."""
    rows = log.recorder.run(
        f"SELECT case_id, person_id FROM {table_name(log)} WHERE cpr_hash={log.tables.p} ORDER BY case_id, person_id",
        (digest,),
    )
    found: dict[str, list[str]] = {}
    for case_id, person_id in rows:
        found.setdefault(case_id, []).append(person_id)
    return found


@dataclass(frozen=True, slots=True)
class Found:
    """A case a department may see in which persons carry the CPR number searched for."""

    case_id: str
    person_ids: tuple[str, ...]


def search(
    log: CaseLog,
    cache: CaseCache,
    index: CprIndex,
    cpr: str,
    department: str,
    directory: Directory,
    at: datetime,
) -> list[Found]:
    """The cases in which `department` may see, at `at`, a person with this CPR number.

    InvalidInput (never echoing the number) when the number is malformed.
    """
    number = normalise_cpr(cpr)
    found: list[Found] = []
    for case_id, persons in lookup(log, index.digest(number)).items():
        try:
            case = cache.get(case_id)
        except (KeyNotHeld, CaseErased):
            continue
        seen = department_view(case.state, case.events, department, directory, at)
        if seen is None:
            continue
        visible = {s.event.event_id for s in seen}
        shown = tuple(pid for pid in persons if _person_shown(case, pid, number, visible))
        if shown:
            found.append(Found(case_id, shown))
    return found


def _person_shown(case: CachedCase, person_id: str, number: str, visible: set[str]) -> bool:
    """Whether the person carries `number` now and the department may see both the
    ``person.added`` event and the event that gave the person this number."""
    person = case.state.persons.get(person_id)
    if person is None or person.cpr is None or _normal(person.cpr) != number:
        return False
    added = given = None
    for e in case.events:
        if isinstance(e, ev.PersonAdded | ev.PersonCorrected) and e.person_id == person_id:
            if isinstance(e, ev.PersonAdded):
                added = e.event_id
            if e.cpr is not None:
                given = e.event_id
    return added in visible and given in visible


def _normal(cpr: str) -> str | None:
    try:
        return normalise_cpr(cpr)
    except InvalidInput:
        return None
