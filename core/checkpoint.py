"""Checkpoints of SQLite's write-ahead log, taken off the append path.

In WAL mode every commit appends pages to the `-wal` file; a *checkpoint* copies them
back into the database file and syncs it. By default the connection that commits runs
that checkpoint itself whenever the WAL passes 1,000 pages, so an append regularly pays
for copying and syncing earlier appends. Here a background thread runs PASSIVE
checkpoints (they never block a writer or a reader) a few times a second, and the
writers' own automatic checkpoint is kept only as a backstop at a much larger WAL size,
in case this thread falls behind. Nothing changes in what is durable when: a commit is
in the WAL either way.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading

BACKSTOP_PAGES = 16_384  # the writers checkpoint themselves only past a 64 MiB WAL
INTERVAL_SECONDS = 0.2


class Checkpointer:
    """A daemon thread that checkpoints one SQLite database until stopped."""

    def __init__(self, db_name: str, interval: float = INTERVAL_SECONDS) -> None:
        self.db_name = db_name
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tovholder-wal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Every failure is quiet: a missed checkpoint only leaves it to the backstop.
        try:
            conn = sqlite3.connect(self.db_name, uri=True, isolation_level=None, timeout=1)
        except sqlite3.Error:
            return
        try:
            while not self._stop.wait(self.interval):
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop the thread and wait for it; the writers' backstop still applies."""
        self._stop.set()
        self._thread.join(timeout=5)
