"""The laptop's SQLite file, opened with the standard `sqlite3` module alone.

A recording command must start quickly, so the laptop's store does not load the
eventsourcing library the server's log is built on; it needs no more than a private
file, one connection and transactions:

- the file is created mode 0600 (and SQLite gives its ``-wal`` and ``-shm`` files the
  same mode), in WAL journal mode;
- deleted rows are overwritten on disk (``secure_delete``, set on every connection),
  not left readable in free pages; `checkpoint` copies the WAL into the file and
  truncates it, so the old pages in the WAL are gone too;
- a writer waits up to 30 seconds for another process's lock (``busy_timeout``);
- `transaction` has the library's semantics: ``BEGIN``, then commit (or, for a read,
  roll back) at the end, and roll back when anything is raised inside.

One connection serves every thread (a laptop's commands and syncs run in one thread, but
tests drive several laptops from a thread pool); a lock lets one transaction at a time
use it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from core.files import private_files

BUSY_TIMEOUT_SECONDS = 30


class LaptopDatabase:
    """The laptop store's SQLite file: one private connection and its transactions."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, schema: Sequence[str]) -> LaptopDatabase:
        """Open (or create, mode 0600) the file at `path` and create the tables of `schema`
        that it lacks, in one transaction."""
        with private_files():
            # An existing file keeps its mode; a missing folder is SQLite's to report.
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            connection = sqlite3.connect(
                path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # autocommit: `transaction` issues BEGIN itself
                check_same_thread=False,  # shared between threads under the lock
            )
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA secure_delete=ON")
                connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
                database = cls(connection)
                with database.transaction(commit=True) as c:
                    for statement in schema:
                        c.execute(statement)
            except BaseException:
                connection.close()
                raise
        return database

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[sqlite3.Cursor]:
        """A cursor inside one transaction: committed at the end when `commit`, otherwise
        rolled back; rolled back, and the error raised again, when anything is raised."""
        with self._lock:
            cursor = self._connection.cursor()
            try:
                cursor.execute("BEGIN")
                try:
                    yield cursor
                    if commit:
                        self._connection.commit()
                finally:
                    # A read, an error inside, or a commit that failed: nothing stays open.
                    if self._connection.in_transaction:
                        self._connection.rollback()
            finally:
                cursor.close()

    def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it to nothing: after a delete,
        the deleted rows' old pages then remain neither in the WAL nor in the file."""
        with self._lock:
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        """Close the connection (a second close does nothing)."""
        with self._lock:
            self._connection.close()
