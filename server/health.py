"""The server's storage health: a write refused for want of disk is told apart from every
other error, answered 503 with its reason, and remembered until a write succeeds.

A full disk (SQLite's FULL, IOERR, CANTOPEN or READONLY; an OSError ENOSPC, EDQUOT,
EFBIG, EROFS or EIO; a PostgreSQL error of class 53, insufficient resources, or 58, a
system error) is no fault of the request: the laptop keeps its outbox and syncs later,
so it is answered 503 with ``cause: storage`` rather than 500. `/healthz` answers 503
while a small probe file cannot be written in the data folder, or while a storage failure
is remembered and no push or pull has succeeded since (the probe alone cannot see a
PostgreSQL server's disk).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

PROBE_BYTES = 4096
STORAGE = "storage"  # the `cause` of an error body whose reason is the server's storage
_SQLITE_CODES = frozenset({8, 10, 13, 14})  # READONLY, IOERR, FULL, CANTOPEN (primary codes)
_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO})
_SQLSTATE_CLASSES = frozenset({"53", "58"})


def storage_failure(exc: BaseException | None) -> str | None:
    """What the storage refused, in its own few words, when `exc` or an error that caused
    it is a full or unwritable disk; None for any other error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "sqlite_errorcode", 0) or 0
        if isinstance(exc, sqlite3.DatabaseError) and code & 0xFF in _SQLITE_CODES:
            return str(exc)
        if isinstance(exc, OSError) and exc.errno in _ERRNOS:
            return exc.strerror or str(exc)
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _SQLSTATE_CLASSES:
            return str(exc).splitlines()[0] if str(exc) else sqlstate
        exc = exc.__cause__ or exc.__context__
    return None


def storage_sentence(failure: str) -> str:
    """The one sentence an answer carries for a storage failure."""
    return (
        f"the server cannot write its storage ({failure}); nothing of this request was kept. "
        "The server's administrator must free space on its disk; laptops keep their outbox and sync later"
    )


class StorageHealth:
    """The last storage failure of this process, until a write succeeds; and the probe."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._failure: str | None = None
        self._lock = threading.Lock()

    def failed(self, failure: str) -> None:
        with self._lock:
            self._failure = failure

    def wrote(self) -> None:
        """A write succeeded: the storage takes writes again."""
        if self._failure is not None:
            with self._lock:
                self._failure = None

    def failure(self) -> str | None:
        """Why the server cannot write now (the probe first), or None."""
        probe = self.folder / f".healthz-{uuid.uuid4().hex}"
        try:
            with open(probe, "wb", buffering=0) as f:
                f.write(b"\0" * PROBE_BYTES)
        except OSError as exc:
            return storage_failure(exc) or str(exc)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(probe)
        with self._lock:
            return self._failure


def storage_health(extras: dict[str, Any], folder: Path) -> StorageHealth:
    """The process's storage health, kept in the context's extras, made on first use."""
    found = extras.get("storage_health")
    if not isinstance(found, StorageHealth):
        found = extras["storage_health"] = StorageHealth(folder)
    return found
