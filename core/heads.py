"""Where each case's history ends, asked without waiting: for answering reads from memory.

A department's case view is kept judged in memory (`core.views.ViewCache`), and it may be
answered from there only while the case has no newer event, wherever that event was
appended (this process, another server instance, an administrator's command). Asking the
database through the recorder's connection pool is exact but costs a trip to a worker
thread, which under load costs more than everything else a cached read does.

`CaseHeads` asks on a read-only SQLite connection of the calling thread's own. In WAL
mode a reader never waits for a writer or a checkpoint, so the question is answered in
microseconds and may be asked on the server's event loop. When SQLite is busy anyway
(recovering a WAL after a crash) it answers None at once and the caller takes the full
path. PostgreSQL answers over the network, so there is no such shortcut: its recorder has
no `heads` and every read goes the full path.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any
from uuid import UUID


class CaseHeads:
    """The last sequence number of a case and the log's head position, from SQLite."""

    def __init__(self, path: str, events_table: str = "stored_events") -> None:
        self.uri = Path(path).resolve().as_uri() + "?mode=ro"
        self.events_table = events_table
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _connection(self) -> sqlite3.Connection | None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._closed:
                    return None
                # Never waits: busy means "ask the full path", not "block the caller".
                conn = sqlite3.connect(self.uri, uri=True, timeout=0, check_same_thread=False,
                                       isolation_level=None)
                self._opened.append(conn)
            self._local.conn = conn
        return conn

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> int | None:
        conn = self._connection()
        if conn is None:
            return None
        try:
            row = conn.execute(sql, params).fetchone()
        except sqlite3.Error:
            return None
        return int(row[0] or 0) if row else 0

    def seq(self, case_id: str) -> int | None:
        """The sequence number of the case's last event (0 for an unknown case); None
        when it cannot be told at once."""
        return self._one(
            f"SELECT MAX(originator_version) FROM {self.events_table} WHERE originator_id=?",
            (UUID(case_id).hex,),
        )

    def position(self) -> int | None:
        """The log's head position (0 when empty); None when it cannot be told at once."""
        return self._one(f"SELECT MAX(rowid) FROM {self.events_table}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

