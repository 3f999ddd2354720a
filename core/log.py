"""The server's case log: sealed events, chained per case, stored on the library's recorder.

On append the log checks the device's batch signature (once per batch), gives each new
event the next sequence of its case, extends the case's hash chain

    link(n) = SHA-256(link(n-1) || n as 8 bytes || SHA-256(sealed bytes of event n))

and stores, per event, one library stored event whose state is the envelope
the envelope (format byte, chain link, time received in µs, batch id, sealed bytes; see
`envelope`). The global position is
the library's notification id. What the device signed is never changed.

Appends are idempotent on the event id: an event already in the log answers
``duplicate`` with its original sequence and position, and nothing is stored twice.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from core import events as ev
from core.errors import (
    CaseErased,
    CodecError,
    InvalidInput,
    KeyNotHeld,
    SignatureInvalid,
    VersionConflict,
)
from core.heads import CaseHeads
from core.keys import CaseKey, KeyEncryptionKey
from core.recorders import Row
from core.sealing import SealedEvent, from_micros, open_sealed, parse, to_micros
from core.signing import BatchSeal

GENESIS = b"tovholder/chain/v1\x00"


def genesis(case_id: str) -> bytes:
    return hashlib.sha256(GENESIS + case_id.encode()).digest()


def next_link(prev: bytes, seq: int, digest: bytes) -> bytes:
    return hashlib.sha256(prev + seq.to_bytes(8, "big") + digest).digest()


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


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    worker: str
    signing_key: bytes
    agreement_key: bytes
    enrolled_at: int
    revoked_at: int | None


ENVELOPE = 1


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


class CaseLog:
    """Append, read and key-handling for the server's log of all cases."""

    def __init__(self, recorder: Any, kek: KeyEncryptionKey, clock: Callable[[], datetime] = ev.utcnow):
        self.recorder = recorder
        self.tables = recorder.tables
        self.kek = kek
        self.clock = clock
        self._heads: dict[str, tuple[int, bytes]] = {}
        self._keys: dict[str, CaseKey] = {}
        self._devices: dict[str, Device] = {}
        self._lock = threading.Lock()

    @property
    def heads(self) -> CaseHeads | None:
        """Where each case ends, asked from the event loop (`core.heads`); None in memory."""
        heads: CaseHeads | None = getattr(self.recorder, "heads", None)
        return heads

    # -- devices -----------------------------------------------------------------------
    def register_device(self, device_id: str, worker: str, signing_key: bytes, agreement_key: bytes) -> None:
        t = self.tables
        self.recorder.run(
            f"INSERT INTO {t.devices} VALUES ({t.p},{t.p},{t.p},{t.p},{t.p},NULL)",
            (device_id, signing_key, agreement_key, worker, to_micros(self.clock())),
            commit=True,
        )

    def revoke_device(self, device_id: str) -> bool:
        t = self.tables
        if self.device(device_id) is None:
            return False
        self.recorder.run(
            f"UPDATE {t.devices} SET revoked_at={t.p} WHERE device_id={t.p} AND revoked_at IS NULL",
            (to_micros(self.clock()), device_id),
            commit=True,
        )
        self._devices.pop(device_id, None)
        return True

    def device(self, device_id: str) -> Device | None:
        cached = self._devices.get(device_id)
        if cached is not None:
            return cached
        t = self.tables
        rows = self.recorder.run(
            f"SELECT device_id, worker, signing_key, agreement_key, enrolled_at, revoked_at "
            f"FROM {t.devices} WHERE device_id={t.p}",
            (device_id,),
        )
        if not rows:
            return None
        r = rows[0]
        device = Device(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], r[5])
        self._devices[device_id] = device
        return device

    def devices(self) -> list[Device]:
        t = self.tables
        rows = self.recorder.run(
            f"SELECT device_id, worker, signing_key, agreement_key, enrolled_at, revoked_at "
            f"FROM {t.devices} ORDER BY enrolled_at"
        )
        return [Device(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], r[5]) for r in rows]

    # -- keys --------------------------------------------------------------------------
    def case_key(self, case_id: str) -> CaseKey:
        """The case's data key, unwrapped from the KEK; CaseErased once it was destroyed."""
        key = self._keys.get(case_id)
        if key is not None:
            return key
        t = self.tables
        rows = self.recorder.run(f"SELECT key_id, wrapped, destroyed_at FROM {t.keys} WHERE case_id={t.p}", (case_id,))
        if not rows:
            raise KeyNotHeld(f"no key is held for case {case_id}")
        key_id, wrapped, destroyed = rows[0]
        if destroyed is not None or wrapped is None:
            raise CaseErased(f"case {case_id} was erased: its key was destroyed")
        key = self.kek.unwrap(case_id, key_id, bytes(wrapped))
        self._keys[case_id] = key
        return key

    def has_key(self, case_id: str) -> bool:
        t = self.tables
        return bool(self.recorder.run(f"SELECT 1 FROM {t.keys} WHERE case_id={t.p}", (case_id,)))

    def add_key(self, key: CaseKey) -> None:
        """Store a case key wrapped under the KEK (idempotent for the same key)."""
        if self.has_key(key.case_id):
            return
        t = self.tables
        self.recorder.run(t.insert_key(), (key.case_id, key.key_id, self.kek.wrap(key)), commit=True)

    def destroy_key(self, case_id: str) -> None:
        """Crypto-shredding: overwrite and forget the wrapped case key. The log stays intact."""
        t = self.tables
        self.recorder.run(
            f"UPDATE {t.keys} SET wrapped=NULL, destroyed_at={t.p} WHERE case_id={t.p}",
            (to_micros(self.clock()), case_id),
            commit=True,
        )
        self._keys.pop(case_id, None)

    def erased(self, case_id: str) -> bool:
        t = self.tables
        rows = self.recorder.run(f"SELECT destroyed_at FROM {t.keys} WHERE case_id={t.p}", (case_id,))
        return bool(rows) and rows[0][0] is not None

    # -- append ------------------------------------------------------------------------
    def check_seal(self, events: Sequence[SealedEvent], seal: BatchSeal) -> Device:
        """Verify that an enrolled, unrevoked device signed exactly these events."""
        device = self.device(seal.device_id)
        if device is None:
            raise SignatureInvalid(f"device {seal.device_id} is not enrolled")
        if device.revoked_at is not None:
            raise SignatureInvalid(f"device {seal.device_id} was revoked")
        if len(seal.digests) != len(events) or any(d != e.digest for d, e in zip(seal.digests, events, strict=True)):
            raise SignatureInvalid(f"batch {seal.batch_id} does not match the events it carries")
        if any(e.header.device != seal.device_id for e in events):
            raise SignatureInvalid(f"batch {seal.batch_id} carries events of another device")
        seal.verify(device.signing_key)
        return device

    def find(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Event id -> (case id, sequence) for those already in the log."""
        if not event_ids:
            return {}
        t = self.tables
        found: dict[str, tuple[str, int]] = {}
        for i in range(0, len(event_ids), 500):
            chunk = list(event_ids[i : i + 500])
            marks = ",".join([t.p] * len(chunk))
            for event_id, case_id, seq in self.recorder.run(
                f"SELECT event_id, case_id, seq FROM {t.index} WHERE event_id IN ({marks})", chunk
            ):
                found[event_id] = (case_id, seq)
        return found

    def head(self, case_id: str) -> tuple[int, bytes]:
        """(last sequence, chain link) of a case; (0, genesis) for a new case."""
        cached = self._heads.get(case_id)
        if cached is not None:
            return cached
        stored = self.recorder.select_events(UUID(case_id), desc=True, limit=1)
        if not stored:
            value = (0, genesis(case_id))
        else:
            value = (stored[0].originator_version, unpack_envelope(stored[0].state)[2])
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
    ) -> list[Receipt]:
        """Append a signed batch; per event `accepted` (new) or `duplicate` (already here).

        `events` may be a subset of what `seal` covers (the rest rejected by the rules);
        the whole signed manifest is kept so every stored event stays attributable.
        `also` appends further signed groups in the same transaction (the server's
        conflict flags for this batch), so either all of it is stored or none.

        Raises SignatureInvalid when the batch is not the device's, VersionConflict when
        another writer kept winning the race for the same cases.
        """
        groups = [(events, seal), *also]
        for group, group_seal in groups:
            if len(group_seal.batch_id.encode()) > 255:
                raise InvalidInput("a batch id is at most 255 bytes")
            if verify:
                self.check_seal(group, group_seal)
            elif not {e.digest for e in group} <= set(group_seal.digests):
                raise SignatureInvalid(f"batch {group_seal.batch_id} does not cover the events appended with it")
        with self._lock:
            for attempt in range(5):
                try:
                    # First try optimistically, as if every event were new: the unique
                    # event index refuses a duplicate, and only then do we look them up.
                    return self._append(groups, new_keys, look_up=attempt > 0)
                except IntegrityError:
                    self._heads.clear()
                    if attempt == 4:
                        break
        raise VersionConflict("other writers kept appending to the same cases; try again")

    def _append(
        self,
        groups: Sequence[tuple[Sequence[SealedEvent], BatchSeal]],
        new_keys: Sequence[CaseKey],
        *,
        look_up: bool,
    ) -> list[Receipt]:
        ids = [e.header.event_id for events, _ in groups for e in events]
        existing = self.find(ids) if look_up else {}
        received = to_micros(self.clock())
        rows: list[Row] = []
        index: list[tuple[str, str, int]] = []
        batches: list[tuple[str, str, int, bytes, bytes]] = []
        heads: dict[str, tuple[int, bytes]] = {}
        fresh: dict[str, int] = {}  # event id -> index in `rows`
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
                head = heads.get(case_id) or self.head(case_id)
                seq = head[0] + 1
                link = sha256(head[1] + seq.to_bytes(8, "big") + e.digest).digest()
                heads[case_id] = (seq, link)
                fresh[event_id] = len(rows)
                rows.append((case_id, seq, h.topic, b"".join((prefix, link, stamp, batch, e.raw))))
                index.append((event_id, case_id, seq))
            if len(rows) > before:
                batches.append((seal.batch_id, seal.device_id, received, b"".join(seal.digests), seal.signature))
        keys = [
            (k.case_id, k.key_id, self.kek.wrap(k))
            for k in new_keys
            if k.case_id not in self._keys and not self.has_key(k.case_id)
        ]
        positions: Sequence[int] = []
        if rows or keys:
            positions = self.recorder.append(rows, batches=batches, index=index, keys=keys)
        self._heads.update(heads)
        dup_positions = self._positions([existing[i] for i in ids if i in existing])
        receipts: list[Receipt] = []
        answered: set[str] = set()  # an id twice in one append: the second is a duplicate
        for event_id in ids:
            at = fresh.get(event_id)
            if at is not None:
                _, case_id, seq = index[at]
                status = "duplicate" if event_id in answered else "accepted"
                answered.add(event_id)
                receipts.append(Receipt(event_id, case_id, status, seq, positions[at]))
            else:
                case_id, seq = existing[event_id]
                receipts.append(Receipt(event_id, case_id, "duplicate", seq, dup_positions.get((case_id, seq), 0)))
        return receipts

    def _positions(self, pairs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        for case_id, seq in pairs:
            for le in self.case_events(case_id, after=seq - 1, upto=seq):
                out[(case_id, seq)] = le.position
        return out

    # -- reading -------------------------------------------------------------------------
    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def read(self, after: int, limit: int = 1000) -> list[LoggedEvent]:
        """Events after a global position, in log order (one query; no per-row objects
        beyond what the caller gets)."""
        table, position = self._events_table()
        t = self.tables
        rows = self.recorder.run(
            f"SELECT {position}, originator_version, state FROM {table} "
            f"WHERE {position}>{t.p} ORDER BY {position} LIMIT {t.p}",
            (after, limit),
        )
        logged = self._logged
        return [logged(r[0], None, r[1], "", r[2]) for r in rows]

    def _events_table(self) -> tuple[str, str]:
        if self.tables.p == "?":
            return self.recorder.events_table_name, "rowid"
        return f'"{self.recorder.datastore.schema}"."{self.recorder.events_table_name}"', "notification_id"

    def iterate(self, after: int = 0, page: int = 2000) -> Iterator[LoggedEvent]:
        while True:
            batch = self.read(after, page)
            if not batch:
                return
            yield from batch
            after = batch[-1].position

    def case_events(self, case_id: str, *, after: int = 0, upto: int | None = None) -> list[LoggedEvent]:
        """One case's events in sequence order, with their global positions."""
        t = self.tables
        table, position = self._events_table()
        cid: Any = UUID(case_id).hex if t.p == "?" else UUID(case_id)
        sql = (
            f"SELECT {position}, originator_version, topic, state FROM {table} "
            f"WHERE originator_id={t.p} AND originator_version>{t.p}"
        )
        params: list[Any] = [cid, after]
        if upto is not None:
            sql += f" AND originator_version<={t.p}"
            params.append(upto)
        sql += " ORDER BY originator_version"
        return [self._logged(r[0], case_id, r[1], r[2], r[3]) for r in self.recorder.run(sql, params)]

    def case_ids(self) -> list[str]:
        t = self.tables
        return [r[0] for r in self.recorder.run(f"SELECT case_id FROM {t.keys} ORDER BY case_id")]

    @staticmethod
    def _logged(position: int, case_id: Any, seq: int, topic: str, state: bytes) -> LoggedEvent:
        sealed, received, link, batch_id = unpack_envelope(bytes(state))
        return LoggedEvent(position, seq, parse(sealed), received, link, batch_id)

    def open(self, logged: LoggedEvent | SealedEvent) -> ev.CaseEvent:
        """Decrypt one event with its case key."""
        sealed = logged.sealed if isinstance(logged, LoggedEvent) else logged
        if sealed.topic == "case.erased":
            return open_sealed(sealed, None)
        return open_sealed(sealed, self.case_key(sealed.case_id))

    def batch(self, batch_id: str) -> BatchSeal | None:
        t = self.tables
        rows = self.recorder.run(
            f"SELECT device_id, digests, signature FROM {t.batches} WHERE batch_id={t.p}", (batch_id,)
        )
        if not rows:
            return None
        device_id, digests, signature = rows[0]
        digests = bytes(digests)
        return BatchSeal(
            batch_id, device_id, tuple(digests[i : i + 32] for i in range(0, len(digests), 32)), bytes(signature)
        )
