"""Pull: what a device receives from the log, page by page, within its worker's caseload.

The server's pull service, no HTTP in it (`server.syncing.endpoints` drives it). A device
names its cursor (a global position), the cases it holds and, per held case, the
sequences it holds only as placeholders. The answer has, in this order:

1. *back-fill*: every event at or below the cursor of cases newly in the caseload (the
   cursor would never bring them), a bounded number of cases per answer, then the
   veiled events of held cases that the department may see by now;
2. the page of caseload events after the cursor, in position order;
3. *grants*: the case key wrapped for the device's X25519 key, for every case in the
   answer that the device does not hold yet;
4. *forget*: for every held case in the caseload, the sequences the laptop may not hold
   whole now (`server.syncing.share`), recomputed on every pull, so the server needs
   neither to remember nor to trust what a laptop claims to hold; at most
   `MAX_FORGET` ranges an answer, cases in id order: a longer list is cut at a mark
   (`forget_next`, with `more`) that the laptop's next pull sends back;
5. *drop*: held cases that left the caseload (the assignment ended, the worker's
   department left the case, the case was erased) and that the worker once had
   (assigned or opened); a case id the worker never had is never named, so `holding`
   cannot be used to learn which case ids exist.

Every event goes through the worker's share of its case (`server.syncing.share`): whole
when the department may see it now or the worker recorded it, else a placeholder.
`PulledView.looks` says, per case, what was delivered and on which grounds, for the
access log.

`next` is the position the device may move its cursor to once it applied the answer. It
jumps over other workers' events and the gaps a rolled-back transaction leaves: when the
page is not full, everything up to the head read before the query was scanned.

The library's notification log filters only by topic, so the page is one question of
our own to the log's store (`CaseLog.page`): the events of the caseload's cases with
position in (after, head], served per case by the events table's primary key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.case_cache import CaseCache
from core.departments import Directory
from core.errors import CaseErased, KeyNotHeld
from core.keys import grant_key
from core.log import CaseLog, LoggedEvent
from core.sealing import to_micros
from server.syncing.caseload import Caseload
from server.syncing.share import CaseShare, ShareJudge
from sync.errors import StaleCursor
from sync.protocol import MAX_FORGET, CaseRanges, KeyGrant, Mark, PullRequest, PullResponse
from sync.pulled import PulledEvent, Ranges, within

MAX_BACKFILL_CASES = 20


@dataclass(frozen=True)
class PullingDevice:
    """The device asking: its id, its worker and their department, and its X25519 key
    for grants."""

    device_id: str
    worker: str
    agreement_key: bytes
    department: str


@dataclass(frozen=True)
class CaseLook:
    """One case's part in a pull, for the access log: events delivered whole, per grounds
    (own, consent, legal-basis, recipient), and placeholders."""

    case_id: str
    grounds: tuple[tuple[str, int], ...]
    placeholders: int

    @property
    def whole(self) -> int:
        return sum(n for _, n in self.grounds)

    def purpose(self, device_id: str) -> str:
        """The access-log line of the look: device, counts and grounds (ids only)."""
        grounds = ", ".join(f"{basis} {n}" for basis, n in self.grounds) or "none"
        return f"sync to device {device_id}: {self.whole} events ({grounds}), {self.placeholders} placeholders"


@dataclass(frozen=True)
class PulledView:
    """A pull's answer and the looks it makes, one per case it delivers anything of."""

    response: PullResponse
    looks: tuple[CaseLook, ...]
    envelopes: dict[int, tuple[int, str]] = field(default_factory=dict)
    """Time received and batch id of each delivered event, by position: what its leaf
    needs beyond the pulled event (`server.syncing.pullproof`)."""


def pull(
    log: CaseLog,
    caseload: Caseload,
    device: PullingDevice,
    request: PullRequest,
    *,
    max_backfill_cases: int = MAX_BACKFILL_CASES,
    judge: ShareJudge | None = None,
    max_forget: int = MAX_FORGET,
) -> PullResponse:
    """Answer a pull (`pull_view`'s answer without its looks)."""
    return pull_view(
        log, caseload, device, request, max_backfill_cases=max_backfill_cases, judge=judge, max_forget=max_forget
    ).response


def pull_view(
    log: CaseLog,
    caseload: Caseload,
    device: PullingDevice,
    request: PullRequest,
    *,
    max_backfill_cases: int = MAX_BACKFILL_CASES,
    judge: ShareJudge | None = None,
    max_forget: int = MAX_FORGET,
) -> PulledView:
    """Answer a pull as the worker's department may see each case now; StaleCursor when
    the cursor is beyond the log's head."""
    head = log.max_position()
    if request.after > head:
        raise StaleCursor(
            f"the cursor {request.after} is beyond the log's head {head}; "
            "the laptop's store belongs to another server or the server's log was replaced"
        )
    judge = judge or ShareJudge(CaseCache(log), Directory.default, log.clock)
    shares = _Shares(judge, device, judge.clock())
    cases = caseload.of(device.worker, device.department)
    holding = set(request.holding)
    # Only cases the worker once had: the answer never tells a device whether a case id
    # it names, but never had, exists. The caseload holds no erased case.
    drop = tuple(caseload.once_held(device.worker, holding - cases))
    early, more = _backfill(log, sorted(cases - holding), request.after, max_backfill_cases)
    early += _revealed(shares, request.veiled, cases & holding, request.limit)
    if more:
        # Finish back-filling before moving the cursor: the page waits for the next call.
        page: list[LoggedEvent] = []
        next_position = request.after
    else:
        page = log.page(sorted(cases), request.after, head, request.limit)
        more = len(page) >= request.limit
        next_position = page[-1].position if more else head
    shares.read_whole(log, early + page)
    delivered = [(e, p) for e in early + page if (p := shares.pulled(e)) is not None]
    pulled = [p for _, p in delivered]
    # Forgetting is judged once a sync reaches its last page: every held case, every time.
    forget: CaseRanges = ()
    forget_next: Mark | None = None
    if not more:
        forget, forget_next = _forget(shares, sorted(cases & holding), request.forget_after, max_forget)
        more = forget_next is not None
    fresh = {e.case_id for e in pulled} - holding
    grants = _grants(log, device, fresh, (cases & holding) - fresh, request.after)
    response = PullResponse(
        events=tuple(pulled),
        grants=grants,
        drop=drop,
        next=next_position,
        more=more,
        head=head,
        forget=forget,
        forget_next=forget_next,
    )
    envelopes = {e.position: (e.received, e.batch_id) for e, _ in delivered}
    return PulledView(response, _looks(pulled, shares), envelopes)


class _Shares:
    """The worker's share of each case the pull touches, judged once per pull."""

    def __init__(self, judge: ShareJudge, device: PullingDevice, at: datetime) -> None:
        self.judge = judge
        self.device = device
        self.at = at
        self.judged: dict[str, CaseShare | None] = {}
        self.whole: dict[str, list[LoggedEvent]] = {}  # cases the pull has read whole already

    def read_whole(self, log: CaseLog, events: Sequence[LoggedEvent]) -> None:
        """Note the cases that `events` hold from their first event to their last, so
        judging them needs no second reading (a first sync's pages hold whole cases)."""
        by_case: dict[str, list[LoggedEvent]] = {}
        for e in events:
            by_case.setdefault(e.sealed.case_id, []).append(e)
        starting = [c for c, found in by_case.items() if found[0].seq == 1]
        lengths = log.recorder.last_seqs(starting) if starting else {}
        for case_id in starting:
            found = sorted(by_case[case_id], key=lambda e: e.seq)
            if [e.seq for e in found] == list(range(1, lengths.get(case_id, -1) + 1)):
                self.whole[case_id] = found

    def of(self, case_id: str) -> CaseShare | None:
        if case_id not in self.judged:
            device = self.device
            whole = self.whole.get(case_id)
            self.judged[case_id] = self.judge.share(case_id, device.department, device.worker, self.at, whole)
        return self.judged[case_id]

    def pulled(self, e: LoggedEvent) -> PulledEvent | None:
        share = self.of(e.sealed.case_id)
        return None if share is None else share.pulled(e)

    def all_own(self, case_id: str, length: int | None) -> bool:
        """Whether the case, not judged in this pull, was found all the department's own
        at this length in an earlier one."""
        device = self.device
        return case_id not in self.judged and self.judge.all_own(case_id, device.department, device.worker, length)

    def hidden(self, case_id: str) -> Ranges:
        share = self.of(case_id)
        return () if share is None else share.hidden()


def _forget(shares: _Shares, case_ids: Sequence[str], after: Mark | None, most: int) -> tuple[CaseRanges, Mark | None]:
    """What the laptop may not hold whole of its held cases, from the mark `after` on (cases
    in id order), at most `most` ranges; and the mark to go on from when cut short."""
    found: list[tuple[str, Ranges]] = []
    room = max(most, 1)
    case_ids = [c for c in case_ids if after is None or c >= after[0]]
    lengths = shares.judge.cache.log.recorder.last_seqs(case_ids)
    for case_id in case_ids:
        if shares.all_own(case_id, lengths.get(case_id)):
            continue  # every event the department's own, as judged before: nothing hidden
        ranges = shares.hidden(case_id)
        if after is not None and case_id == after[0]:
            ranges = tuple((max(low, after[1] + 1), high) for low, high in ranges if high > after[1])
        if len(ranges) > room:
            taken = ranges[:room]
            if taken:
                found.append((case_id, taken))
            start = after[1] if after is not None and case_id == after[0] else 0
            return tuple(found), (case_id, taken[-1][1] if taken else start)
        if ranges:
            found.append((case_id, ranges))
            room -= len(ranges)
    return tuple(found), None


def _backfill(log: CaseLog, newcomers: list[str], after: int, most: int) -> tuple[list[LoggedEvent], bool]:
    """Every event at or below the cursor of cases newly in the caseload, at most `most`
    cases; and whether more are waiting."""
    if after <= 0:
        return [], False
    starting = log.recorder.cases_with_events_upto(newcomers, after)
    more = len(starting) > most
    events: list[LoggedEvent] = []
    for case_id in starting[:most]:
        events.extend(e for e in log.case_events(case_id) if e.position <= after)
    return events, more


def _revealed(shares: _Shares, veiled: CaseRanges, held: set[str], most: int) -> list[LoggedEvent]:
    """The events a laptop holds as placeholders that its worker may now see whole (a
    consent given since): the laptop's claim costs nothing, since only the view is sent."""
    found: list[LoggedEvent] = []
    for case_id, ranges in veiled:
        share = shares.of(case_id) if case_id in held else None
        if share is None:
            continue
        for seq in sorted(within(ranges, share.last) & share.whole.keys()):
            found.append(share.logged[seq - 1])
            if len(found) >= most:
                return found
    return found


def _looks(pulled: list[PulledEvent], shares: _Shares) -> tuple[CaseLook, ...]:
    grounds: dict[str, Counter[str]] = {}
    placeholders: Counter[str] = Counter()
    for e in pulled:
        grounds.setdefault(e.case_id, Counter())
        if e.placeholder:
            placeholders[e.case_id] += 1
        else:
            share = shares.of(e.case_id)
            grounds[e.case_id][share.whole[e.seq] if share else "own"] += 1
    return tuple(CaseLook(c, tuple(sorted(g.items())), placeholders[c]) for c, g in grounds.items())


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
