"""The eventsourcing library's application recorders, extended with the log's own tables.

The case log stores one library *stored event* per case event (originator id = case id,
originator version = case sequence, topic = event type, state = the server's envelope
around the sealed bytes). Beside the library's events table it keeps, written in the
same transaction as the events they belong to:

- ``batches``: each pushed batch's signed manifest (device, digests, signature);
- ``event_index``: event id -> (case, sequence), which makes pushes idempotent;
- ``case_keys``: each case key wrapped under the key-encryption key (erasure deletes it);
- ``device_keys``: enrolled devices' public keys and revocation, for verification.

One subclass per backend (SQLite, PostgreSQL) shares the SQL through `LogTables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg.sql import SQL

from core.checkpoint import BACKSTOP_PAGES, Checkpointer
from core.heads import CaseHeads, PostgresHeads, SQLiteHeads

Row = tuple[str, int, str, bytes]
"""A case event as the log stores it: case id, case sequence, event type, envelope."""


class LogTables:
    """SQL for the log's own tables, written once for both backends."""

    def __init__(self, prefix: str, placeholder: str, blob: str, qualify: str = "") -> None:
        self.p, self.blob, self.q = placeholder, blob, qualify
        self.without_rowid = " WITHOUT ROWID" if placeholder == "?" else ""
        self.batches = f"{qualify}{prefix}batches"
        self.index = f"{qualify}{prefix}event_index"
        self.keys = f"{qualify}{prefix}case_keys"
        self.devices = f"{qualify}{prefix}device_keys"

    def create(self) -> list[str]:
        b = self.blob
        return [
            f"CREATE TABLE IF NOT EXISTS {self.batches} (batch_id TEXT PRIMARY KEY, "
            f"device_id TEXT NOT NULL, received_at BIGINT NOT NULL, digests {b} NOT NULL, "
            f"signature {b} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.index} (event_id TEXT PRIMARY KEY, "
            f"case_id TEXT NOT NULL, seq BIGINT NOT NULL){self.without_rowid}",
            f"CREATE TABLE IF NOT EXISTS {self.keys} (case_id TEXT PRIMARY KEY, "
            f"key_id TEXT NOT NULL, wrapped {b}, destroyed_at BIGINT)",
            f"CREATE TABLE IF NOT EXISTS {self.devices} (device_id TEXT PRIMARY KEY, "
            f"signing_key {b} NOT NULL, agreement_key {b} NOT NULL, worker TEXT NOT NULL, "
            "enrolled_at BIGINT NOT NULL, revoked_at BIGINT)",
        ]

    def insert_batch(self) -> str:
        p = self.p
        # A batch re-sent with the same id carries the same signed manifest: keep the first.
        return f"INSERT INTO {self.batches} VALUES ({p},{p},{p},{p},{p}) ON CONFLICT (batch_id) DO NOTHING"

    def insert_index(self) -> str:
        p = self.p
        return f"INSERT INTO {self.index} VALUES ({p},{p},{p})"

    def insert_key(self) -> str:
        p = self.p
        return f"INSERT INTO {self.keys} (case_id, key_id, wrapped) VALUES ({p},{p},{p})"


def write_extras(execute: Any, executemany: Any, t: LogTables, kwargs: dict[str, Any]) -> None:
    """Write the batch seal, event index and new case keys that travel with an append."""
    batches = kwargs.get("batches")
    if batches:
        executemany(t.insert_batch(), batches)
    index = kwargs.get("index")
    if index:
        executemany(t.insert_index(), index)
    keys = kwargs.get("keys")
    if keys:
        executemany(t.insert_key(), keys)


def _tune_connections(datastore: SQLiteDatastore) -> None:
    """WAL with synchronous=NORMAL on every connection the library opens, checkpoints
    mostly left to a background `Checkpointer` (see `core.checkpoint`).

    A commit then survives a crash of the process; after a power loss the newest commits
    may roll back (never corrupt). Laptops keep every event until they have pulled its
    confirmed copy back, so such a roll-back loses nothing: the laptop pushes it again.
    """
    pool = datastore.pool
    if getattr(pool, "_tovholder_tuned", False):
        return
    create = pool._create_connection

    def tuned() -> Any:
        connection = create()
        connection._sqlite_conn.execute("PRAGMA synchronous=NORMAL")
        connection._sqlite_conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        return connection

    pool._create_connection = tuned  # type: ignore[method-assign]
    pool._tovholder_tuned = True  # type: ignore[attr-defined]


class SQLiteCaseLogRecorder(SQLiteApplicationRecorder):
    """SQLite: the library's events table plus the log tables, in one transaction."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.tables = LogTables("", "?", "BLOB")
        super().__init__(datastore, events_table_name)
        _tune_connections(datastore)
        memory = datastore.pool.is_sqlite_memory_mode
        self.checkpointer = None if memory else Checkpointer(datastore.pool.db_name)
        self.heads: CaseHeads | None = None if memory else SQLiteHeads(datastore.pool.db_name, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.tables.create()]

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")
        super().create_table()

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        write_extras(c.execute, c.executemany, self.tables, kwargs)
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
        return list(range(last - len(stored_events) + 1, last + 1))

    def append(self, rows: Sequence[Row], **extras: Any) -> list[int]:
        """Insert case events given as rows, with the extras, in one transaction.

        The same as `insert_events`, without building a stored-event object per row:
        this is the server's ingest path. Returns the notification ids (positions).
        """
        with self.datastore.transaction(commit=True) as c:
            write_extras(c.execute, c.executemany, self.tables, extras)
            if not rows:
                return []
            c.executemany(
                self.insert_events_statement,
                [(case_id.replace("-", ""), seq, topic, state) for case_id, seq, topic, state in rows],
            )
            c.execute("SELECT last_insert_rowid()")
            last = c.fetchone()[0]
            return list(range(last - len(rows) + 1, last + 1))

    def run(self, statement: str, params: Sequence[Any] = (), *, commit: bool = False) -> list[Any]:
        """Run one statement of the log tables; rows as tuples."""
        with self.datastore.transaction(commit=commit) as c:
            c.execute(statement, params)
            return [tuple(r) for r in c.fetchall()]


class PostgresCaseLogRecorder(PostgresApplicationRecorder):
    """PostgreSQL: the library's events table plus the log tables, in one transaction."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        prefix = events_table_name.removesuffix("events")
        self.tables = LogTables(prefix, "%s", "BYTEA", qualify=f'"{datastore.schema}".')
        connect = datastore.pool.kwargs
        self.heads: CaseHeads | None = PostgresHeads(
            connect() if callable(connect) else dict(connect or {}), f'"{datastore.schema}"."{events_table_name}"'
        )
        for statement in self.tables.create():
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        write_extras(
            lambda s, p: curs.execute(s, p),
            lambda s, p: curs.executemany(s, p),
            self.tables,
            kwargs,
        )
        super()._insert_events(curs, stored_events, **kwargs)

    def append(self, rows: Sequence[Row], **extras: Any) -> list[int]:
        """Insert case events given as rows, with the extras, in one transaction."""
        ids: dict[str, UUID] = {}
        stored = [
            StoredEvent(ids.get(case_id) or ids.setdefault(case_id, UUID(case_id)), seq, topic, state)
            for case_id, seq, topic, state in rows
        ]
        return list(self.insert_events(stored, **extras) or [])

    def run(self, statement: str, params: Sequence[Any] = (), *, commit: bool = False) -> list[Any]:
        """Run one statement of the log tables; rows as tuples."""
        with self.datastore.transaction(commit=commit) as curs:
            curs.execute(statement, params)
            if curs.description is None:
                return []
            return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r.values()) for r in curs.fetchall()]
