"""Pull: what a device receives from the log, page by page, within its worker's caseload.

Pure semantics, no HTTP. A device names its cursor (a global position) and the cases it
holds. The answer has, in this order:

1. *back-fill*: every event at or below the cursor of cases newly in the caseload (the
   cursor would never bring them), a bounded number of cases per answer;
2. the page of caseload events after the cursor, in position order;
3. *grants*: the case key wrapped for the device's X25519 key, for every case in the
   answer that the device does not hold yet;
4. *drop*: held cases that left the caseload (and that the server knows).

`next` is the position the device may move its cursor to once it applied the answer. It
jumps over other workers' events and the gaps a rolled-back transaction leaves: when the
page is not full, everything up to the head read before the query was scanned.

The library's notification log filters only by topic, so the page is one query of our
own on the events table: `originator_id IN (caseload) AND position in (after, head]`,
served by the primary key `(originator_id, originator_version)` per case.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from core.errors import CaseErased, KeyNotHeld
from core.keys import grant_key
from core.log import CaseLog, LoggedEvent
from core.sealing import to_micros
from sync.caseload import Caseload
from sync.errors import StaleCursor
from sync.protocol import KeyGrant, PulledEvent, PullRequest, PullResponse

MAX_BACKFILL_CASES = 20
_CHUNK = 500


@dataclass(frozen=True)
class PullingDevice:
    """The device asking: its id, its worker, and its X25519 key for grants."""

    device_id: str
    worker: str
    agreement_key: bytes


def pull(
    log: CaseLog,
    caseload: Caseload,
    device: PullingDevice,
    request: PullRequest,
    *,
    max_backfill_cases: int = MAX_BACKFILL_CASES,
) -> PullResponse:
    """Answer a pull; StaleCursor when the cursor is beyond the log's head."""
    head = log.max_position()
    if request.after > head:
        raise StaleCursor(
            f"the cursor {request.after} is beyond the log's head {head}; "
            "the laptop's store belongs to another server or the server's log was replaced"
        )
    cases = caseload.of(device.worker)
    holding = set(request.holding)
    known = set(_known_cases(log, holding - cases))
    drop = tuple(sorted(c for c in holding - cases if c in known))

    backfill_events: list[LoggedEvent] = []
    more = False
    if request.after > 0:
        newcomers = sorted(cases - holding)
        starting = _cases_with_events_upto(log, newcomers, request.after)
        if len(starting) > max_backfill_cases:
            more = True
            starting = starting[:max_backfill_cases]
        for case_id in starting:
            backfill_events.extend(e for e in log.case_events(case_id) if e.position <= request.after)
    if more:
        # Finish back-filling before moving the cursor: the page waits for the next call.
        page: list[LoggedEvent] = []
        next_position = request.after
    else:
        page = select_page(log, sorted(cases), request.after, head, request.limit)
        if len(page) >= request.limit:
            more = True
            next_position = page[-1].position
        else:
            next_position = head
    delivered = backfill_events + page
    grants = _grants(log, device, {e.sealed.case_id for e in delivered} - holding)
    return PullResponse(
        events=tuple(_pulled(e) for e in delivered),
        grants=grants,
        drop=drop,
        next=next_position,
        more=more,
        head=head,
    )


def _pulled(e: LoggedEvent) -> PulledEvent:
    return PulledEvent(e.position, e.seq, e.sealed.case_id, e.sealed.raw, to_micros(e.received_at), e.link)


def _grants(log: CaseLog, device: PullingDevice, case_ids: Iterable[str]) -> tuple[KeyGrant, ...]:
    grants: list[KeyGrant] = []
    for case_id in sorted(case_ids):
        try:
            key = log.case_key(case_id)
        except (KeyNotHeld, CaseErased):
            continue  # an erased case travels without a key: only its header is readable
        grants.append(KeyGrant(case_id, key.key_id, grant_key(key, device.agreement_key, device.device_id)))
    return tuple(grants)


# --- queries on the library's events table ------------------------------------------------


def _events_table(log: CaseLog) -> tuple[str, str, bool]:
    """(table, position column, whether case ids are stored as hex text) of the backend."""
    recorder = log.recorder
    if log.tables.p == "?":
        return recorder.events_table_name, "rowid", True
    return f'"{recorder.datastore.schema}"."{recorder.events_table_name}"', "notification_id", False


def _ids(log: CaseLog, case_ids: Sequence[str]) -> list[Any]:
    hexed = _events_table(log)[2]
    return [UUID(c).hex if hexed else UUID(c) for c in case_ids]


def select_page(log: CaseLog, case_ids: Sequence[str], after: int, upto: int, limit: int) -> list[LoggedEvent]:
    """Events of the given cases with position in (after, upto], in position order."""
    case_ids = [c for c in case_ids if _is_uuid(c)]
    if not case_ids:
        return []
    table, position, _ = _events_table(log)
    p = log.tables.p
    rows: list[Any] = []
    for i in range(0, len(case_ids), _CHUNK):
        chunk = _ids(log, case_ids[i : i + _CHUNK])
        marks = ",".join([p] * len(chunk))
        rows.extend(
            log.recorder.run(
                f"SELECT {position}, originator_id, originator_version, topic, state FROM {table} "
                f"WHERE originator_id IN ({marks}) AND {position}>{p} AND {position}<={p} "
                f"ORDER BY {position} LIMIT {int(limit)}",
                [*chunk, after, upto],
            )
        )
    rows.sort(key=lambda r: r[0])
    return [log._logged(r[0], _case_text(r[1]), r[2], r[3], r[4]) for r in rows[:limit]]


def _cases_with_events_upto(log: CaseLog, case_ids: Sequence[str], upto: int) -> list[str]:
    """Those of the cases that have at least one event at or below `upto`."""
    if not case_ids:
        return []
    table, position, _ = _events_table(log)
    p = log.tables.p
    found: set[str] = set()
    for i in range(0, len(case_ids), _CHUNK):
        chunk = _ids(log, case_ids[i : i + _CHUNK])
        marks = ",".join([p] * len(chunk))
        for (cid,) in log.recorder.run(
            f"SELECT DISTINCT originator_id FROM {table} WHERE originator_id IN ({marks}) AND {position}<={p}",
            [*chunk, upto],
        ):
            found.add(_case_text(cid))
    return sorted(found)


def _known_cases(log: CaseLog, case_ids: Iterable[str]) -> list[str]:
    """Those of the cases the server's log knows (it holds or held their key)."""
    t = log.tables
    ids = [c for c in case_ids if _is_uuid(c)]
    known: list[str] = []
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        marks = ",".join([t.p] * len(chunk))
        known.extend(r[0] for r in log.recorder.run(f"SELECT case_id FROM {t.keys} WHERE case_id IN ({marks})", chunk))
    return known


@lru_cache(maxsize=65_536)  # a page repeats its cases; a caseload asks about the same ones
def _case_text(value: Any) -> str:
    return str(value if isinstance(value, UUID) else UUID(str(value)))


@lru_cache(maxsize=65_536)
def _is_uuid(text: str) -> bool:
    try:
        return str(UUID(text)) == text
    except ValueError:
        return False
