"""The eventsourcing library's application recorders, extended into the case log's `LogStore`.

The case log stores one library *stored event* per case event (originator id = case id,
originator version = case sequence, topic = event type, state = the server's envelope
around the sealed bytes). Beside the library's events table it keeps, written in the
same transaction as the events they belong to:

- ``batches``: each pushed batch's signed manifest (device, digests, signature); an id
  is kept for one manifest only, so the same id with other events fails the append;
- ``event_index``: event id -> (case, sequence), which makes pushes idempotent;
- ``case_keys``: each case key wrapped under the key-encryption key (erasure clears it,
  and on PostgreSQL rewrites the table so no old row version keeps it);
- ``device_keys``: enrolled devices' public keys and revocation, for verification;

and, beside them, the caseloads that decide what a device pulls (``sync_assignments``,
``sync_case_openers`` and the position ``sync_openers_position`` they were indexed up to),
and ``sync_assignments_ended``, the assignments that ended: a pull names only those cases
for a device to drop.

The SQL of those tables and of the reads of the library's events table is written once,
in `core.logtables`; one subclass per backend here (SQLite, PostgreSQL) adds what
differs: placeholders, how case ids and positions are stored, how a transaction is run,
and the positions that views track. `core.logstore` is the seam the rest of the code sees.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL

from core.checkpoint import BACKSTOP_PAGES, Checkpointer, truncate_wal
from core.errors import CoreError
from core.heads import CaseHeads, PostgresHeads, SQLiteHeads
from core.logstore import Row, Write
from core.logtables import ExecuteMany, LogQueries, LogTables, Query, write_extras

#: How long the rewrite of the case keys' table waits for readers to let go of it.
VACUUM_LOCK_TIMEOUT = "10s"


def _tune_connections(datastore: SQLiteDatastore) -> None:
    """WAL with synchronous=NORMAL on every connection the library opens, checkpoints
    mostly left to a background `Checkpointer` (see `core.checkpoint`).

    A commit then survives a crash of the process; after a power loss the newest commits
    may roll back (never corrupt). Laptops keep every event until they have pulled its
    confirmed copy back, so such a roll-back loses nothing: the laptop pushes it again.

    The library offers no hook for connection settings, so this wraps its pool's
    connection factory: the one place that reaches into the library's internals.
    """
    pool = datastore.pool
    if getattr(pool, "_tovholder_tuned", False):
        return
    create = pool._create_connection

    def tuned() -> Any:
        connection = create()
        # A per-connection setting: every connection that deletes (a destroyed case key)
        # must overwrite the freed bytes with zeros, not only the one that made the tables.
        connection._sqlite_conn.execute("PRAGMA secure_delete=ON")
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        connection._sqlite_conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        return connection

    pool._create_connection = tuned  # type: ignore[method-assign]
    pool._tovholder_tuned = True  # type: ignore[attr-defined]


def _sqlite_query(c: SQLiteCursor) -> Query:
    def query(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        c.execute(statement, params)
        return [tuple(r) for r in c.fetchall()]

    return query


def _postgres_query(curs: Any) -> Query:
    # Only for statements that return rows: inside the library's insert the connection is
    # in pipeline mode, where a result (and so `description`) is there only once fetched.
    def query(statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        curs.execute(statement, params)
        return [tuple(r.values()) for r in curs.fetchall()]

    return query


def _commit_writes(execute_many: ExecuteMany, writes: Sequence[Write]) -> None:
    # Runs of the same statement go to the database as one executemany.
    for statement, run in groupby(writes, key=itemgetter(0)):
        execute_many(statement, [params for _, params in run])


class SQLiteCaseLogRecorder(LogQueries, SQLiteApplicationRecorder):
    """SQLite: the library's events table plus the log tables, in one transaction."""

    position = "rowid"

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.tables = LogTables("", "?", "BLOB")
        super().__init__(datastore, events_table_name)
        self.events_table = events_table_name
        _tune_connections(datastore)
        memory = datastore.pool.is_sqlite_memory_mode
        self.checkpointer = None if memory else Checkpointer(datastore.pool.db_name)
        self.heads: CaseHeads | None = (
            None if memory else SQLiteHeads(datastore.pool.db_name, events_table_name, self.tables.generations)
        )
        self._tracker: SQLiteTrackingRecorder | None = None

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.tables.create()]

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")
        super().create_table()

    def stored_case_id(self, case_id: str) -> Any:
        return UUID(case_id).hex

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        write_extras(
            c.executemany,
            self.tables,
            kwargs.get("batches", ()),
            kwargs.get("index", ()),
            kwargs.get("keys", ()),
            kwargs.get("writes", ()),
        )
        if not stored_events:
            return []
        # One executemany: rowids of a rowid table are allocated max+1, in order, inside
        # the write transaction, so the notification ids are the last N allocated.
        c.executemany(
            self.insert_events_statement,
            [(UUID(str(s.originator_id)).hex, s.originator_version, s.topic, s.state) for s in stored_events],
        )
        c.execute("SELECT last_insert_rowid()")
        last = c.fetchone()[0]
        positions = list(range(last - len(stored_events) + 1, last + 1))
        self.grow_tree(
            _sqlite_query(c),
            c.executemany,
            positions,
            [(str(s.originator_id), s.originator_version, s.topic, s.state) for s in stored_events],
            kwargs.get("digests", ()),
        )
        return positions

    def append(
        self,
        rows: Sequence[Row],
        *,
        batches: Sequence[tuple[str, str, int, bytes, bytes]] = (),
        index: Sequence[tuple[str, str, int]] = (),
        keys: Sequence[tuple[str, str, bytes]] = (),
        digests: Sequence[bytes] = (),
        writes: Sequence[Write] = (),
    ) -> list[int]:
        """Insert case events given as rows, with the extras, in one transaction.

        The same as `insert_events`, without building a stored-event object per row:
        this is the server's ingest path. Returns the notification ids (positions).
        """
        with self.datastore.transaction(commit=True) as c:
            write_extras(c.executemany, self.tables, batches, index, keys, writes)
            if not rows:
                return []
            c.executemany(
                self.insert_events_statement,
                [(case_id.replace("-", ""), seq, topic, state) for case_id, seq, topic, state in rows],
            )
            c.execute("SELECT last_insert_rowid()")
            last = c.fetchone()[0]
            positions = list(range(last - len(rows) + 1, last + 1))
            self.grow_tree(_sqlite_query(c), c.executemany, positions, rows, digests)
            return positions

    @contextmanager
    def _writing(self) -> Iterator[tuple[Query, ExecuteMany]]:
        with self.datastore.transaction(commit=True) as c:
            yield _sqlite_query(c), c.executemany

    def run(self, statement: str, params: Sequence[Any] = (), *, commit: bool = False) -> list[tuple[Any, ...]]:
        """Run one statement; rows as tuples."""
        with self.datastore.transaction(commit=commit) as c:
            c.execute(statement, params)
            return [tuple(r) for r in c.fetchall()]

    def destroy_key(self, case_id: str, at: int) -> None:
        """Overwrite the wrapped key and delete the case's earlier keys (secure_delete zeroes
        the freed bytes), then empty the WAL so no earlier copy of a page holding one stays
        in the `-wal` file.

        CoreError when the WAL stayed busy: the key is destroyed, but an old copy may
        remain until the next erasure or restart empties the WAL.
        """
        super().destroy_key(case_id, at)
        if self.checkpointer is not None and not truncate_wal(self.datastore.pool.db_name):
            raise CoreError(
                f"the key of case {case_id} was destroyed, but the database's write-ahead log stayed busy "
                "and still holds an old copy; run the erasure again when the server is quiet"
            )

    def _tracking(self) -> SQLiteTrackingRecorder:
        if self._tracker is None:
            tracker = SQLiteTrackingRecorder(self.datastore)
            tracker.create_table()
            self._tracker = tracker
        return self._tracker

    def tracked_position(self, name: str) -> int:
        return self._tracking().max_tracking_id(name) or 0

    def commit_writes(self, writes: Sequence[Write]) -> None:
        with self.datastore.transaction(commit=True) as c:
            _commit_writes(c.executemany, writes)

    def commit_tracked(self, name: str, writes: Sequence[Write], position: int) -> None:
        tracker = self._tracking()
        with self.datastore.transaction(commit=True) as c:
            _commit_writes(c.executemany, writes)
            tracker._insert_tracking(c, Tracking(name, position))

    def forget_tracked(self, name: str) -> None:
        self._tracking()  # a view rebuilt before it ever followed the log has no table yet
        self.run("DELETE FROM tracking WHERE application_name=?", (name,), commit=True)

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        if self.heads is not None:
            self.heads.close()
        self.datastore.close()


class PostgresCaseLogRecorder(LogQueries, PostgresApplicationRecorder):
    """PostgreSQL: the library's events table plus the log tables, in one transaction."""

    position = "notification_id"

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        prefix = events_table_name.removesuffix("events")
        schema = f'"{datastore.schema}"'
        self.tables = LogTables(prefix, "%s", "BYTEA", qualify=f"{schema}.")
        self.events_table = f'{schema}."{events_table_name}"'
        self.tracking_table = f"{prefix}tracking"
        connect = datastore.pool.kwargs
        self.heads: CaseHeads | None = PostgresHeads(
            connect() if callable(connect) else dict(connect or {}),
            f'"{datastore.schema}"."{events_table_name}"',
            self.tables.generations,
        )
        self.checkpointer = None
        for statement in self.tables.create():
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]
        self._tracker: PostgresTrackingRecorder | None = None

    def stored_case_id(self, case_id: str) -> Any:
        return UUID(case_id)

    def destroy_key(self, case_id: str, at: int) -> None:
        """Clear the wrapped key and delete the case's earlier keys, then rewrite both case
        keys' tables (VACUUM FULL) so no row version that held one is in any of their heap
        pages any more.

        An UPDATE leaves the old row version in the heap until a vacuum, and a plain VACUUM
        only marks its space free; VACUUM FULL writes a new file holding live rows only.
        The table is small (one row per case), so the rewrite is quick. VACUUM cannot run
        in a transaction, so it has an autocommit connection of its own. CoreError when
        the table stayed locked: the key is destroyed, but an old copy may remain in the
        table's file until the erasure is run again.
        """
        super().destroy_key(case_id, at)
        try:
            with psycopg.connect(**self._connect_params(), autocommit=True) as conn:
                conn.execute(f"SET lock_timeout = '{VACUUM_LOCK_TIMEOUT}'")
                conn.execute(f"VACUUM FULL {self.tables.keys}")
                conn.execute(f"VACUUM FULL {self.tables.earlier_keys}")
        except psycopg.Error as exc:
            raise CoreError(
                f"the key of case {case_id} was destroyed, but the case keys' table stayed busy and its "
                "file still holds an old copy; run the erasure again when the server is quiet"
            ) from exc

    def _connect_params(self) -> dict[str, Any]:
        connect = self.datastore.pool.kwargs
        params = connect() if callable(connect) else dict(connect or {})
        return {k: v for k, v in params.items() if k in ("dbname", "host", "port", "user", "password")}

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        extras = (kwargs.get("batches", ()), kwargs.get("index", ()), kwargs.get("keys", ()), kwargs.get("writes", ()))
        write_extras(lambda s, p: curs.executemany(s, p), self.tables, *extras)
        super()._insert_events(curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The positions of the events just inserted, which also grow the Merkle tree in
        the same transaction: the events table is locked already (the library takes
        `LOCK TABLE ... IN EXCLUSIVE MODE` before inserting), so leaves follow positions."""
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs) or []
        self.grow_tree(
            _postgres_query(curs),
            lambda s, p: curs.executemany(s, p),
            positions,
            [(str(e.originator_id), e.originator_version, e.topic, e.state) for e in stored_events],
            kwargs.get("digests", ()),
        )
        return positions

    @contextmanager
    def _writing(self) -> Iterator[tuple[Query, ExecuteMany]]:
        with self.datastore.transaction(commit=True) as curs:
            yield _postgres_query(curs), lambda s, p: curs.executemany(s, p)

    def append(
        self,
        rows: Sequence[Row],
        *,
        batches: Sequence[tuple[str, str, int, bytes, bytes]] = (),
        index: Sequence[tuple[str, str, int]] = (),
        keys: Sequence[tuple[str, str, bytes]] = (),
        digests: Sequence[bytes] = (),
        writes: Sequence[Write] = (),
    ) -> list[int]:
        """Insert case events given as rows, with the extras, in one transaction."""
        ids: dict[str, UUID] = {}
        stored = [
            StoredEvent(ids.get(case_id) or ids.setdefault(case_id, UUID(case_id)), seq, topic, state)
            for case_id, seq, topic, state in rows
        ]
        return list(
            self.insert_events(stored, batches=batches, index=index, keys=keys, digests=digests, writes=writes) or []
        )

    def run(self, statement: str, params: Sequence[Any] = (), *, commit: bool = False) -> list[tuple[Any, ...]]:
        """Run one statement; rows as tuples."""
        with self.datastore.transaction(commit=commit) as curs:
            curs.execute(statement, params)
            if curs.description is None:
                return []
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r.values()) for r in curs.fetchall()]

    def _tracking(self) -> PostgresTrackingRecorder:
        if self._tracker is None:
            tracker = PostgresTrackingRecorder(self.datastore, tracking_table_name=self.tracking_table)
            tracker.create_table()
            self._tracker = tracker
        return self._tracker

    def tracked_position(self, name: str) -> int:
        return self._tracking().max_tracking_id(name) or 0

    def commit_writes(self, writes: Sequence[Write]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            _commit_writes(lambda s, p: curs.executemany(s, p), writes)

    def commit_tracked(self, name: str, writes: Sequence[Write], position: int) -> None:
        tracker = self._tracking()
        with self.datastore.transaction(commit=True) as curs:
            _commit_writes(lambda s, p: curs.executemany(s, p), writes)
            tracker._insert_tracking(curs, Tracking(name, position))

    def forget_tracked(self, name: str) -> None:
        self._tracking()  # a view rebuilt before it ever followed the log has no table yet
        table = f'"{self.datastore.schema}"."{self.tracking_table}"'
        self.run(f"DELETE FROM {table} WHERE application_name=%s", (name,), commit=True)

    def close(self) -> None:
        if self.heads is not None:
            self.heads.close()
        self.datastore.close()
