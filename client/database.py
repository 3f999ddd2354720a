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
- a failing disk is one sentence, never a traceback: a full or unwritable disk raises
  `StoreUnwritable`, a damaged file `StoreDamaged` (`storage_error`); and a store opened
  for reading only, when the disk is full, is opened again in exclusive locking mode,
  which reads a WAL database without the ``-shm`` file a full disk cannot grow;
- `transaction` has the library's semantics: ``BEGIN``, then commit (or, for a read,
  roll back) at the end, and roll back when anything is raised inside.

One connection serves every thread (a laptop's commands and syncs run in one thread, but
tests drive several laptops from a thread pool); a lock lets one transaction at a time
use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from client.errors import ClientError, StoreDamaged, StoreUnwritable
from core.files import private_files

BUSY_TIMEOUT_SECONDS = 30
# SQLite's primary result codes (the low byte of an extended code) of a failing disk.
UNWRITABLE_CODES = frozenset({8, 10, 13, 14})  # READONLY, IOERR, FULL, CANTOPEN
DAMAGED_CODES = frozenset({11, 26})  # CORRUPT, NOTADB
UNWRITABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})


def storage_error(exc: BaseException, path: Path) -> ClientError | None:
    """The one sentence a person can act on for a failing disk or a damaged store file
    at `path`; None when `exc` is not a storage failure."""
    folder = Path(path).parent
    if isinstance(exc, sqlite3.DatabaseError):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code in DAMAGED_CODES:
            return StoreDamaged(
                f"the laptop store in {folder} is damaged ({exc}); nothing was changed. Keep the folder "
                "for IT (events not yet synced are sealed inside it) and enroll this laptop again into a "
                "new folder: what was synced is on the server"
            )
        if code not in UNWRITABLE_CODES:
            return None
    elif not (isinstance(exc, OSError) and exc.errno in UNWRITABLE_ERRNOS):
        return None
    detail = exc.strerror if isinstance(exc, OSError) else str(exc)
    return StoreUnwritable(
        f"cannot write the laptop store in {folder}: the disk is full or cannot be written "
        f"({detail}); nothing of this command was recorded. Free space on the disk and run it "
        "again; case show, case list and status still work"
    )


@contextlib.contextmanager
def translated(path: Path) -> Iterator[None]:
    """Raise a failing disk or damaged file met inside as its sentence (`storage_error`)."""
    try:
        yield
    except (sqlite3.DatabaseError, OSError) as exc:
        error = storage_error(exc, path)
        if error is None:
            raise
        raise error from None


class LaptopDatabase:
    """The laptop store's SQLite file: one private connection and its transactions."""

    def __init__(self, connection: sqlite3.Connection, path: Path = Path("laptop.db")) -> None:
        self._connection = connection
        self.path = path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, schema: Sequence[str], *, reading: bool = False) -> LaptopDatabase:
        """Open (or create, mode 0600) the file at `path` and create the tables of `schema`
        that it lacks, in one transaction. With `reading` (a command that writes nothing),
        a full disk does not stop it: the store is opened again in exclusive locking mode.
        StoreUnwritable or StoreDamaged when the disk or the file fails."""
        try:
            with translated(path):
                return cls._open(path, schema, exclusive=False)
        except StoreUnwritable:
            if not reading:
                raise
        with translated(path):
            return cls._open(path, schema, exclusive=True)

    @classmethod
    def _open(cls, path: Path, schema: Sequence[str], *, exclusive: bool) -> LaptopDatabase:
        """Open the file; `exclusive` holds the lock until closed and so needs no ``-shm``
        file (it must be set before the first read), and creates and converts nothing."""
        with private_files():
            # An existing file keeps its mode; a missing folder is SQLite's to report.
            if not exclusive:
                try:
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                except OSError as exc:
                    if exc.errno in UNWRITABLE_ERRNOS:
                        raise
            connection = sqlite3.connect(
                path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # autocommit: `transaction` issues BEGIN itself
                check_same_thread=False,  # shared between threads under the lock
            )
            try:
                if exclusive:
                    connection.execute("PRAGMA locking_mode=EXCLUSIVE")
                else:
                    connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA secure_delete=ON")
                connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
                database = cls(connection, Path(path))
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
        with self._lock, translated(self.path):
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
        with self._lock, translated(self.path):
            self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        """Close the connection (a second close does nothing)."""
        with self._lock:
            self._connection.close()
