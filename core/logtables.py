"""The SQL of the case log's own tables and of its reads, written once for both backends.

`LogTables` names the tables and makes them; `LogQueries` answers the `core.logstore.LogStore`
questions with SQL, given from its backend subclass (`core.recorders`) the placeholder,
the events table with its position column, how case ids are stored, and `run`. This is,
with `core.recorders`, the only code that knows the log's tables.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import lru_cache
from operator import itemgetter
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from core.errors import CodecError
from core.generations import ASSIGNMENTS, DEVICES, ERASURES, KINDS
from core.leaf import leaf_hashes
from core.logstore import Device, EventRow, Row, StoredKey, StoredRow, Write
from core.sealing import ADMIN_TOPIC
from core.signing import BatchSeal
from core.treerows import (
    BLOCK,
    BLOCK_LEVEL,
    block_of,
    folded_edge,
    leaves_of,
    low_nodes,
    pack_edge,
    runs,
    unpack_edge,
)

CHUNK = 500  # ids per IN (...) list: far below SQLite's parameter limit
FOLD = 1 << 16  # leaves whose subtrees one transaction of `fold_tree` hashes


class LogTables:
    """Names of the log's own tables and the SQL that makes them, for one backend."""

    def __init__(self, prefix: str, placeholder: str, blob: str, qualify: str = "") -> None:
        self.p, self.blob, self.q = placeholder, blob, qualify
        self.without_rowid = " WITHOUT ROWID" if placeholder == "?" else ""
        self.batches = f"{qualify}{prefix}batches"
        self.index = f"{qualify}{prefix}event_index"
        self.keys = f"{qualify}{prefix}case_keys"
        self.earlier_keys = f"{qualify}{prefix}case_keys_earlier"
        self.grants = f"{qualify}sync_key_grants"
        self.devices = f"{qualify}{prefix}device_keys"
        self.assignments = f"{qualify}sync_assignments"
        self.ended = f"{qualify}sync_assignments_ended"
        self.openers = f"{qualify}sync_case_openers"
        self.openers_tracking = f"{qualify}sync_openers_position"
        self.generations = f"{qualify}generations"
        self.tree = f"{qualify}{prefix}tree_state"
        self.runs = f"{qualify}{prefix}tree_leaf_runs"
        self.nodes = f"{qualify}{prefix}tree_nodes"
        self.heads = f"{qualify}{prefix}tree_heads"

    def create(self) -> list[str]:
        """The statements that make the tables (and their indexes) if they are missing."""
        b = self.blob
        return [
            f"CREATE TABLE IF NOT EXISTS {self.batches} (batch_id TEXT PRIMARY KEY, "
            f"device_id TEXT NOT NULL, received_at BIGINT NOT NULL, digests {b} NOT NULL, "
            f"signature {b} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.index} (event_id TEXT PRIMARY KEY, "
            f"case_id TEXT NOT NULL, seq BIGINT NOT NULL){self.without_rowid}",
            f"CREATE TABLE IF NOT EXISTS {self.keys} (case_id TEXT PRIMARY KEY, "
            f"key_id TEXT NOT NULL, wrapped {b}, destroyed_at BIGINT)",
            f"CREATE TABLE IF NOT EXISTS {self.earlier_keys} (case_id TEXT NOT NULL, key_id TEXT NOT NULL, "
            f"wrapped {b} NOT NULL, replaced_at BIGINT NOT NULL, PRIMARY KEY (case_id, key_id))",
            f"CREATE TABLE IF NOT EXISTS {self.grants} (device_id TEXT NOT NULL, case_id TEXT NOT NULL, "
            "key_id TEXT NOT NULL, granted_at BIGINT NOT NULL, cursor BIGINT NOT NULL, "
            "PRIMARY KEY (device_id, case_id, key_id))",
            f"CREATE INDEX IF NOT EXISTS sync_key_grants_case ON {self.grants} (case_id, key_id)",
            f"CREATE TABLE IF NOT EXISTS {self.devices} (device_id TEXT PRIMARY KEY, "
            f"signing_key {b} NOT NULL, agreement_key {b} NOT NULL, worker TEXT NOT NULL, "
            "enrolled_at BIGINT NOT NULL, revoked_at BIGINT)",
            f"CREATE TABLE IF NOT EXISTS {self.assignments} (case_id TEXT NOT NULL, "
            "worker TEXT NOT NULL, PRIMARY KEY (case_id, worker))",
            f"CREATE TABLE IF NOT EXISTS {self.ended} (case_id TEXT NOT NULL, "
            "worker TEXT NOT NULL, PRIMARY KEY (case_id, worker))",
            f"CREATE TABLE IF NOT EXISTS {self.openers} (case_id TEXT PRIMARY KEY, worker TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.openers_tracking} (position BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS sync_assignments_worker ON {self.assignments} (worker)",
            f"CREATE INDEX IF NOT EXISTS sync_case_openers_worker ON {self.openers} (worker)",
            f"CREATE TABLE IF NOT EXISTS {self.generations} (kind TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            f"INSERT INTO {self.generations} (kind, value) VALUES "
            + ", ".join(f"('{kind}', 0)" for kind in KINDS)
            + " ON CONFLICT (kind) DO NOTHING",
            *self._create_tree(),
        ]

    def _create_tree(self) -> list[str]:
        """The Merkle tree over the log (`core.merkle`) as `core.treerows` lays it out: its
        size, right edge (of the leaves folded so far, `core.treerows.pack_edge`) and last
        leaf's position in one row (also the lock every append and fold takes), runs of
        packed leaf hashes, the complete subtrees of a block and up, and every signed head."""
        b = self.blob
        return [
            f"CREATE TABLE IF NOT EXISTS {self.tree} (id INTEGER PRIMARY KEY, size BIGINT NOT NULL, "
            f"edge {b} NOT NULL, position BIGINT NOT NULL)",
            f"INSERT INTO {self.tree} (id, size, edge, position) VALUES (1, 0, CAST('' AS {b}), 0) "
            "ON CONFLICT (id) DO NOTHING",
            f"CREATE TABLE IF NOT EXISTS {self.runs} (leaf BIGINT PRIMARY KEY, "
            f"position BIGINT NOT NULL UNIQUE, hashes {b} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.nodes} (level INTEGER NOT NULL, idx BIGINT NOT NULL, "
            f"hash {b} NOT NULL, PRIMARY KEY (level, idx)){self.without_rowid}",
            f"CREATE TABLE IF NOT EXISTS {self.heads} (size BIGINT PRIMARY KEY, root {b} NOT NULL, "
            f"signed_at BIGINT NOT NULL, signature {b} NOT NULL)",
        ]

    def lock_tree(self) -> str:
        """The statement that takes the tree's row lock (PostgreSQL) or the database's
        write lock (SQLite) for the rest of the transaction, and reads the tree's size,
        right edge and last leaf's position."""
        return f"UPDATE {self.tree} SET size=size WHERE id=1 RETURNING size, edge, position"

    def bump(self) -> str:
        """The statement that moves one kind's generation on (its one parameter: the kind)."""
        return f"UPDATE {self.generations} SET value=value+1 WHERE kind={self.p}"

    def insert_batch(self) -> str:
        """Keep a batch's signed manifest."""
        p = self.p
        # A batch re-sent with the same id and the same manifest keeps the first. The same
        # id with another device or other digests must never be stored beside it: the
        # update then sets the NOT NULL `received_at` to NULL, which fails the whole
        # append's transaction (IntegrityError) even when two writers race; the log then
        # looks the manifest up and says why (`core.log.CaseLog.append`).
        return (
            f"INSERT INTO {self.batches} AS b VALUES ({p},{p},{p},{p},{p}) ON CONFLICT (batch_id) DO UPDATE "
            "SET received_at = CASE WHEN b.device_id = excluded.device_id AND b.digests = excluded.digests "
            "THEN b.received_at ELSE NULL END"
        )

    def insert_index(self) -> str:
        """Index an event id at its case and sequence."""
        p = self.p
        return f"INSERT INTO {self.index} VALUES ({p},{p},{p})"

    def insert_key(self) -> str:
        """Keep a case key wrapped under the KEK."""
        p = self.p
        return f"INSERT INTO {self.keys} (case_id, key_id, wrapped) VALUES ({p},{p},{p})"


ExecuteMany = Callable[[str, Sequence[Sequence[Any]]], Any]
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
"""A statement that returns rows, run on a write transaction's cursor; its rows."""


def _runs(rows: Iterable[Sequence[Any]]) -> list[tuple[int, int, bytes]]:
    return [(int(r[0]), int(r[1]), bytes(r[2])) for r in rows]


def write_extras(
    execute_many: ExecuteMany,
    t: LogTables,
    batches: Sequence[Sequence[Any]] = (),
    index: Sequence[Sequence[Any]] = (),
    keys: Sequence[Sequence[Any]] = (),
    writes: Sequence[tuple[str, Sequence[Any]]] = (),
) -> None:
    """Write the batch seal, event index and new case keys that travel with an append,
    and the rows an administrative event explains (`core.adminlog`)."""
    for statement, params in writes:
        execute_many(statement, [params])
    if batches:
        execute_many(t.insert_batch(), batches)
    if index:
        execute_many(t.insert_index(), index)
    if keys:
        execute_many(t.insert_key(), keys)


def _device(r: Sequence[Any]) -> Device:
    return Device(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], r[5])


@lru_cache(maxsize=65_536)  # a page repeats its cases; a caseload asks about the same ones
def case_text(value: Any) -> str:
    """A case id as text, from the UUID or hex the events table holds."""
    return str(value if isinstance(value, UUID) else UUID(str(value)))


@lru_cache(maxsize=65_536)
def is_case_id(text: str) -> bool:
    """Whether `text` is a case id in its canonical form (a lower-case UUID with dashes)."""
    try:
        return str(UUID(text)) == text
    except ValueError:
        return False


class LogQueries(ABC):
    """The SQL of `LogStore`, written once; a backend subclass supplies `run`, `append`,
    the events table and how it stores case ids."""

    tables: LogTables
    events_table: str  # the library's events table, schema-qualified where needed
    position: str  # its column of global positions
    _DEVICE = "device_id, worker, signing_key, agreement_key, enrolled_at, revoked_at"

    @abstractmethod
    def run(self, statement: str, params: Sequence[Any] = (), *, commit: bool = False) -> list[tuple[Any, ...]]:
        """Supplied by each backend."""

    @abstractmethod
    def commit_writes(self, writes: Sequence[Write]) -> None:
        """Supplied by each backend."""

    def generations(self) -> dict[str, int]:
        rows = self.run(f"SELECT kind, value FROM {self.tables.generations}")
        return {str(kind): int(value) for kind, value in rows}

    def bump(self, kind: str) -> None:
        self.commit_writes([(self.tables.bump(), (kind,))])

    def erased_cases(self) -> list[str]:
        t = self.tables
        return [r[0] for r in self.run(f"SELECT case_id FROM {t.keys} WHERE destroyed_at IS NOT NULL ORDER BY case_id")]

    @abstractmethod
    def stored_case_id(self, case_id: str) -> Any:
        """A case id as the events table's originator id column holds it."""

    def _in(self, items: Sequence[Any]) -> str:
        return ",".join([self.tables.p] * len(items))

    # -- events ------------------------------------------------------------------------
    def max_position(self) -> int:
        rows = self.run(f"SELECT MAX({self.position}) FROM {self.events_table}")
        return int(rows[0][0] or 0)

    def last_event(self, case_id: str) -> tuple[int, bytes] | None:
        p = self.tables.p
        rows = self.run(
            f"SELECT originator_version, state FROM {self.events_table} WHERE originator_id={p} "
            "ORDER BY originator_version DESC LIMIT 1",
            (self.stored_case_id(case_id),),
        )
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def read(self, after: int, limit: int) -> list[EventRow]:
        p, position = self.tables.p, self.position
        return self.run(
            f"SELECT {position}, originator_version, state FROM {self.events_table} "
            f"WHERE {position}>{p} AND topic<>{p} ORDER BY {position} LIMIT {p}",
            (after, ADMIN_TOPIC, limit),
        )

    def case_events(
        self, case_id: str, after: int = 0, upto: int | None = None, topics: Sequence[str] = ()
    ) -> list[EventRow]:
        p = self.tables.p
        sql = (
            f"SELECT {self.position}, originator_version, state FROM {self.events_table} "
            f"WHERE originator_id={p} AND originator_version>{p}"
        )
        params: list[Any] = [self.stored_case_id(case_id), after]
        if upto is not None:
            sql += f" AND originator_version<={p}"
            params.append(upto)
        if topics:
            sql += f" AND topic IN ({self._in(topics)})"
            params.extend(topics)
        return self.run(sql + " ORDER BY originator_version", params)

    def page(self, case_ids: Sequence[str], after: int, upto: int, limit: int) -> list[EventRow]:
        ids = [self.stored_case_id(c) for c in case_ids if is_case_id(c)]
        p, position = self.tables.p, self.position
        rows: list[Any] = []
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            rows.extend(
                self.run(
                    f"SELECT {position}, originator_version, state FROM {self.events_table} "
                    f"WHERE originator_id IN ({self._in(chunk)}) AND {position}>{p} AND {position}<={p} "
                    f"ORDER BY {position} LIMIT {int(limit)}",
                    [*chunk, after, upto],
                )
            )
        rows.sort(key=itemgetter(0))
        return rows[:limit]

    def case_tails(self, afters: Mapping[str, int]) -> list[EventRow]:
        pairs = [(self.stored_case_id(c), int(after)) for c, after in afters.items() if is_case_id(c)]
        p = self.tables.p
        rows: list[Any] = []
        for i in range(0, len(pairs), CHUNK // 2):
            chunk = pairs[i : i + CHUNK // 2]
            either = " OR ".join(f"(originator_id={p} AND originator_version>{p})" for _ in chunk)
            rows.extend(
                self.run(
                    f"SELECT {self.position}, originator_version, state FROM {self.events_table} "
                    f"WHERE {either} ORDER BY originator_id, originator_version",
                    [value for pair in chunk for value in pair],
                )
            )
        return rows

    def cases_with_events_upto(self, case_ids: Sequence[str], upto: int) -> list[str]:
        ids = [self.stored_case_id(c) for c in case_ids if is_case_id(c)]
        found: set[str] = set()
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            for (cid,) in self.run(
                f"SELECT DISTINCT originator_id FROM {self.events_table} "
                f"WHERE originator_id IN ({self._in(chunk)}) AND {self.position}<={self.tables.p}",
                [*chunk, upto],
            ):
                found.add(case_text(cid))
        return sorted(found)

    def last_seqs(self, case_ids: Sequence[str]) -> dict[str, int]:
        ids = [self.stored_case_id(c) for c in case_ids if is_case_id(c)]
        found: dict[str, int] = {}
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            for cid, seq in self.run(
                f"SELECT originator_id, MAX(originator_version) FROM {self.events_table} "
                f"WHERE originator_id IN ({self._in(chunk)}) GROUP BY originator_id",
                chunk,
            ):
                found[case_text(cid)] = int(seq)
        return found

    def notifications(self, after: int, limit: int, topics: Sequence[str] = ()) -> list[StoredRow]:
        p, position = self.tables.p, self.position
        where = f" AND topic IN ({self._in(topics)})" if topics else ""
        rows = self.run(
            f"SELECT {position}, originator_id, originator_version, topic, state FROM {self.events_table} "
            f"WHERE {position}>{p}{where} ORDER BY {position} LIMIT {p}",
            [after, *topics, limit],
        )
        return [StoredRow(r[0], case_text(r[1]), r[2], r[3], bytes(r[4])) for r in rows]

    def find(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        for i in range(0, len(event_ids), CHUNK):
            chunk = list(event_ids[i : i + CHUNK])
            for event_id, case_id, seq in self.run(
                f"SELECT event_id, case_id, seq FROM {self.tables.index} WHERE event_id IN ({self._in(chunk)})", chunk
            ):
                found[event_id] = (case_id, seq)
        return found

    def event_index(self) -> dict[str, tuple[str, int]]:
        return {r[0]: (r[1], r[2]) for r in self.run(f"SELECT event_id, case_id, seq FROM {self.tables.index}")}

    def batch(self, batch_id: str) -> BatchSeal | None:
        return self.batches([batch_id]).get(batch_id)

    def batches(self, batch_ids: Sequence[str]) -> dict[str, BatchSeal]:
        t = self.tables
        found: dict[str, BatchSeal] = {}
        wanted = sorted(set(batch_ids))
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i : i + CHUNK]
            rows = self.run(
                f"SELECT batch_id, device_id, digests, signature FROM {t.batches} "
                f"WHERE batch_id IN ({', '.join([t.p] * len(chunk))})",
                chunk,
            )
            for batch_id, device_id, digests, signature in rows:
                packed = bytes(digests)
                hashes = tuple(packed[k : k + 32] for k in range(0, len(packed), 32))
                found[batch_id] = BatchSeal(batch_id, device_id, hashes, bytes(signature))
        return found

    # -- the Merkle tree (core.merkle, laid out as core.treerows) ------------------------
    @abstractmethod
    def _writing(self) -> AbstractContextManager[tuple[Query, ExecuteMany]]:
        """A write transaction, as a query and an executemany on its cursor; by each backend."""

    def grow_tree(
        self,
        query: Query,
        execute_many: ExecuteMany,
        positions: Sequence[int],
        rows: Sequence[Row],
        digests: Sequence[bytes] = (),
    ) -> None:
        """Add stored events, given as their rising positions and the rows stored there,
        to the log's Merkle tree, in the caller's transaction; `digests` are their sealed
        bytes' SHA-256 when the caller has them. Their leaves are stored here, with the
        event; the subtrees above them are hashed later, in one pass (`fold_tree`).

        The tree's row is locked (`LogTables.lock_tree`) as its size is read,
        so two writers never give out one leaf index. Events stored meanwhile without a
        leaf (a server older than the tree still writing to the same database) are added
        first, so leaves follow positions.
        """
        if not rows:
            return
        t, p = self.tables, self.tables.p
        size, edge, last = query(t.lock_tree(), ())[0]
        if positions[0] != last + 1:
            missed, missed_rows = self._events_between(query, int(last), positions[0])
            if missed:
                positions, rows, digests = [*missed, *positions], [*missed_rows, *rows], ()
        hashes = leaf_hashes(positions, rows, digests)
        execute_many(
            f"INSERT INTO {t.runs} (leaf, position, hashes) VALUES ({p},{p},{p})", runs(int(size), positions, hashes)
        )
        execute_many(
            f"UPDATE {t.tree} SET size={p}, edge={p}, position={p} WHERE id=1",
            [(int(size) + len(hashes), folded_edge(int(size), bytes(edge)), positions[-1])],
        )

    def _events_between(
        self, query: Query, after: int, before: int, limit: int | None = None
    ) -> tuple[list[int], list[Row]]:
        """The positions and rows of the stored events with positions in (after, before)."""
        position = self.position
        found = query(
            f"SELECT {position}, originator_id, originator_version, topic, state FROM {self.events_table} "
            f"WHERE {position} > {self.tables.p} AND {position} < {self.tables.p} ORDER BY {position}"
            + ("" if limit is None else f" LIMIT {int(limit)}"),
            (after, before),
        )
        return [int(r[0]) for r in found], [(case_text(r[1]), int(r[2]), r[3], bytes(r[4])) for r in found]

    def grow_tree_from_log(self, page: int = 5000) -> int:
        """Add the stored events the tree does not hold yet (a log made before it had
        one), a page per transaction; how many."""
        total = 0
        while True:
            with self._writing() as (query, execute_many):
                added = self._catch_up(query, execute_many, page)
            total += added
            if added < page:
                return total

    def _catch_up(self, query: Query, execute_many: ExecuteMany, page: int) -> int:
        """Add up to `page` stored events the tree does not hold yet, in the caller's
        transaction, under the tree's lock (taken before the events are read, so no
        appender slips a later leaf in between); how many were added."""
        last = query(self.tables.lock_tree(), ())[0][2]
        positions, rows = self._events_between(query, int(last), 1 << 62, page)
        self.grow_tree(query, execute_many, positions, rows)
        return len(rows)

    def tree_size(self) -> int:
        """How many leaves the tree holds, once the subtrees above them are hashed."""
        size, edge = self.run(f"SELECT size, edge FROM {self.tables.tree} WHERE id=1")[0]
        if unpack_edge(int(size), bytes(edge)).size < size:
            return self.fold_tree()
        return int(size)

    def fold_tree(self, page: int = FOLD) -> int:
        """Hash the subtrees (of a block and up) above the leaves the appends stored since
        the last fold, a page of leaves per transaction under the tree's lock (so a
        second folder waits, then finds them folded); the tree's size.

        An append stores only its leaves: hashing the subtrees above them, as many
        again, waits until a head or proof needs them, and then costs one pass."""
        t, p = self.tables, self.tables.p
        while True:
            with self._writing() as (query, execute_many):
                size, edge, _ = query(t.lock_tree(), ())[0]
                frontier = unpack_edge(int(size), bytes(edge))
                start, end = frontier.size, min(int(size), frontier.size + page)
                if start >= end:
                    return int(size)
                rows = query(
                    f"SELECT leaf, position, hashes FROM {t.runs} WHERE leaf<{p} AND leaf>="
                    f"(SELECT COALESCE(MAX(leaf), 0) FROM {t.runs} WHERE leaf<={p}) ORDER BY leaf",
                    (end, start),
                )
                hashes = [h for leaf, _, h in leaves_of(_runs(rows)) if start <= leaf < end]
                if len(hashes) != end - start:
                    raise CodecError(f"the stored tree lacks leaves among {start} to {end - 1}: it was changed")
                nodes = frontier.grow(hashes, keep_from=BLOCK_LEVEL)
                if nodes:
                    execute_many(f"INSERT INTO {t.nodes} (level, idx, hash) VALUES ({p},{p},{p})", nodes)
                execute_many(f"UPDATE {t.tree} SET edge={p} WHERE id=1", [(pack_edge(frontier),)])

    def tree_nodes(self, nodes: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        t, p = self.tables, self.tables.p
        wanted = sorted(set(nodes))
        low = [n for n in wanted if n[0] < BLOCK_LEVEL]
        upper = [n for n in wanted if n[0] >= BLOCK_LEVEL]
        found = low_nodes(low, self._block_leaves(sorted({block_of(n) for n in low}))) if low else {}
        for i in range(0, len(upper), CHUNK // 2):
            pairs = upper[i : i + CHUNK // 2]
            where = " OR ".join([f"(level={p} AND idx={p})"] * len(pairs))
            for level, idx, h in self.run(
                f"SELECT level, idx, hash FROM {t.nodes} WHERE {where}", [v for n in pairs for v in n]
            ):
                found[(int(level), int(idx))] = bytes(h)
        return found

    def _block_leaves(self, blocks: Sequence[int]) -> dict[int, bytes]:
        """The leaf hashes by index of whole blocks (a proof needs at most a few)."""
        t, p = self.tables, self.tables.p
        leaves: dict[int, bytes] = {}
        for i in range(0, len(blocks), CHUNK // 2):
            chunk = blocks[i : i + CHUNK // 2]
            where = " OR ".join([f"(leaf>={p} AND leaf<{p})"] * len(chunk))
            rows = self.run(
                f"SELECT leaf, position, hashes FROM {t.runs} WHERE {where}",
                [v for b in chunk for v in (b * BLOCK, (b + 1) * BLOCK)],
            )
            leaves.update((leaf, h) for leaf, _, h in leaves_of(_runs(rows)))
        return leaves

    def tree_leaves(self, after: int, limit: int) -> list[tuple[int, int, bytes]]:
        t, p = self.tables, self.tables.p
        rows = self.run(
            f"SELECT leaf, position, hashes FROM {t.runs} WHERE leaf<{p} AND leaf>="
            f"(SELECT COALESCE(MAX(leaf), 0) FROM {t.runs} WHERE leaf<={p}) ORDER BY leaf",
            (after + limit, after),
        )
        return [found for found in leaves_of(_runs(rows)) if after <= found[0] < after + limit]

    def leaf_of(self, position: int) -> int | None:
        t = self.tables
        rows = self.run(
            f"SELECT leaf, position, hashes FROM {t.runs} WHERE position<={t.p} ORDER BY position DESC LIMIT 1",
            (position,),
        )
        if not rows:
            return None
        leaf, first, packed = _runs(rows)[0]
        return leaf + position - first if position - first < len(packed) // 32 else None

    def leaf_indices(self, positions: Sequence[int]) -> dict[int, int]:
        t, p = self.tables, self.tables.p
        wanted = sorted(set(positions))
        starts: list[tuple[int, int, int]] = []
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i : i + CHUNK]
            runs_of = ", ".join([f"(SELECT MAX(position) FROM {t.runs} WHERE position<={p})"] * len(chunk))
            rows = self.run(f"SELECT position, leaf, LENGTH(hashes) FROM {t.runs} WHERE position IN ({runs_of})", chunk)
            starts.extend((int(r[0]), int(r[1]), int(r[2]) // 32) for r in rows)
        starts.sort()
        found: dict[int, int] = {}
        for position in wanted:
            at = bisect_right(starts, (position, 1 << 62, 0)) - 1
            if at >= 0 and position - starts[at][0] < starts[at][2]:
                found[position] = starts[at][1] + position - starts[at][0]
        return found

    def add_tree_head(self, size: int, root: bytes, signed_at: int, signature: bytes) -> None:
        t, p = self.tables, self.tables.p
        self.run(
            f"INSERT INTO {t.heads} (size, root, signed_at, signature) VALUES ({p},{p},{p},{p}) "
            "ON CONFLICT (size) DO NOTHING",
            (size, root, signed_at, signature),
            commit=True,
        )

    def tree_heads(self, *, latest: bool = False) -> list[tuple[int, bytes, int, bytes]]:
        order = "DESC LIMIT 1" if latest else ""
        rows = self.run(f"SELECT size, root, signed_at, signature FROM {self.tables.heads} ORDER BY size {order}")
        return [(int(r[0]), bytes(r[1]), int(r[2]), bytes(r[3])) for r in rows]

    # -- case keys ---------------------------------------------------------------------
    def case_key(self, case_id: str) -> StoredKey | None:
        t = self.tables
        rows = self.run(f"SELECT key_id, wrapped, destroyed_at FROM {t.keys} WHERE case_id={t.p}", (case_id,))
        if not rows:
            return None
        key_id, wrapped, destroyed_at = rows[0]
        return StoredKey(key_id, None if wrapped is None else bytes(wrapped), destroyed_at)

    def case_keys_of(self, case_ids: Sequence[str]) -> dict[str, StoredKey]:
        t = self.tables
        found: dict[str, StoredKey] = {}
        ids = list(case_ids)
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            for case_id, key_id, wrapped, destroyed_at in self.run(
                f"SELECT case_id, key_id, wrapped, destroyed_at FROM {t.keys} WHERE case_id IN ({self._in(chunk)})",
                chunk,
            ):
                found[case_id] = StoredKey(key_id, None if wrapped is None else bytes(wrapped), destroyed_at)
        return found

    def earlier_keys(self, case_id: str) -> list[tuple[str, bytes]]:
        t = self.tables
        rows = self.run(
            f"SELECT key_id, wrapped FROM {t.earlier_keys} WHERE case_id={t.p} ORDER BY replaced_at, key_id",
            (case_id,),
        )
        return [(r[0], bytes(r[1])) for r in rows]

    def rotate_key(self, case_id: str, key_id: str, wrapped: bytes, at: int) -> bool:
        t = self.tables
        p = t.p
        current = self.case_key(case_id)
        if current is None or current.wrapped is None:
            return False
        self.commit_writes(
            [
                (
                    f"INSERT INTO {t.earlier_keys} VALUES ({p},{p},{p},{p}) ON CONFLICT (case_id, key_id) DO NOTHING",
                    (case_id, current.key_id, current.wrapped, at),
                ),
                (
                    f"UPDATE {t.keys} SET key_id={p}, wrapped={p} "
                    f"WHERE case_id={p} AND key_id={p} AND destroyed_at IS NULL",
                    (key_id, wrapped, case_id, current.key_id),
                ),
            ]
        )
        return True

    def key_ids(self, case_ids: Sequence[str]) -> dict[str, list[str]]:
        t = self.tables
        ids = sorted(c for c in case_ids if is_case_id(c))
        found: dict[str, list[str]] = {}
        current: dict[str, str] = {}
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            for case_id, key_id in self.run(
                f"SELECT case_id, key_id FROM {t.earlier_keys} WHERE case_id IN ({self._in(chunk)}) "
                "ORDER BY replaced_at, key_id",
                chunk,
            ):
                found.setdefault(case_id, []).append(key_id)
            for case_id, key_id in self.run(
                f"SELECT case_id, key_id FROM {t.keys} WHERE case_id IN ({self._in(chunk)}) AND wrapped IS NOT NULL",
                chunk,
            ):
                current[case_id] = key_id
        return {case_id: [*found.get(case_id, []), key_id] for case_id, key_id in current.items()}

    # -- key grants ----------------------------------------------------------------------
    def grant_rows(self, device_id: str, case_ids: Sequence[str]) -> list[tuple[str, str, int]]:
        t = self.tables
        ids = sorted(c for c in case_ids if is_case_id(c))
        found: list[tuple[str, str, int]] = []
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            found.extend(
                (r[0], r[1], int(r[2]))
                for r in self.run(
                    f"SELECT case_id, key_id, cursor FROM {t.grants} "
                    f"WHERE device_id={t.p} AND case_id IN ({self._in(chunk)})",
                    (device_id, *chunk),
                )
            )
        return found

    def add_grants(self, device_id: str, granted: Sequence[tuple[str, str]], at: int, cursor: int) -> None:
        t = self.tables
        p = t.p
        if granted:
            self.commit_writes(
                [
                    (
                        f"INSERT INTO {t.grants} VALUES ({p},{p},{p},{p},{p}) "
                        "ON CONFLICT (device_id, case_id, key_id) DO NOTHING",
                        (device_id, case_id, key_id, at, cursor),
                    )
                    for case_id, key_id in granted
                ]
            )

    def granted_devices(self, case_id: str, key_id: str) -> list[str]:
        t = self.tables
        rows = self.run(
            f"SELECT device_id FROM {t.grants} WHERE case_id={t.p} AND key_id={t.p} ORDER BY device_id",
            (case_id, key_id),
        )
        return [r[0] for r in rows]

    def granted_cases(self, device_ids: Sequence[str]) -> list[str]:
        t = self.tables
        if not device_ids:
            return []
        rows = self.run(
            f"SELECT DISTINCT case_id FROM {t.grants} WHERE device_id IN ({self._in(device_ids)}) ORDER BY case_id",
            list(device_ids),
        )
        return [r[0] for r in rows]

    def has_key(self, case_id: str) -> bool:
        t = self.tables
        return bool(self.run(f"SELECT 1 FROM {t.keys} WHERE case_id={t.p}", (case_id,)))

    def add_key(self, case_id: str, key_id: str, wrapped: bytes) -> None:
        self.run(self.tables.insert_key(), (case_id, key_id, wrapped), commit=True)

    def destroy_key(self, case_id: str, at: int) -> None:
        t = self.tables
        self.commit_writes(
            [
                (f"UPDATE {t.keys} SET wrapped=NULL, destroyed_at={t.p} WHERE case_id={t.p}", (at, case_id)),
                (f"DELETE FROM {t.earlier_keys} WHERE case_id={t.p}", (case_id,)),
                (t.bump(), (ERASURES,)),
            ]
        )

    def case_ids(self, among: Iterable[str] | None = None) -> list[str]:
        t = self.tables
        if among is None:
            return [r[0] for r in self.run(f"SELECT case_id FROM {t.keys} ORDER BY case_id")]
        ids = [c for c in among if is_case_id(c)]
        known: list[str] = []
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            known.extend(
                r[0] for r in self.run(f"SELECT case_id FROM {t.keys} WHERE case_id IN ({self._in(chunk)})", chunk)
            )
        return sorted(known)

    # -- devices -----------------------------------------------------------------------
    def add_device(self, device: Device) -> None:
        self.commit_writes(self.device_writes(device))

    def device_writes(self, device: Device) -> list[Write]:
        t = self.tables
        d = device
        return [
            (
                f"INSERT INTO {t.devices} ({self._DEVICE}) VALUES ({t.p},{t.p},{t.p},{t.p},{t.p},{t.p})",
                (d.device_id, d.worker, d.signing_key, d.agreement_key, d.enrolled_at, d.revoked_at),
            )
        ]

    def revoke_device(self, device_id: str, at: int) -> None:
        self.commit_writes(self.revoke_writes(device_id, at))

    def revoke_writes(self, device_id: str, at: int) -> list[Write]:
        t = self.tables
        return [
            (
                f"UPDATE {t.devices} SET revoked_at={t.p} WHERE device_id={t.p} AND revoked_at IS NULL",
                (at, device_id),
            ),
            (t.bump(), (DEVICES,)),
        ]

    def device(self, device_id: str) -> Device | None:
        t = self.tables
        rows = self.run(f"SELECT {self._DEVICE} FROM {t.devices} WHERE device_id={t.p}", (device_id,))
        return _device(rows[0]) if rows else None

    def devices(self) -> list[Device]:
        return [_device(r) for r in self.run(f"SELECT {self._DEVICE} FROM {self.tables.devices} ORDER BY enrolled_at")]

    # -- caseloads ---------------------------------------------------------------------
    def assign(self, case_id: str, worker: str) -> bool:
        t = self.tables
        p = t.p
        if self.run(f"SELECT 1 FROM {t.assignments} WHERE case_id={p} AND worker={p}", (case_id, worker)):
            return False
        try:
            self.commit_writes(
                [(f"INSERT INTO {t.assignments} VALUES ({p},{p})", (case_id, worker)), (t.bump(), (ASSIGNMENTS,))]
            )
        except IntegrityError:
            return False  # assigned meanwhile by another request
        return True

    def unassign(self, case_id: str, worker: str) -> bool:
        t = self.tables
        p = t.p
        if not self.run(f"SELECT 1 FROM {t.assignments} WHERE case_id={p} AND worker={p}", (case_id, worker)):
            return False
        # Kept first: a crash in between leaves a case both assigned and ended, never neither.
        self.run(
            f"INSERT INTO {t.ended} VALUES ({p},{p}) ON CONFLICT (case_id, worker) DO NOTHING",
            (case_id, worker),
            commit=True,
        )
        self.commit_writes(
            [
                (f"DELETE FROM {t.assignments} WHERE case_id={p} AND worker={p}", (case_id, worker)),
                (t.bump(), (ASSIGNMENTS,)),
            ]
        )
        return True

    def formerly_assigned(self, worker: str, among: Iterable[str]) -> list[str]:
        t = self.tables
        ids = sorted(c for c in among if is_case_id(c))
        found: list[str] = []
        for i in range(0, len(ids), CHUNK):
            chunk = ids[i : i + CHUNK]
            found.extend(
                r[0]
                for r in self.run(
                    f"SELECT case_id FROM {t.ended} WHERE worker={t.p} AND case_id IN ({self._in(chunk)})",
                    (worker, *chunk),
                )
            )
        return sorted(found)

    def assigned(self, worker: str) -> list[str]:
        t = self.tables
        rows = self.run(f"SELECT case_id FROM {t.assignments} WHERE worker={t.p} ORDER BY case_id", (worker,))
        return [r[0] for r in rows]

    def openers_position(self) -> int:
        t = self.tables
        rows = self.run(f"SELECT position FROM {t.openers_tracking}")
        if rows:
            return int(rows[0][0])
        self.run(f"INSERT INTO {t.openers_tracking} VALUES (0)", commit=True)
        return 0

    def add_openers(self, found: Iterable[tuple[str, str]], position: int) -> None:
        t = self.tables
        p = t.p
        for case_id, worker in found:
            if self.run(f"SELECT 1 FROM {t.openers} WHERE case_id={p}", (case_id,)):
                continue
            try:
                self.run(f"INSERT INTO {t.openers} VALUES ({p},{p})", (case_id, worker), commit=True)
            except IntegrityError:
                continue  # another thread or server instance indexed it first
        self.run(f"UPDATE {t.openers_tracking} SET position={p}", (position,), commit=True)

    def opened_by(self, worker: str) -> list[str]:
        t = self.tables
        rows = self.run(f"SELECT case_id FROM {t.openers} WHERE worker={t.p} ORDER BY case_id", (worker,))
        return [r[0] for r in rows]
