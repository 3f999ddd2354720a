"""The server's case log: sealed events, chained per case, kept in a `core.logstore.LogStore`.

On append the log checks the device's batch signature (once per batch), gives each new
event the next sequence of its case, extends the case's hash chain

    link(n) = SHA-256(link(n-1) || n as 8 bytes || SHA-256(sealed bytes of event n))

and stores, per event, one library stored event whose state is the envelope (format
byte, chain link, time received in µs, batch id, sealed bytes; see `envelope`). The
global position is the library's notification id. What the device signed is never
changed. The log knows no SQL: it asks its store (`core.logstore`) in the domain's words.

Appends are idempotent on the event id: an event already in the log answers
``duplicate`` with its original sequence and position, and nothing is stored twice.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from eventsourcing.persistence import IntegrityError

from core import events as ev
from core.adminlog import ADMIN_STREAM, ADMIN_TOPIC, AdminSealer, Change, change
from core.chain import genesis
from core.errors import (
    BatchIdReused,
    CaseErased,
    CaseMoved,
    CodecError,
    InvalidInput,
    KeyNotHeld,
    SignatureInvalid,
    VersionConflict,
)
from core.generations import DEVICES, ERASURES, Generations
from core.heads import CaseHeads
from core.keys import CaseKey, KeyEncryptionKey
from core.logstore import Device as Device  # re-exported: the log speaks of devices
from core.logstore import EventRow, LogStore, Row, StoredKey, Write
from core.sealing import SealedEvent, from_micros, open_sealed, parse, to_micros
from core.signing import BatchSeal


class LoggedEvent(NamedTuple):
    """A sealed event as the log holds it, with what the server added on append."""

    position: int
    seq: int
    sealed: SealedEvent
    received: int  # microseconds since the epoch
    link: bytes
    batch_id: str

    @property
    def received_at(self) -> datetime:
        """When the server received the event (rule 9: the third of the three times)."""
        return from_micros(self.received)


class Receipt(NamedTuple):
    """The log's answer for one appended event."""

    event_id: str
    case_id: str
    status: str  # accepted | duplicate
    seq: int
    position: int


ENVELOPE = 1
ADMIN_TRIES = 20  # rounds of `_write`'s tries for an administrative event, see `record_admin`


def envelope(sealed: bytes, received: int, link: bytes, batch_id: str) -> bytes:
    """The stored state of one event: what the server adds, then the sealed bytes as they came.

    ``1 | link (32) | received µs (8, big-endian) | len(batch id) (1) | batch id | sealed``:
    a fixed layout, cheaper to write and to read than a general encoding on the hot paths.
    """
    batch = batch_id.encode()
    stamp = received.to_bytes(8, "big", signed=True)
    return b"".join((b"\x01", link, stamp, len(batch).to_bytes(1, "big"), batch, sealed))


def unpack_envelope(state: bytes) -> tuple[bytes, int, bytes, str]:
    """(sealed bytes, received µs, chain link, batch id); CodecError when malformed."""
    if len(state) < 42 or state[0] != ENVELOPE:
        raise CodecError("a stored event's envelope is not in the log's format")
    end = 42 + state[41]
    try:
        batch_id = state[42:end].decode()
    except UnicodeDecodeError as exc:
        raise CodecError("a stored event's batch id is not text") from exc
    return state[end:], int.from_bytes(state[33:41], "big", signed=True), state[1:33], batch_id


def logged(position: int, seq: int, state: bytes) -> LoggedEvent:
    """A stored event read back: its envelope opened (not its payload); CodecError when
    the envelope or the sealed event is malformed."""
    sealed, received, link, batch_id = unpack_envelope(bytes(state))
    return LoggedEvent(position, seq, parse(sealed), received, link, batch_id)


class _Staged(NamedTuple):
    """An append worked out before it is stored: rows, index, seals and new chain heads."""

    rows: list[Row]
    indexed: list[tuple[str, str, int]]
    batches: list[tuple[str, str, int, bytes, bytes]]
    heads: dict[str, tuple[int, bytes]]
    fresh: dict[str, int]  # event id -> index in `rows`
    digests: list[bytes]  # SHA-256 of each row's sealed bytes


class CaseLog:
    """Append, read and key-handling for the server's log of all cases."""

    def __init__(self, recorder: LogStore, kek: KeyEncryptionKey, clock: Callable[[], datetime] = ev.utcnow):
        self.recorder = recorder
        self.tables = recorder.tables
        self.kek = kek
        self.clock = clock
        self._heads: dict[str, tuple[int, bytes]] = {}
        self._keys: dict[tuple[str, str], CaseKey] = {}
        self._devices: dict[str, Device] = {}
        self._lock = threading.Lock()
        # Moved on whenever a cache is dropped: a look-up begun before is not remembered.
        self._epoch = 0
        # Set by the server: then every change of devices (and of the administration
        # tables, `record_admin`) is also an event of the administrative log.
        self.admin: AdminSealer | None = None
        self.generations = Generations()
        self.generations.listen(DEVICES, self._drop_devices)
        self.generations.listen(ERASURES, self._drop_keys)

    def _drop_devices(self) -> None:
        self._epoch += 1
        self._devices.clear()

    def _drop_keys(self) -> None:
        self._epoch += 1
        self._keys.clear()

    def refresh(self) -> list[str]:
        """Drop the caches of every kind of change committed since they were built, by
        this process or any other (`core.generations`); the kinds that moved."""
        return self.generations.observe(self.recorder.generations())

    @property
    def heads(self) -> CaseHeads | None:
        """Where each case ends, asked from the event loop (`core.heads`); None in memory."""
        return self.recorder.heads

    # -- devices -----------------------------------------------------------------------
    def register_device(self, device_id: str, worker: str, signing_key: bytes, agreement_key: bytes) -> None:
        """Enroll a device of a worker with its public keys."""
        enrolled = to_micros(self.clock())
        device = Device(device_id, worker, signing_key, agreement_key, enrolled, None)
        enrollment = change(
            "device.enrolled", device=device_id, worker=worker, signing_key=signing_key, agreement_key=agreement_key
        )
        self.record_admin(enrollment, self.recorder.device_writes(device))

    def revoke_device(self, device_id: str) -> bool:
        """Refuse a device from now on; False when it is not enrolled."""
        known = self.device(device_id)
        if known is None:
            return False
        if known.revoked_at is not None:
            return True
        writes = self.recorder.revoke_writes(device_id, to_micros(self.clock()))
        self.record_admin(change("device.revoked", device=device_id), writes)
        self._devices.pop(device_id, None)
        return True

    def record_admin(self, c: Change, writes: Sequence[Write] = ()) -> None:
        """Commit the rows of an administrative change together with its event in the
        administrative log (`core.adminlog`), so the tree covers it; without the server's
        sealer (a log used in memory, by tools and tests) the rows alone."""
        if self.admin is None:
            self.recorder.commit_writes(writes)
            return
        sealed, seal = self.admin(c, self.clock())
        # Every server process appends to the one administrative stream, so two of them
        # claim its next sequence more often than a case's: a lost race is tried again
        # after a random pause, until one of them is clearly stuck.
        for attempt in range(ADMIN_TRIES):
            try:
                self._write([([sealed], seal)], (), writes)
                return
            except VersionConflict:
                if attempt == ADMIN_TRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 (a pause, no secret)

    def admin_events(self) -> int:
        """How many events the administrative log holds."""
        return self.head(ADMIN_STREAM)[0]

    def device(self, device_id: str) -> Device | None:
        """An enrolled device, revoked or not; None when unknown."""
        cached = self._devices.get(device_id)
        if cached is not None:
            return cached
        epoch = self._epoch
        device = self.recorder.device(device_id)
        if device is not None and epoch == self._epoch:
            self._devices[device_id] = device
        return device

    def enrolled_device(self, device_id: str) -> Device:
        """The device, when it is enrolled and not revoked; SignatureInvalid otherwise."""
        device = self.device(device_id)
        if device is None:
            raise SignatureInvalid(f"device {device_id} is not enrolled")
        if device.revoked_at is not None:
            raise SignatureInvalid(f"device {device_id} was revoked")
        return device

    def devices(self) -> list[Device]:
        """Every enrolled device, in order of enrollment."""
        return self.recorder.devices()

    # -- keys --------------------------------------------------------------------------
    # A case has one current key and may have earlier ones: a key rotates when a device
    # loses the case (`server.syncing.rotation`). Every event names its key id in its
    # header and is opened with that key; new events are sealed under the current one.
    # Unwrapped keys are kept by (case, key id): a key id's secret never changes, so only
    # erasure (which clears them all, in every process) can make one stale.
    def case_key(self, case_id: str) -> CaseKey:
        """The case's current data key, unwrapped from the KEK; KeyNotHeld for an unknown
        case, CaseErased once its keys were destroyed."""
        return self.current_key(case_id, self.recorder.case_key(case_id))

    def stored_keys(self, case_ids: Iterable[str]) -> dict[str, StoredKey]:
        """The current stored key of each named case that has one, read with one question:
        for `current_key`, when many cases are about to be opened at once."""
        return self.recorder.case_keys_of(sorted(set(case_ids)))

    def current_key(self, case_id: str, stored: StoredKey | None) -> CaseKey:
        """`case_key` from the case's stored key as read just before (`stored_keys`)."""
        if stored is None:
            raise KeyNotHeld(f"no key is held for case {case_id}")
        return self._unwrapped(case_id, stored.key_id, stored)

    def case_key_by_id(self, case_id: str, key_id: str) -> CaseKey:
        """One key of the case by its id, current or earlier; KeyNotHeld when the case has
        no key of that id, CaseErased once its keys were destroyed."""
        key = self._keys.get((case_id, key_id))
        if key is not None:
            return key
        stored = self.recorder.case_key(case_id)
        if stored is None:
            raise KeyNotHeld(f"no key is held for case {case_id}")
        if stored.key_id != key_id and stored.destroyed_at is None:
            earlier = dict(self.recorder.earlier_keys(case_id))
            if key_id not in earlier:
                raise KeyNotHeld(f"case {case_id} has no key {key_id}")
            stored = StoredKey(key_id, earlier[key_id], None)
        return self._unwrapped(case_id, key_id, stored)

    def case_keys(self, case_id: str) -> list[CaseKey]:
        """Every key of the case, oldest first, the current one last; [] for an unknown
        case, CaseErased once its keys were destroyed."""
        current = self.recorder.case_key(case_id)
        if current is None:
            return []
        earlier = self.recorder.earlier_keys(case_id)
        keys = [self._unwrapped(case_id, k, StoredKey(k, w, None)) for k, w in earlier]
        return [*keys, self._unwrapped(case_id, current.key_id, current)]

    def _unwrapped(self, case_id: str, key_id: str, stored: StoredKey) -> CaseKey:
        key = self._keys.get((case_id, key_id))
        if key is not None:
            return key
        if stored.destroyed_at is not None or stored.wrapped is None:
            raise CaseErased(f"case {case_id} was erased: its key was destroyed")
        epoch = self._epoch
        key = self.kek.unwrap(case_id, key_id, stored.wrapped)
        if epoch == self._epoch:
            self._keys[(case_id, key_id)] = key
        return key

    def rotate_key(self, case_id: str) -> CaseKey | None:
        """Give the case a new current key; the one it replaces stays, to open the events
        sealed under it. None when the case has no live key (unknown or erased)."""
        key = CaseKey.generate(case_id)
        if not self.recorder.rotate_key(case_id, key.key_id, self.kek.wrap(key), to_micros(self.clock())):
            return None
        return key

    def has_key(self, case_id: str) -> bool:
        """Whether the log holds (or held, before erasure) the case's key."""
        return self.recorder.has_key(case_id)

    def add_key(self, key: CaseKey) -> None:
        """Store a case key wrapped under the KEK (idempotent for the same key)."""
        if self.has_key(key.case_id):
            return
        self.recorder.add_key(key.case_id, key.key_id, self.kek.wrap(key))

    def destroy_key(self, case_id: str) -> None:
        """Crypto-shredding: overwrite and forget every wrapped key of the case. The log
        stays intact."""
        self.recorder.destroy_key(case_id, to_micros(self.clock()))
        for held in [k for k in self._keys if k[0] == case_id]:
            self._keys.pop(held, None)

    def erased(self, case_id: str) -> bool:
        """Whether the case's key was destroyed."""
        stored = self.recorder.case_key(case_id)
        return stored is not None and stored.destroyed_at is not None

    # -- append ------------------------------------------------------------------------
    def check_seal(self, events: Sequence[SealedEvent], seal: BatchSeal) -> Device:
        """Verify that an enrolled, unrevoked device signed exactly these events."""
        device = self.enrolled_device(seal.device_id)
        if len(seal.digests) != len(events) or any(d != e.digest for d, e in zip(seal.digests, events, strict=True)):
            raise SignatureInvalid(f"batch {seal.batch_id} does not match the events it carries")
        if any(e.header.device != seal.device_id for e in events):
            raise SignatureInvalid(f"batch {seal.batch_id} carries events of another device")
        seal.verify(device.signing_key)
        return device

    def check_batch_id(self, seal: BatchSeal) -> None:
        """BatchIdReused when the log keeps a manifest under this batch's id for another
        device or other events; a batch sent again whole (a retry) passes."""
        kept = self.batch(seal.batch_id)
        if kept is not None and (kept.device_id != seal.device_id or kept.digests != seal.digests):
            raise BatchIdReused(
                f"batch id {seal.batch_id} was used before for other events; "
                "a device gives every batch a new id and sends a batch again only unchanged"
            )

    def find(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Event id -> (case id, sequence) for those already in the log."""
        return self.recorder.find(event_ids) if event_ids else {}

    def head(self, case_id: str) -> tuple[int, bytes]:
        """(last sequence, chain link) of a case; (0, genesis) for a new case."""
        cached = self._heads.get(case_id)
        if cached is not None:
            return cached
        last = self.recorder.last_event(case_id)
        value = (0, genesis(case_id)) if last is None else (last[0], unpack_envelope(last[1])[2])
        self._heads[case_id] = value
        return value

    def append(
        self,
        events: Sequence[SealedEvent],
        seal: BatchSeal,
        new_keys: Sequence[CaseKey] = (),
        *,
        verify: bool = True,
        also: Sequence[tuple[Sequence[SealedEvent], BatchSeal]] = (),
        expect: Mapping[str, int] | None = None,
    ) -> list[Receipt]:
        """Append a signed batch; per event `accepted` (new) or `duplicate` (already here).

        `events` may be a subset of what `seal` covers (the rest rejected by the rules);
        the whole signed manifest is kept so every stored event stays attributable.
        `also` appends further signed groups in the same transaction (the server's
        conflict flags for this batch), so either all of it is stored or none.

        `expect` names, per case, the last sequence the events were judged against: when
        the case has moved past it (another process appended meanwhile), nothing is
        stored and CaseMoved asks the caller to judge again. The unique (case, sequence)
        of the events table makes this exact across processes: the insert at
        `expect + 1` fails when anyone else stored that sequence first.

        Raises SignatureInvalid when the batch is not the device's, BatchIdReused (nothing
        stored) when its id is kept already for other events, CaseMoved as said,
        VersionConflict when another writer kept winning the race for the same cases.
        """
        groups = [(events, seal), *also]
        for group, group_seal in groups:
            if len(group_seal.batch_id.encode()) > 255:
                raise InvalidInput("a batch id is at most 255 bytes")
            if any(e.header.case_id == ADMIN_STREAM or e.topic == ADMIN_TOPIC for e in group):
                raise InvalidInput("the administrative log is written by the server alone, never in a batch")
            if verify:
                self.check_seal(group, group_seal)
            elif not {e.digest for e in group} <= set(group_seal.digests):
                raise SignatureInvalid(f"batch {group_seal.batch_id} does not cover the events appended with it")
        return self._write(groups, new_keys, expect=expect)

    def _write(
        self,
        groups: Sequence[tuple[Sequence[SealedEvent], BatchSeal]],
        new_keys: Sequence[CaseKey],
        writes: Sequence[Write] = (),
        *,
        expect: Mapping[str, int] | None = None,
    ) -> list[Receipt]:
        with self._lock:
            for attempt in range(5):
                try:
                    # First try optimistically, as if every event were new: the unique
                    # event index refuses a duplicate, and only then do we look them up.
                    return self._append(groups, new_keys, writes, look_up=attempt > 0, expect=expect or {})
                except IntegrityError:
                    self._heads.clear()
                    if attempt == 4:
                        break
        raise VersionConflict("other writers kept appending to the same cases; try again")

    def _append(
        self,
        groups: Sequence[tuple[Sequence[SealedEvent], BatchSeal]],
        new_keys: Sequence[CaseKey],
        writes: Sequence[Write],
        *,
        look_up: bool,
        expect: Mapping[str, int],
    ) -> list[Receipt]:
        ids = [e.header.event_id for events, _ in groups for e in events]
        if look_up:
            # The optimistic try failed: perhaps because a batch id is kept already for
            # other events, which no retry can mend.
            for _, group_seal in groups:
                self.check_batch_id(group_seal)
        existing = self.find(ids) if look_up else {}
        staged = self._stage(groups, existing, to_micros(self.clock()), expect)
        keys = [(k.case_id, k.key_id, self.kek.wrap(k)) for k in new_keys if not self.has_key(k.case_id)]
        positions: Sequence[int] = []
        # The rows an administrative event explains were committed with it, if it is here.
        writes = writes if staged.rows else ()
        if staged.rows or keys or writes:
            positions = self.recorder.append(
                staged.rows,
                batches=staged.batches,
                index=staged.indexed,
                keys=keys,
                digests=staged.digests,
                writes=writes,
            )
        self._heads.update(staged.heads)
        return self._receipts(ids, existing, staged, positions)

    def _stage(
        self,
        groups: Sequence[tuple[Sequence[SealedEvent], BatchSeal]],
        existing: dict[str, tuple[str, int]],
        received: int,
        expect: Mapping[str, int],
    ) -> _Staged:
        """Give each new event its case sequence, chain link and envelope."""
        staged = _Staged([], [], [], {}, {}, [])
        rows, heads, fresh, digests = staged.rows, staged.heads, staged.fresh, staged.digests
        sha256 = hashlib.sha256
        # The envelope's parts around the link are the same for a whole batch.
        prefix = b"\x01"
        stamp = received.to_bytes(8, "big", signed=True)
        for events, seal in groups:
            batch_bytes = seal.batch_id.encode()
            batch = len(batch_bytes).to_bytes(1, "big") + batch_bytes
            before = len(rows)
            for e in events:
                h = e.header
                event_id = h.event_id
                if event_id in existing or event_id in fresh:
                    continue
                case_id = h.case_id
                head = heads.get(case_id) or self._expected_head(case_id, expect)
                seq = head[0] + 1
                digest = e.digest
                link = sha256(head[1] + seq.to_bytes(8, "big") + digest).digest()
                heads[case_id] = (seq, link)
                fresh[event_id] = len(rows)
                rows.append((case_id, seq, h.topic, b"".join((prefix, link, stamp, batch, e.raw))))
                digests.append(digest)
                staged.indexed.append((event_id, case_id, seq))
            if len(rows) > before:
                staged.batches.append((seal.batch_id, seal.device_id, received, b"".join(seal.digests), seal.signature))
        return staged

    def _expected_head(self, case_id: str, expect: Mapping[str, int]) -> tuple[int, bytes]:
        """The case's head, checked against the sequence its events were judged at (when
        given): a remembered head that differs is read again, and CaseMoved when the
        case really moved on."""
        head = self.head(case_id)
        judged = expect.get(case_id)
        if judged is None or head[0] == judged:
            return head
        self._heads.pop(case_id, None)
        head = self.head(case_id)
        if head[0] != judged:
            raise CaseMoved(f"case {case_id} gained events after the batch was judged; judge it again")
        return head

    def _receipts(
        self,
        ids: Sequence[str],
        existing: dict[str, tuple[str, int]],
        staged: _Staged,
        positions: Sequence[int],
    ) -> list[Receipt]:
        """One receipt per appended event id, in order; a repeated id is a duplicate."""
        dup_positions = self.positions([existing[i] for i in ids if i in existing])
        receipts: list[Receipt] = []
        answered: set[str] = set()  # an id twice in one append: the second is a duplicate
        for event_id in ids:
            at = staged.fresh.get(event_id)
            if at is not None:
                _, case_id, seq = staged.indexed[at]
                status = "duplicate" if event_id in answered else "accepted"
                answered.add(event_id)
                receipts.append(Receipt(event_id, case_id, status, seq, positions[at]))
            else:
                case_id, seq = existing[event_id]
                receipts.append(Receipt(event_id, case_id, "duplicate", seq, dup_positions.get((case_id, seq), 0)))
        return receipts

    def positions(self, places: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """(case id, sequence) -> global position, for events in the log."""
        out: dict[tuple[str, int], int] = {}
        for case_id, seq in set(places):
            for le in self.case_events(case_id, after=seq - 1, upto=seq):
                out[(case_id, seq)] = le.position
        return out

    # -- reading -------------------------------------------------------------------------
    def max_position(self) -> int:
        """The global position of the newest event (0 for an empty log)."""
        return self.recorder.max_position()

    def read(self, after: int, limit: int = 1000) -> list[LoggedEvent]:
        """Events after a global position, in log order (one query; no per-row objects
        beyond what the caller gets)."""
        return _logged_rows(self.recorder.read(after, limit))

    def iterate(self, after: int = 0, page: int = 2000) -> Iterator[LoggedEvent]:
        """Every event after a global position, in log order, read a page at a time."""
        while True:
            batch = self.read(after, page)
            if not batch:
                return
            yield from batch
            after = batch[-1].position

    def of_topic(self, topic: str | tuple[str, ...], page: int = 1000) -> Iterator[LoggedEvent]:
        """Every event of one type (or of several), in log order; the rest of the log is not even read."""
        topics = (topic,) if isinstance(topic, str) else topic
        after = 0
        while True:
            rows = self.recorder.notifications(after, page, topics)
            if not rows:
                return
            for r in rows:
                yield logged(r.position, r.seq, r.state)
            after = rows[-1].position

    def case_events(
        self, case_id: str, *, after: int = 0, upto: int | None = None, topics: Sequence[str] = ()
    ) -> list[LoggedEvent]:
        """One case's events in sequence order, with their global positions; of the
        stored types `topics` only, when named (each read event's sealed type is what
        counts: a caller checks it again)."""
        return _logged_rows(self.recorder.case_events(case_id, after, upto, topics))

    def case_tails(self, afters: Mapping[str, int]) -> dict[str, list[LoggedEvent]]:
        """The events of each named case after the sequence named for it, in sequence
        order, read with one question for all of them (a case with none is left out)."""
        tails: dict[str, list[LoggedEvent]] = {}
        for le in _logged_rows(self.recorder.case_tails(afters)):
            tails.setdefault(le.sealed.case_id, []).append(le)
        return tails

    def page(self, case_ids: Sequence[str], after: int, upto: int, limit: int) -> list[LoggedEvent]:
        """Events of the given cases with position in (after, upto], in position order."""
        return _logged_rows(self.recorder.page(case_ids, after, upto, limit))

    def case_ids(self) -> list[str]:
        """Every case the log holds or held a key of, sorted."""
        return self.recorder.case_ids()

    def open(self, logged: LoggedEvent | SealedEvent) -> ev.CaseEvent:
        """Decrypt one event with the key of its case its header names."""
        sealed = logged.sealed if isinstance(logged, LoggedEvent) else logged
        if sealed.topic == "case.erased":
            return open_sealed(sealed, None)
        return open_sealed(sealed, self.case_key_by_id(sealed.case_id, sealed.header.key_id))

    def batch(self, batch_id: str) -> BatchSeal | None:
        """The signed manifest of a batch with an event in the log; None otherwise."""
        return self.recorder.batch(batch_id)

    def batches(self, batch_ids: Sequence[str]) -> dict[str, BatchSeal]:
        """The signed manifests of the batches among `batch_ids` with an event in the log."""
        return self.recorder.batches(batch_ids)


def _logged_rows(rows: Sequence[EventRow]) -> list[LoggedEvent]:
    return [logged(position, seq, state) for position, seq, state in rows]
