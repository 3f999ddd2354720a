"""Pull: what a device receives from the log, page by page, within its worker's caseload.

The server's pull service, no HTTP in it (`server.syncing.endpoints` drives it). A device
names its cursor (a global position) and the cases it holds. The answer has, in this order:

1. *back-fill*: every event at or below the cursor of cases newly in the caseload (the
   cursor would never bring them), a bounded number of cases per answer;
2. the page of caseload events after the cursor, in position order;
3. *grants*: the case key wrapped for the device's X25519 key, for every case in the
   answer that the device does not hold yet;
4. *drop*: held cases that left the caseload (the assignment ended, the worker's
   department left the case, the case was erased) and that the worker once had
   (assigned or opened); a case id the worker never had is never named, so `holding`
   cannot be used to learn which case ids exist.

`next` is the position the device may move its cursor to once it applied the answer. It
jumps over other workers' events and the gaps a rolled-back transaction leaves: when the
page is not full, everything up to the head read before the query was scanned.

The library's notification log filters only by topic, so the page is one question of
our own to the log's store (`CaseLog.page`): the events of the caseload's cases with
position in (after, head], served per case by the events table's primary key.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import CaseErased, KeyNotHeld
from core.keys import grant_key
from core.log import CaseLog, LoggedEvent
from core.sealing import to_micros
from server.syncing.caseload import Caseload
from sync.errors import StaleCursor
from sync.protocol import KeyGrant, PullRequest, PullResponse
from sync.pulled import PulledEvent

MAX_BACKFILL_CASES = 20


@dataclass(frozen=True)
class PullingDevice:
    """The device asking: its id, its worker and their department, and its X25519 key
    for grants."""

    device_id: str
    worker: str
    agreement_key: bytes
    department: str


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
    cases = caseload.of(device.worker, device.department)
    holding = set(request.holding)
    # Only cases the worker once had: the answer never tells a device whether a case id
    # it names, but never had, exists.
    drop = tuple(caseload.once_held(device.worker, holding - cases))

    backfill_events: list[LoggedEvent] = []
    more = False
    if request.after > 0:
        newcomers = sorted(cases - holding)
        starting = log.recorder.cases_with_events_upto(newcomers, request.after)
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
        page = log.page(sorted(cases), request.after, head, request.limit)
        if len(page) >= request.limit:
            more = True
            next_position = page[-1].position
        else:
            next_position = head
    delivered = backfill_events + page
    fresh = {e.sealed.case_id for e in delivered} - holding
    grants = _grants(log, device, fresh, (cases & holding) - fresh, request.after)
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


def _grants(log: CaseLog, device: PullingDevice, fresh: set[str], held: set[str], after: int) -> tuple[KeyGrant, ...]:
    """Every key of the cases new to the device (`fresh`), and every key id of the cases it
    holds that it was not granted yet, each wrapped for the device's X25519 key; per case
    oldest first, the current key last (the laptop seals under the last one it gets).

    A grant is recorded with the cursor of the pull that carried it, and given again until
    the device pulls from beyond that cursor: only then has it surely applied the answer.
    An erased case has no key left to grant: it travels without one."""
    wanted = fresh | held
    if not wanted:
        return ()
    applied = {(c, k) for c, k, cursor in log.recorder.grant_rows(device.device_id, sorted(held)) if cursor < after}
    grants: list[KeyGrant] = []
    for case_id, key_ids in sorted(log.recorder.key_ids(sorted(wanted)).items()):
        for key_id in key_ids:
            if (case_id, key_id) in applied:
                continue
            try:
                key = log.case_key_by_id(case_id, key_id)
            except (KeyNotHeld, CaseErased):
                break  # erased meanwhile
            grants.append(KeyGrant(case_id, key_id, grant_key(key, device.agreement_key, device.device_id)))
    log.recorder.add_grants(device.device_id, [(g.case_id, g.key_id) for g in grants], to_micros(log.clock()), after)
    return tuple(grants)
