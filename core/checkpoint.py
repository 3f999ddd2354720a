"""Checkpoints of SQLite's write-ahead log, taken off the append path.

In WAL mode every commit appends pages to the `-wal` file; a *checkpoint* copies them
back into the database file and syncs it. By default the connection that commits runs
that checkpoint itself whenever the WAL passes 1,000 pages, so an append regularly pays
for copying and syncing earlier appends. Here a background thread runs PASSIVE
checkpoints (they never block a writer or a reader) a few times a second, and the
writers' own automatic checkpoint is kept only as a backstop at a much larger WAL size,
in case this thread falls behind. Nothing changes in what is durable when: a commit is
in the WAL either way.

A passive checkpoint leaves the old page images in the `-wal` file until they are
overwritten, so `truncate_wal` is run after an erasure: it copies the whole WAL back and
cuts the file to zero bytes, and the destroyed key's bytes are then in neither file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time

BACKSTOP_PAGES = 16_384  # the writers checkpoint themselves only past a 64 MiB WAL
INTERVAL_SECONDS = 0.2
TRUNCATE_SECONDS = 10.0  # how long `truncate_wal` waits for readers and other checkpoints


def truncate_wal(db_name: str, timeout: float = TRUNCATE_SECONDS) -> bool:
    """Checkpoint the whole WAL into the database file and truncate the `-wal` file to
    zero bytes; False when readers or writers kept it busy for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    conn = sqlite3.connect(db_name, uri=True, isolation_level=None, timeout=timeout)
    try:
        while True:
            # (busy, frames in the WAL, frames checkpointed); busy=1 when it could not finish.
            try:
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError:  # another checkpoint holds the lock
                busy = 1
            if not busy:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
    finally:
        conn.close()


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
