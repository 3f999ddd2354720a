"""Push: how the server takes a laptop's batch of sealed events into the case log.

The server's push service, no HTTP in it (`server.syncing.endpoints` drives it). The
batch signature is verified once; key grants for cases opened offline are unwrapped with
the server's X25519 key; then every event is judged in order against the server's
current state of its case:

- a header that does not name the pushing device, its worker, department and role, an
  event of a case outside the worker's caseload at the moment of the push (a key kept
  from before is not a right; only the cases the batch itself opens, with their keys
  sent along, are exempt), a payload that does not open, or an event that breaks a rule
  of the domain is *rejected* with the rule's sentence;
- an event already in the log answers *duplicate* with its original sequence and
  position (so a retried batch gets the same answers and nothing is stored twice);
- an event recorded offline (its `seen_seq` is behind the case) that fails against the
  current state but passes against the state its author saw is a concurrent clash: it
  is *accepted* and flagged, as is an event that `core.rules.clash` says clashes with
  what happened meanwhile (two revisions of one goal from the same base).

Each clash becomes a `conflict flagged` event that the server seals with the case key
and signs in a batch of its own; it is appended in the same transaction as the accepted
events, so a crash never keeps a clash without its flag.

Judging and appending are one step per case, also across server processes on one
database: the append names the sequence each case was judged at, and when another
process appended to the case in between (`core.errors.CaseMoved`) nothing is stored
and the whole batch is judged again against the case as it is now. A revision judged
against a goal that another process closed meanwhile is thus flagged, never stored
as if it had seen the closure.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core import events as ev
from core.case import STATE_TOPICS, CaseState, Unopened, fold
from core.departments import Directory
from core.errors import (
    CaseErased,
    CaseMoved,
    CodecError,
    DecryptionError,
    InvalidInput,
    KeyNotHeld,
    RuleViolation,
    SignatureInvalid,
    VersionConflict,
)
from core.keys import CaseKey, DeviceKeys, accept_grant
from core.log import CaseLog, LoggedEvent, Receipt
from core.logstore import StoredKey
from core.memory_budget import Budgeted, estimate
from core.recording import Author, make_event
from core.rules import CLASHING, check, clash
from core.sealing import SealedEvent, open_sealed, parse, seal
from core.signing import BatchSeal, sign_batch
from server.syncing.caseload import Caseload
from server.syncing.rotation import KeyRotation
from sync.protocol import SERVER_ID, Conflict, EventResult, PushRequest, PushResponse

MAX_CONFLICT_EVENTS = 50
CACHE_BYTES = 64 * 1024 * 1024  # decrypted cases kept in memory (the `cache_mib` setting sets it)
MEMBERSHIP_TOPICS = frozenset({ev.TeamMemberLeft.TOPIC, ev.CaseTransferred.TOPIC})
JUDGED_REMEMBERED = 10_000  # batch ids a push `after` them finds without asking the database
JUDGE_ATTEMPTS = 5  # judgements of one batch while other processes keep appending to its cases


@dataclass(frozen=True)
class Worker:
    """The identity behind a device: whose events it may push."""

    worker: str
    department: str
    role: str


@dataclass
class CaseView:
    """The server's copy of one case: its events and the state they fold to. Only the
    kinds the state reads are decrypted (`core.case.STATE_TOPICS`); the others are kept
    as their headers, all that the rules and the clash search read of them."""

    state: CaseState
    events: list[ev.CaseEvent | Unopened] = field(default_factory=list)
    sealed_bytes: int = 0  # of the events, for the size estimate (`core.memory_budget`)


@dataclass
class _Work:
    """One case as a push sees it: the current view plus what this batch accepted."""

    view: CaseView
    key: CaseKey
    key_stored: bool
    base: int  # the case's last sequence when this batch began to judge it
    seen: dict[int, tuple[CaseState, int]] = field(default_factory=dict)


@dataclass
class _Batch:
    """One pushed batch as it is judged: results in batch order (None for a duplicate),
    what was accepted, the clashes found, and the cases it touches."""

    existing: dict[str, tuple[str, int]]  # event id -> (case, seq) of those already stored
    results: list[EventResult | None] = field(default_factory=list)
    accepted: list[SealedEvent] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)  # event ids accepted in this batch
    clashes: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)  # case, rule, events
    work: dict[str, _Work] = field(default_factory=dict)
    holding: set[str] = field(default_factory=set)  # cases the worker may add to: caseload + opened here
    # The touched cases' events after the sequence named per case, read with one question
    # as the batch began (`PushService._tails`).
    after: dict[str, int] = field(default_factory=dict)
    tails: dict[str, list[LoggedEvent]] = field(default_factory=dict)
    keys: dict[str, StoredKey] = field(default_factory=dict)  # their current keys, read then too


class PushService:
    """Judges and appends pushed batches; one per server process."""

    #: The kinds of stored event the service decrypts into its copy of a case: those the
    #: case state reads. The rules read the state; the clash search reads headers only.
    opened_topics: frozenset[str] = STATE_TOPICS

    def __init__(
        self,
        log: CaseLog,
        directory: Callable[[], Directory],
        server_keys: DeviceKeys,
        clock: Callable[[], datetime] = ev.utcnow,
        cache_bytes: int = CACHE_BYTES,
        caseload: Caseload | None = None,
        rotation: KeyRotation | None = None,
    ) -> None:
        self.log = log
        self.caseload = caseload or Caseload(log)
        self.rotation = rotation
        self.directory = directory
        self.keys = server_keys
        self.clock = clock
        self.cases: Budgeted[str, CaseView] = Budgeted(cache_bytes)
        self._lock = threading.Lock()
        self._judged: OrderedDict[str, None] = OrderedDict()  # batch ids, newest last
        self._judged_lock = threading.Lock()

    # -- the case cache ------------------------------------------------------------------
    def view(self, case_id: str, after: int | None = None, tail: Sequence[LoggedEvent] = ()) -> CaseView:
        """The case's decrypted events and state, extended by what the log gained since,
        each event opened with the key its header names; `tail`, when given, holds the
        case's events after sequence `after` as the log had them a moment ago (read for
        the whole batch at once), and is used when it reaches back to the cached copy.

        Reading the log's tail on every use keeps several server instances honest: the
        cache only saves reading what was already seen, and an append by another instance
        after the tail was read makes the batch's append fail (`CaseMoved`) and the batch
        be judged again. An event of a kind the state does not read (a contact, say) is
        not decrypted: it was opened and judged when it was pushed, and `audit verify`
        checks the stored bytes against their chain.
        """
        cached = self.cases.get(case_id)
        if cached is None:
            cached = CaseView(CaseState(case_id))
        seq = cached.state.seq
        newer = (
            [le for le in tail if le.seq > seq]
            if after is not None and after <= seq
            else self.log.case_events(case_id, after=seq)
        )
        for logged in newer:
            sealed = logged.sealed
            e = self.log.open(logged) if sealed.topic in self.opened_topics else Unopened(sealed.header)
            cached.state.apply(e)
            cached.events.append(e)
            cached.sealed_bytes += self._weight(sealed)
        if cached.state.seq:
            # Least recently used dropped first beyond the byte budget.
            self.cases.put(case_id, cached, estimate(cached.sealed_bytes))
        return cached

    def _weight(self, sealed: SealedEvent) -> int:
        """The sealed bytes a case's copy holds of an event: all of them when it is kept
        opened, its header's when only that is kept."""
        return len(sealed.raw) if sealed.topic in self.opened_topics else len(sealed.header_raw)

    def forget(self, case_id: str) -> None:
        self.cases.pop(case_id)

    # -- push ----------------------------------------------------------------------------
    def push(self, request: PushRequest, device_id: str, worker: Worker, *, handed_over: bool = False) -> PushResponse:
        """Judge and append a batch pushed by `device_id` for `worker`.

        Raises SignatureInvalid (nothing stored) when the batch is not signed by that
        enrolled, unrevoked device (`handed_over`: by that device, revoked or not, for an
        administrator's import of its outbox file), BatchIdReused (nothing stored) when
        its id was used before for other events or by another device.
        """
        batch = request.seal
        if batch.device_id != device_id:
            raise SignatureInvalid(f"batch {batch.batch_id} was signed for another device")
        device = self.log.device(device_id) if handed_over else self.log.enrolled_device(device_id)
        if device is None:
            raise SignatureInvalid(f"device {device_id} is not known to this server")
        batch.verify(device.signing_key)
        # Refused before any event is judged: the id names another batch's manifest.
        self.log.check_batch_id(batch)
        with self._lock:
            answer = self._judged_and_stored(request, device_id, worker)
        with self._judged_lock:
            self._judged[batch.batch_id] = None
            while len(self._judged) > JUDGED_REMEMBERED:
                self._judged.popitem(last=False)
        return answer

    def _judged_and_stored(self, request: PushRequest, device_id: str, worker: Worker) -> PushResponse:
        """Judge the batch and append it; judged again from the start whenever another
        process appended to one of its cases in between (VersionConflict, answered 503,
        when that keeps happening)."""
        for _ in range(JUDGE_ATTEMPTS):
            try:
                return self._push(request, device_id, worker)
            except CaseMoved:
                continue
        raise VersionConflict("other writers kept appending to the cases of this batch; push it again")

    def judged(self, batch_id: str) -> bool:
        """Whether this batch was judged: here (remembered for the last
        `JUDGED_REMEMBERED` batches), or by any instance that stored an event of it."""
        with self._judged_lock:
            if batch_id in self._judged:
                return True
        return self.log.batch(batch_id) is not None

    def judged_here(self, batch_id: str) -> bool:
        """`judged`, from memory only (no database question)."""
        with self._judged_lock:
            return batch_id in self._judged

    def _push(self, request: PushRequest, device_id: str, worker: Worker) -> PushResponse:
        parsed: list[SealedEvent | None] = []
        for raw, digest in zip(request.events, request.seal.digests, strict=True):
            try:
                parsed.append(parse(raw, digest))
            except CodecError:
                parsed.append(None)
        batch = _Batch(self.log.find([s.event_id for s in parsed if s is not None]))
        granted, bad_grants = self._grants(request)
        known = {s.case_id for s in parsed if s is not None} - set(granted)
        batch.after, batch.tails = self._tails(known)
        batch.keys = self.log.stored_keys(known) if known else {}
        batch.holding = self._holding(parsed, granted, worker, batch.tails)
        directory = self.directory()
        try:
            for sealed in parsed:
                batch.results.append(self._take(batch, sealed, device_id, worker, granted, bad_grants, directory))
        except BaseException:
            self._forget_all(batch)  # judged in place: the cached copies hold unstored events
            raise
        receipts: dict[str, Receipt] = {}
        conflicts: tuple[Conflict, ...] = ()
        if batch.accepted:
            receipts, conflicts = self._store(batch, request.seal)
            if self.rotation is not None:
                # A department that left (or a lead moved) may take the case from devices.
                self.rotation.settle({s.case_id for s in batch.accepted if s.topic in MEMBERSHIP_TOPICS})
        return PushResponse(self._answers(parsed, batch.results, receipts), conflicts)

    def _tails(self, case_ids: set[str]) -> tuple[dict[str, int], dict[str, list[LoggedEvent]]]:
        """The cases' events after what both the cached copy and the caseload's fold of
        each case hold, with one question for all: the newer events each of them would
        otherwise ask for on its own."""
        after: dict[str, int] = {}
        for case_id in case_ids:
            cached = self.cases.get(case_id)
            after[case_id] = min(0 if cached is None else cached.state.seq, self.caseload.folded_to(case_id))
        return after, (self.log.case_tails(after) if after else {})

    def _holding(
        self,
        parsed: Sequence[SealedEvent | None],
        granted: dict[str, CaseKey],
        worker: Worker,
        tails: Mapping[str, Sequence[LoggedEvent]],
    ) -> set[str]:
        """The batch's cases the worker may add to now: those in their caseload, those the
        batch opens (their keys sent along), and those the log has never heard of (judged
        later: without a key they are rejected as such)."""
        touched = {s.case_id for s in parsed if s is not None}
        known = set(self.log.recorder.case_ids(touched)) - set(granted)
        return (touched - known) | self.caseload.among(worker.worker, worker.department, known, tails)

    def _take(
        self,
        batch: _Batch,
        sealed: SealedEvent | None,
        device_id: str,
        worker: Worker,
        granted: dict[str, CaseKey],
        bad_grants: set[str],
        directory: Directory,
    ) -> EventResult | None:
        """Judge one event of the batch: its result (`pending` when accepted), or None for
        a duplicate, answered from the log once the batch is stored."""
        if sealed is None:
            return _rejected("", "", "the event is not a well-formed sealed event")
        h = sealed.header
        if sealed.event_id in batch.existing or sealed.event_id in batch.taken:
            return None
        reason = _header_problem(sealed, device_id, worker)
        if reason is None and h.case_id in bad_grants:
            reason = f"the key grant for case {h.case_id} does not open with the server's key"
        if reason is None and h.case_id not in batch.holding:
            reason = (
                f"case {h.case_id} is not in the caseload of worker {worker.worker}: only a worker assigned "
                "the case or who opened it, while their department is a party of it, adds to it "
                "(a key kept from before is not a right)"
            )
        if reason is not None:
            return _rejected(h.event_id, h.case_id, reason)
        try:
            w = batch.work.get(h.case_id) or self._work(batch, h.case_id, granted)
            key = w.key
            if w.key_stored and h.key_id != key.key_id:  # sealed before the key last rotated
                key = self.log.case_key_by_id(h.case_id, h.key_id)
            event = open_sealed(sealed, key)
        except KeyNotHeld as exc:
            if h.case_id in batch.work:  # the case is known; the key id its header names is not
                return _rejected(h.event_id, h.case_id, str(exc))
            reason = f"no key is held for case {h.case_id}; push its key grant with its first events"
            return _rejected(h.event_id, h.case_id, reason)
        except (DecryptionError, CodecError, CaseErased) as exc:
            return _rejected(h.event_id, h.case_id, str(exc))
        verdict = self._judge(w, event, directory)
        if isinstance(verdict, RuleViolation):
            return _rejected(h.event_id, h.case_id, str(verdict))
        if verdict is not None:
            batch.clashes.append((h.case_id, verdict, self._clashing(w, event)))
        w.view.state.apply(event)
        w.view.events.append(event if sealed.topic in self.opened_topics else Unopened(sealed.header))
        w.view.sealed_bytes += self._weight(sealed)
        batch.accepted.append(sealed)
        batch.taken.add(h.event_id)
        return EventResult(h.event_id, "pending", h.case_id)

    def _work(self, batch: _Batch, case_id: str, granted: dict[str, CaseKey]) -> _Work:
        """A case as this batch judges it, once per case and batch: the stored key wins
        over a grant sent along. KeyNotHeld when there is neither."""
        key: CaseKey | None
        try:
            if case_id in batch.after:  # its stored key was read with the batch's other cases'
                key, held = self.log.current_key(case_id, batch.keys.get(case_id)), True
            else:
                key, held = self.log.case_key(case_id), True
        except KeyNotHeld:
            key, held = granted.get(case_id), False
        if key is None:
            raise KeyNotHeld(f"no key is held for case {case_id}")
        # Judged in place, not on a copy (copying a case's state cost more than judging it):
        # pushes take turns under the service's lock, and a batch that is not stored in the
        # end drops the case from the cache (`_forget_all`). No key held: the log has no
        # event of the case.
        view = (
            self.view(case_id, batch.after.get(case_id), batch.tails.get(case_id, ()))
            if held
            else CaseView(CaseState(case_id))
        )
        w = batch.work[case_id] = _Work(view, key, held, view.state.seq)
        return w

    def _store(self, batch: _Batch, seal: BatchSeal) -> tuple[dict[str, Receipt], tuple[Conflict, ...]]:
        """Append the accepted events with the new keys and the conflict flags, in one
        transaction; the receipts by event id and the conflicts flagged."""
        landed = {s.case_id for s in batch.accepted}
        new_keys = [w.key for c, w in batch.work.items() if not w.key_stored and c in landed]
        conflicts, flags = self._flags(batch.clashes, batch.work)
        receipts: dict[str, Receipt] = {}
        try:
            judged_at = {c: w.base for c, w in batch.work.items() if c in landed}
            for r in self.log.append(batch.accepted, seal, new_keys, verify=False, also=flags, expect=judged_at):
                receipts.setdefault(r.event_id, r)
        except BaseException:
            self._forget_all(batch)
            raise
        self._install(batch.work, receipts.values())
        for case_id, _, _ in batch.clashes:
            self.forget(case_id)
        return receipts, conflicts

    def _forget_all(self, batch: _Batch) -> None:
        for case_id in batch.work:
            self.forget(case_id)

    def _answers(
        self,
        parsed: Sequence[SealedEvent | None],
        results: Sequence[EventResult | None],
        receipts: dict[str, Receipt],
    ) -> tuple[EventResult, ...]:
        """The answer per event, in batch order; duplicates (of the log or of this batch)
        with their original place."""
        dup_ids = [s.event_id for s, r in zip(parsed, results, strict=True) if s is not None and r is None]
        places = self.log.find(dup_ids) if dup_ids else {}
        positions = self.log.positions(places.values())
        final: list[EventResult] = []
        for sealed, res in zip(parsed, results, strict=True):
            if res is None:
                if sealed is None:
                    continue  # never: an unreadable event was answered as rejected
                first = receipts.get(sealed.event_id)
                if first is not None:
                    final.append(EventResult(sealed.event_id, "duplicate", first.case_id, first.seq, first.position))
                else:
                    case_id, seq = places[sealed.event_id]
                    position = positions.get((case_id, seq), 0)
                    final.append(EventResult(sealed.event_id, "duplicate", case_id, seq, position))
            elif res.status == "pending":
                r = receipts[res.event_id]
                final.append(EventResult(r.event_id, r.status, r.case_id, r.seq, r.position))
            else:
                final.append(res)
        return tuple(final)

    # -- judging -------------------------------------------------------------------------
    def _judge(self, w: _Work, e: ev.CaseEvent, directory: Directory) -> str | RuleViolation | None:
        """None to accept, a clash rule to accept and flag, or the violation to reject."""
        now = w.view.state
        seen_seq = e.header.seen_seq
        try:
            check(now, e, directory)
        except (RuleViolation, InvalidInput) as exc:
            if seen_seq >= now.seq:
                return RuleViolation(str(exc))
            seen = self._seen_state(w, seen_seq, e.header.device)
            try:
                check(seen, e, directory)
            except (RuleViolation, InvalidInput):
                return RuleViolation(str(exc))
            return clash(seen, now, e) or f"recorded offline; the case changed meanwhile: {exc}"
        if seen_seq >= now.seq or not isinstance(e, CLASHING):
            return None  # nothing new since its author's view, or a kind that commutes
        return clash(self._seen_state(w, seen_seq, e.header.device), now, e)

    def _seen_state(self, w: _Work, seen_seq: int, device: str) -> CaseState:
        """The case as the author saw it: the first `seen_seq` events plus its own later ones.

        Kept per `seen_seq` and extended incrementally, so a long offline batch folds the
        case once, not once per event.
        """
        events = w.view.events
        cached = w.seen.get(seen_seq)
        if cached is None:
            cached = (fold(w.view.state.case_id, events[:seen_seq]), seen_seq)
        state, upto = cached
        for e in events[upto:]:
            if e.header.device == device:
                state.apply(e)
        w.seen[seen_seq] = (state, len(events))
        return state

    @staticmethod
    def _clashing(w: _Work, e: ev.CaseEvent) -> tuple[str, ...]:
        """The events `e` clashes with: those by others since its author's `seen_seq`."""
        since = [x for x in w.view.events[e.header.seen_seq :] if x.header.device != e.header.device]
        if isinstance(e, ev.GoalRevised):
            since = [x for x in since if isinstance(x, ev.GoalRevised) and x.goal_id == e.goal_id] or since
        elif isinstance(e, ev.DecisionMade):
            since = [x for x in since if isinstance(x, ev.ConsentWithdrawn)] or since
        return (e.event_id, *[x.event_id for x in since[-MAX_CONFLICT_EVENTS:]])

    # -- key grants ----------------------------------------------------------------------
    def _grants(self, request: PushRequest) -> tuple[dict[str, CaseKey], set[str]]:
        granted: dict[str, CaseKey] = {}
        bad: set[str] = set()
        for g in request.keys:
            if self.log.has_key(g.case_id):
                continue  # a case's key is set once; a later grant never replaces it
            try:
                granted[g.case_id] = accept_grant(self.keys.agreement, SERVER_ID, g.case_id, g.key_id, g.grant)
            except DecryptionError:
                bad.add(g.case_id)
        return granted, bad

    # -- conflicts -----------------------------------------------------------------------
    def _flags(
        self, clashes: list[tuple[str, str, tuple[str, ...]]], work: dict[str, _Work]
    ) -> tuple[tuple[Conflict, ...], list[tuple[list[SealedEvent], BatchSeal]]]:
        """One `conflict flagged` event per clash, sealed and signed by the server, to be
        appended in the same transaction as the batch that caused it: a crash can never
        keep the clashing events and lose their flag."""
        if not clashes:
            return (), []
        sealed: list[SealedEvent] = []
        conflicts: list[Conflict] = []
        for case_id, rule, event_ids in clashes:
            view = work[case_id].view
            key = work[case_id].key
            author = Author(SERVER_ID, "server", view.state.lead or "", SERVER_ID)
            conflict_id = ev.new_id()
            seen = view.state.seq + sum(1 for s in sealed if s.case_id == case_id)
            event = make_event(
                ev.ConflictFlagged,
                case_id,
                key.key_id,
                author,
                seen,
                clock=self.clock,
                conflict_id=conflict_id,
                rule=rule,
                events=event_ids,
                description="events recorded concurrently clash; the coordinator resolves it",
            )
            sealed.append(seal(event, key))
            conflicts.append(Conflict(case_id, conflict_id, rule, event_ids))
        batch = sign_batch(self.keys.signing, str(uuid.uuid4()), SERVER_ID, [s.digest for s in sealed])
        return tuple(conflicts), [(sealed, batch)]

    def _install(self, work: dict[str, _Work], receipts: Iterable[Receipt]) -> None:
        """Keep the judged copies as the cache when the log gave the sequences they assumed.

        Another server instance may have appended meanwhile; then the copy is dropped and
        the next use reads the case again.
        """
        last: dict[str, int] = {}
        for r in receipts:
            if r.status == "accepted":
                last[r.case_id] = max(r.seq, last.get(r.case_id, 0))
        for case_id, w in work.items():
            if last.get(case_id, w.view.state.seq) == w.view.state.seq and w.view.state.seq:
                self.cases.put(case_id, w.view, estimate(w.view.sealed_bytes))
            else:
                self.forget(case_id)


def _header_problem(sealed: SealedEvent, device_id: str, worker: Worker) -> str | None:
    h = sealed.header
    if h.device != device_id:
        return f"the event names device {h.device}, not the device that pushed it"
    if h.author != worker.worker:
        return f"the event names author {h.author}, not the device's worker {worker.worker}"
    if h.department != worker.department:
        return f"the event names department {h.department}, not the worker's department {worker.department}"
    if h.role != worker.role:
        return f"the event names role {h.role}, not the worker's role {worker.role}"
    return None


def _rejected(event_id: str, case_id: str, reason: str) -> EventResult:
    return EventResult(event_id, "rejected", case_id, reason=reason)
