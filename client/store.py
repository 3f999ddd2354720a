"""The laptop's local store: only sealed bytes and wrapped keys ever reach its disk.

One SQLite file (WAL, mode 0600) in the data folder, opened with the standard `sqlite3`
module (`client.database`), holding these tables:

- ``stored_events`` (the eventsourcing library's table, created exactly as the library
  creates it, so stores made when the laptop used the library open unchanged):
  confirmed events exactly as pulled, one row per case
  event (originator id = case id, originator version = the server's case sequence,
  state = ``msgpack([sealed bytes, position, time received, chain link])``); an event
  the worker's department may not see is a placeholder (topic ``""``, state
  ``msgpack([b"", position, 0, chain link, SHA-256 of the sealed bytes])``), which keeps
  the chain checkable and nothing of the event;
- ``confirmed_index``: event id -> (case, sequence, position), so the laptop knows which
  of its own events have landed;
- ``outbox``: events recorded here and not yet confirmed, sealed, in recording order,
  with their status (``pending``, ``sent`` once the server accepted them, ``rejected``
  with the server's reason);
- ``case_keys``: each case's newest key, wrapped under the worker's passphrase key
  (scrypt): new events are sealed under it;
- ``case_keys_earlier``: the keys a case had before (a key rotates when a device loses
  the case), wrapped the same way, to open the events sealed under them;
- ``meta``: the device's identity and settings, its private keys sealed under the
  passphrase key, the pull cursor and the time of the last sync.

A pulled page (its events and placeholders, key grants, what to forget, drops and the
new cursor) is applied in one transaction, so an interrupted sync never moves the cursor
past what was stored. Forgetting replaces whole events by placeholders; a drop deletes
the case's events, index rows and key. Deleted rows are overwritten (``secure_delete``)
and, after a page that forgot or dropped anything, the WAL is checkpointed and truncated,
so what was forgotten is gone from the store's files, not only from its tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

import msgpack

from client.database import LaptopDatabase, translated
from client.errors import AlreadyEnrolled, NotEnrolled
from core.chain import genesis, next_link
from core.errors import CodecError, KeyNotHeld
from core.keys import CaseKey, DeviceKeys, PassphraseKey
from core.sealing import SealedEvent, parse
from sync.pulled import PulledEvent, Ranges, to_ranges

DB_NAME = "laptop.db"
PLACEHOLDER = ""  # the topic of a placeholder's row: nothing of the event's header is kept
_DEVICE_LABEL = b"device-keys"


# The laptop's tables. ``stored_events`` is created word for word as the eventsourcing
# library's SQLite application recorder created it (no index beside its primary key).
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stored_events (originator_id TEXT, originator_version INTEGER, "
    "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS confirmed_index (event_id TEXT PRIMARY KEY, "
    "case_id TEXT NOT NULL, seq INTEGER NOT NULL, position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox (ord INTEGER PRIMARY KEY AUTOINCREMENT, "
    "event_id TEXT UNIQUE NOT NULL, case_id TEXT NOT NULL, sealed BLOB NOT NULL, "
    "status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE IF NOT EXISTS case_keys (case_id TEXT PRIMARY KEY, "
    "key_id TEXT NOT NULL, wrapped BLOB NOT NULL, pushed INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS case_keys_earlier (case_id TEXT NOT NULL, key_id TEXT NOT NULL, "
    "wrapped BLOB NOT NULL, PRIMARY KEY (case_id, key_id))",
)


class Pending(NamedTuple):
    """An outbox entry: an event recorded here that the server has not confirmed yet."""

    order: int
    event_id: str
    case_id: str
    sealed: bytes
    status: str  # pending | sent | rejected
    reason: str


class Applied(NamedTuple):
    """What applying a pulled page changed: events (or placeholders) new here, whole
    events forgotten (replaced by placeholders), cases dropped, and the cases of the keys
    new here (a grant sent again for a key already held is not news to the worker)."""

    new: int
    forgotten: int = 0
    dropped: int = 0
    granted: tuple[str, ...] = ()


def store_path(folder: Path) -> Path:
    return Path(folder) / DB_NAME


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _unpack(raw: bytes) -> Any:
    return msgpack.unpackb(bytes(raw), raw=False)


class LaptopStore:
    """The encrypted local store of one enrolled laptop, unlocked with the passphrase."""

    def __init__(self, database: LaptopDatabase, key: PassphraseKey, device_keys: DeviceKeys) -> None:
        self.database = database
        self._key = key
        self.device_keys = device_keys

    # -- opening ----------------------------------------------------------------------
    @staticmethod
    def _database(folder: Path, *, reading: bool = False) -> LaptopDatabase:
        return LaptopDatabase.open(store_path(folder).resolve(), SCHEMA, reading=reading)

    @classmethod
    def create(
        cls,
        folder: Path,
        passphrase: str,
        device_keys: DeviceKeys,
        meta: dict[str, Any],
        *,
        scrypt_n: int | None = None,
    ) -> LaptopStore:
        """Make a new store holding the device's keys (sealed) and its enrollment facts."""
        folder = Path(folder)
        if store_path(folder).exists():
            raise AlreadyEnrolled(f"{folder} already holds a laptop store; use another folder")
        with translated(store_path(folder)):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        salt = os.urandom(16)
        n = scrypt_n or PassphraseKey.N
        key = PassphraseKey.derive(passphrase, salt, n)
        store = cls(cls._database(folder), key, device_keys)
        store.set_meta(
            salt=salt,
            scrypt_n=n,
            device_secret=key.seal_secret(_DEVICE_LABEL, device_keys.private_bytes()),
            cursor=0,
            last_sync=None,
            **meta,
        )
        return store

    @classmethod
    def open(cls, folder: Path, passphrase: str, *, reading: bool = False) -> LaptopStore:
        """Unlock an existing store; NotEnrolled when there is none, WrongPassphrase.
        `reading`: the command writes nothing, so a full disk does not stop it."""
        folder = Path(folder)
        if not store_path(folder).exists():
            raise NotEnrolled(f"{folder} holds no laptop store; run 'tovholder client init' first")
        database = cls._database(folder, reading=reading)
        try:
            rows = _meta_rows(database, ("salt", "scrypt_n", "device_secret"))
            if len(rows) != 3:
                raise NotEnrolled(f"the laptop store in {folder} is incomplete; enroll again")
            key = PassphraseKey.derive(passphrase, rows["salt"], rows["scrypt_n"])
            device = DeviceKeys.from_private_bytes(key.open_secret(_DEVICE_LABEL, rows["device_secret"]))
        except BaseException:
            database.close()
            raise
        return cls(database, key, device)

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> LaptopStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, sql: str, params: Sequence[Any] = (), *, commit: bool = False) -> list[tuple[Any, ...]]:
        with self.database.transaction(commit=commit) as c:
            c.execute(sql, params)
            return [tuple(r) for r in c.fetchall()]

    # -- meta -------------------------------------------------------------------------
    def meta(self, name: str, default: Any = None) -> Any:
        return _meta_rows(self.database, (name,)).get(name, default)

    def all_meta(self) -> dict[str, Any]:
        rows = self._run("SELECT name, value FROM meta")
        return {n: _unpack(v) for n, v in rows if n not in ("salt", "device_secret")}

    def set_meta(self, **values: Any) -> None:
        with self.database.transaction(commit=True) as c:
            for name, value in values.items():
                c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, _pack(value)))

    def keep_evidence(self, name: str, found: dict[str, Any]) -> None:
        """Add one piece of evidence to the list kept under `name` (the same failure seen
        again on a later sync is kept once)."""
        with self.database.transaction(commit=True) as c:
            row = c.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
            kept: list[dict[str, Any]] = _unpack(row[0]) if row else []
            same = {k: v for k, v in found.items() if k != "found_at"}
            if not any({k: v for k, v in e.items() if k != "found_at"} == same for e in kept):
                kept.append(found)
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, _pack(kept)))

    # -- case keys --------------------------------------------------------------------
    def case_key(self, case_id: str) -> CaseKey:
        rows = self._run("SELECT key_id, wrapped FROM case_keys WHERE case_id=?", (case_id,))
        if not rows:
            raise KeyNotHeld(f"case {case_id} is not held on this laptop")
        return self._key.unwrap(case_id, rows[0][0], bytes(rows[0][1]))

    def case_keys(self, case_id: str) -> dict[str, CaseKey]:
        """Every key the laptop holds of a case, newest and earlier, by key id."""
        rows = self._run(
            "SELECT key_id, wrapped FROM case_keys WHERE case_id=? "
            "UNION ALL SELECT key_id, wrapped FROM case_keys_earlier WHERE case_id=?",
            (case_id, case_id),
        )
        return {r[0]: self._key.unwrap(case_id, r[0], bytes(r[1])) for r in rows}

    def held_cases(self) -> list[str]:
        return [r[0] for r in self._run("SELECT case_id FROM case_keys ORDER BY case_id")]

    def unpushed_keys(self) -> list[CaseKey]:
        rows = self._run("SELECT case_id FROM case_keys WHERE pushed=0 ORDER BY case_id")
        return [self.case_key(r[0]) for r in rows]

    def mark_keys_pushed(self, case_ids: Iterable[str]) -> None:
        with self.database.transaction(commit=True) as c:
            c.executemany("UPDATE case_keys SET pushed=1 WHERE case_id=?", [(i,) for i in case_ids])

    # -- confirmed events -------------------------------------------------------------
    def confirmed(self, case_id: str) -> list[PulledEvent]:
        """A case's confirmed events in the server's case order."""
        rows = self._run(
            "SELECT originator_version, state FROM stored_events WHERE originator_id=? ORDER BY originator_version",
            (UUID(case_id).hex,),
        )
        return [_confirmed(case_id, seq, state) for seq, state in rows]

    def confirmed_seq(self, case_id: str) -> int:
        rows = self._run(
            "SELECT MAX(originator_version) FROM stored_events WHERE originator_id=?",
            (UUID(case_id).hex,),
        )
        return int(rows[0][0] or 0)

    def confirmed_cases(self) -> list[str]:
        rows = self._run("SELECT DISTINCT case_id FROM confirmed_index ORDER BY case_id")
        return [r[0] for r in rows]

    def count_confirmed(self) -> int:
        return int(self._run("SELECT COUNT(*) FROM confirmed_index")[0][0])

    # -- the outbox -------------------------------------------------------------------
    def add_pending(self, sealed: SealedEvent, key: CaseKey | None = None) -> None:
        """Put a new event in the outbox; with `key`, the key of the case it opens, kept
        in the same transaction (a full disk keeps neither, never a key without its case)."""
        with self.database.transaction(commit=True) as c:
            if key is not None:
                c.execute(
                    "INSERT OR REPLACE INTO case_keys VALUES (?, ?, ?, 0)",
                    (key.case_id, key.key_id, self._key.wrap(key)),
                )
            c.execute(
                "INSERT INTO outbox (event_id, case_id, sealed, status) VALUES (?, ?, ?, 'pending')",
                (sealed.event_id, sealed.case_id, sealed.raw),
            )

    def outbox(self, case_id: str | None = None, statuses: Sequence[str] = ("pending", "sent")) -> list[Pending]:
        """Outbox entries in recording order, of one case or all, with the given statuses."""
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT ord, event_id, case_id, sealed, status, reason FROM outbox WHERE status IN ({marks})"
        params: list[Any] = list(statuses)
        if case_id is not None:
            sql += " AND case_id=?"
            params.append(case_id)
        rows = self._run(sql + " ORDER BY ord", params)
        return [Pending(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    def count_pending(self) -> int:
        """How many events wait in the outbox to be sent (read without opening them)."""
        return int(self._run("SELECT COUNT(*) FROM outbox WHERE status='pending'")[0][0])

    def mark_sent(self, event_ids: Iterable[str]) -> None:
        """The server holds these (accepted or duplicate): they wait for their pulled copy."""
        with self.database.transaction(commit=True) as c:
            c.executemany(
                "UPDATE outbox SET status='sent', reason='' WHERE event_id=?",
                [(i,) for i in event_ids],
            )
            # An event already pulled back needs no outbox entry at all.
            c.execute("DELETE FROM outbox WHERE event_id IN (SELECT event_id FROM confirmed_index)")

    def mark_rejected(self, reasons: dict[str, str]) -> None:
        with self.database.transaction(commit=True) as c:
            c.executemany(
                "UPDATE outbox SET status='rejected', reason=? WHERE event_id=?",
                [(r, i) for i, r in reasons.items()],
            )

    def veiled(self) -> tuple[tuple[str, Ranges], ...]:
        """Per case, the sequences held only as placeholders, as ranges (for the pull)."""
        rows = self._run(
            "SELECT originator_id, originator_version FROM stored_events WHERE topic=? "
            "ORDER BY originator_id, originator_version",
            (PLACEHOLDER,),
        )
        by_case: dict[str, list[int]] = {}
        for case_hex, seq in rows:
            by_case.setdefault(str(UUID(case_hex)), []).append(seq)
        return tuple((case_id, to_ranges(seqs)) for case_id, seqs in by_case.items())

    # -- applying a pulled page -------------------------------------------------------
    def apply_page(
        self,
        events: Sequence[PulledEvent],
        keys: Sequence[CaseKey],
        drops: Sequence[str],
        cursor: int,
        synced_at: int,
        forget: Sequence[tuple[str, Ranges]] = (),
        meta: Mapping[str, Any] | None = None,
    ) -> Applied:
        """Store a pulled page with its keys, what to forget, drops and new cursor in one
        transaction.

        Events already held are skipped (a placeholder is replaced by its event once the
        event arrives whole, if its SHA-256 matches); each new event's chain link is
        checked against its predecessor, so a page that does not continue the server's
        chain is refused (CodecError) and nothing of it is kept. Whole events in the
        `forget` ranges become placeholders. Pending entries for dropped cases stay in the
        outbox: they are the worker's recorded work and still go to the server. `meta`
        (the server's tree head the page was checked against, `client.heads`) is kept
        in the same transaction.
        """
        with self.database.transaction(commit=True) as c:
            granted = [key.case_id for key in keys if _keep_key(c, key, self._key.wrap(key))]
            stored, replaced, confirmed = _checked_page(c, events)
            # One statement each for the whole page.
            c.executemany("DELETE FROM stored_events WHERE originator_id=? AND originator_version=?", replaced)
            c.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", stored)
            c.executemany("INSERT OR REPLACE INTO confirmed_index VALUES (?, ?, ?, ?)", confirmed)
            c.executemany("DELETE FROM outbox WHERE event_id=?", [(row[0],) for row in confirmed])
            forgotten = sum(_forget(c, case_id, ranges) for case_id, ranges in forget)
            dropped = 0
            for case_id in drops:
                c.execute("DELETE FROM stored_events WHERE originator_id=?", (_case_hex(case_id),))
                c.execute("DELETE FROM confirmed_index WHERE case_id=?", (case_id,))
                c.execute("DELETE FROM case_keys WHERE case_id=?", (case_id,))
                dropped += c.rowcount
                c.execute("DELETE FROM case_keys_earlier WHERE case_id=?", (case_id,))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('cursor', ?)", (_pack(cursor),))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('last_sync', ?)", (_pack(synced_at),))
            c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(n, _pack(v)) for n, v in (meta or {}).items()])
        if forgotten or drops:
            self.database.checkpoint()
        return Applied(len(stored), forgotten, dropped, tuple(dict.fromkeys(granted)))


def _case_hex(case_id: str) -> str:
    try:
        return UUID(case_id).hex
    except (ValueError, TypeError, AttributeError):
        raise CodecError("the server named a case by an id that is not a UUID") from None


def _forget(c: Any, case_id: str, ranges: Ranges) -> int:
    """Replace the case's whole events in `ranges` by placeholders, and drop their index
    rows; how many were forgotten."""
    case_hex = _case_hex(case_id)
    forgotten = 0
    for low, high in ranges:
        c.execute(
            "SELECT originator_version, state FROM stored_events WHERE originator_id=? "
            "AND originator_version BETWEEN ? AND ? AND topic<>?",
            (case_hex, low, high, PLACEHOLDER),
        )
        for seq, state in c.fetchall():
            held = _confirmed(case_id, seq, state)
            event_id = parse(held.sealed).event_id
            c.execute("DELETE FROM stored_events WHERE originator_id=? AND originator_version=?", (case_hex, seq))
            c.execute("DELETE FROM confirmed_index WHERE event_id=?", (event_id,))
            c.execute(
                "INSERT INTO stored_events VALUES (?, ?, ?, ?)", (case_hex, seq, PLACEHOLDER, _state(held.veiled()))
            )
            forgotten += 1
    return forgotten


def _state(e: PulledEvent) -> bytes:
    """The stored state of a confirmed event or placeholder."""
    if e.placeholder:
        return _pack([b"", e.position, 0, e.link, e.digest])
    return _pack([e.sealed, e.position, e.received, e.link])


def _keep_key(c: Any, key: CaseKey, wrapped: bytes) -> bool:
    """Keep a granted key; whether it is new here. The server grants a case's keys oldest
    first, so a key id not held yet becomes the case's newest key and the one it follows
    moves to the earlier keys; a key id already held changes nothing (the server sends a
    grant again until the laptop pulls from beyond the answer that carried it)."""
    c.execute(
        "SELECT key_id FROM case_keys WHERE case_id=? UNION ALL SELECT key_id FROM case_keys_earlier WHERE case_id=?",
        (key.case_id, key.case_id),
    )
    held = [r[0] for r in c.fetchall()]
    if key.key_id in held:
        c.execute("UPDATE case_keys SET pushed=1 WHERE case_id=? AND key_id=?", (key.case_id, key.key_id))
        return False
    c.execute(
        "INSERT OR IGNORE INTO case_keys_earlier SELECT case_id, key_id, wrapped FROM case_keys WHERE case_id=?",
        (key.case_id,),
    )
    c.execute("INSERT OR REPLACE INTO case_keys VALUES (?, ?, ?, 1)", (key.case_id, key.key_id, wrapped))
    return True


def _checked_page(
    c: Any, events: Sequence[PulledEvent]
) -> tuple[list[tuple[str, int, str, bytes]], list[tuple[str, int]], list[tuple[str, str, int, int]]]:
    """The rows of the page's new events (stored events, placeholders they replace,
    confirmed index), each checked to continue its case's chain; CodecError for the first
    that does not."""
    ordered = sorted(events, key=lambda x: (x.case_id, x.seq))
    hexes = {case_id: _case_hex(case_id) for case_id in {e.case_id for e in ordered}}
    held = _held(c, [(hexes[e.case_id], e.seq) for e in ordered])
    links: dict[tuple[str, int], bytes] = {}
    stored: list[tuple[str, int, str, bytes]] = []
    replaced: list[tuple[str, int]] = []
    confirmed: list[tuple[str, str, int, int]] = []
    for e in ordered:
        place = (hexes[e.case_id], e.seq)
        digest, topic, event_id = _digest(e)
        before = held.get(place)
        if before is not None:
            if before == b"" or e.placeholder:
                continue  # held whole already, or a placeholder for a placeholder
            if before != digest:
                raise CodecError(f"event {e.seq} of case {e.case_id} does not match the placeholder held for it")
            replaced.append(place)
        else:
            prev = links.get((e.case_id, e.seq - 1))
            if prev is None:
                prev = _link_before(c, e.case_id, e.seq)
            if prev is not None and next_link(prev, e.seq, digest) != e.link:
                raise CodecError(f"event {e.seq} of case {e.case_id} does not continue the case's chain")
        links[(e.case_id, e.seq)] = e.link
        held[place] = b"" if not e.placeholder else digest
        stored.append((place[0], e.seq, topic, _state(e)))
        if not e.placeholder:
            confirmed.append((event_id, e.case_id, e.seq, e.position))
    return stored, replaced, confirmed


def _digest(e: PulledEvent) -> tuple[bytes, str, str]:
    """(SHA-256 of the sealed bytes, topic, event id) of a pulled event; for a placeholder
    only its digest. CodecError when the event is not what the page says it is."""
    if e.placeholder:
        if len(e.digest) != 32:
            raise CodecError(f"the placeholder for event {e.seq} of case {e.case_id} has no SHA-256")
        return e.digest, PLACEHOLDER, ""
    sealed = parse(e.sealed)
    if sealed.case_id != e.case_id:
        raise CodecError(f"the server sent event {sealed.event_id} under the wrong case")
    return sealed.digest, sealed.topic, sealed.event_id


def _meta_rows(database: LaptopDatabase, names: Sequence[str]) -> dict[str, Any]:
    marks = ",".join("?" * len(names))
    with database.transaction(commit=False) as c:
        c.execute(f"SELECT name, value FROM meta WHERE name IN ({marks})", list(names))
        return {r[0]: _unpack(r[1]) for r in c.fetchall()}


def _held(c: Any, places: Sequence[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
    """Which (case id hex, sequence) of `places` the store holds already: b"" for a whole
    event, the digest for a placeholder. One range query per case (a page holds a run of
    each case's sequence)."""
    ranges: dict[str, tuple[int, int]] = {}
    for case, seq in places:
        low, high = ranges.get(case, (seq, seq))
        ranges[case] = (min(low, seq), max(high, seq))
    found: dict[tuple[str, int], bytes] = {}
    for case, (low, high) in ranges.items():
        c.execute(
            "SELECT originator_version, topic, state FROM stored_events "
            "WHERE originator_id=? AND originator_version BETWEEN ? AND ?",
            (case, low, high),
        )
        for seq, topic, state in c.fetchall():
            found[(case, seq)] = _unpack(state)[4] if topic == PLACEHOLDER else b""
    return found


def _link_before(c: Any, case_id: str, seq: int) -> bytes | None:
    """The chain link preceding `seq` (genesis for the first event), if held."""
    if seq == 1:
        return genesis(case_id)
    c.execute(
        "SELECT state FROM stored_events WHERE originator_id=? AND originator_version=?",
        (UUID(case_id).hex, seq - 1),
    )
    row = c.fetchone()
    return None if row is None else bytes(_unpack(row[0])[3])


def _confirmed(case_id: str, seq: int, state: bytes) -> PulledEvent:
    sealed, position, received, link, *digest = _unpack(state)
    return PulledEvent(
        position, seq, case_id, bytes(sealed), received, bytes(link), bytes(digest[0]) if digest else b""
    )
