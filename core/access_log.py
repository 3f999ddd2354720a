"""The access log: every look at a case through a view is recorded (rule 8).

An entry says who looked (worker and department), at which case (or none, for a search
or a list), through which view, for what purpose, when, and whether anything was shown.
It holds ids only, never what was seen.

Reads must not wait on a database write, so `AccessLog.record` only puts the entry on an
in-memory queue; a background thread writes the queue in batches (one multi-row INSERT)
every `interval` seconds or as soon as `batch` entries wait, and `close` writes what is
left. Listing writes the queue first, so an auditor always sees the reads just made.
Entries are appended only; the one deletion is `purge`, which drops entries older than
the retention period (default six months), as the rule requires.

The table lives in the case-log database and is reached through `CaseLog.recorder.run`
with the log's placeholders, so it works on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core import events as ev
from core.log import CaseLog
from core.sealing import from_micros, to_micros

log = logging.getLogger("tovholder.access")

DEFAULT_RETENTION = timedelta(days=183)  # six months
_ROWS_PER_INSERT = 100  # 8 parameters a row: far below SQLite's parameter limit


@dataclass(frozen=True, slots=True)
class Access:
    """One look at a case (or a search or list across cases) through a view."""

    at: datetime
    worker: str | None  # None when withheld from a citizen's copy
    department: str
    case_id: str | None
    view: str  # department-case, department-list, audit-replay, citizen-export, ...
    purpose: str
    outcome: str = "shown"  # shown | refused
    entry_id: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "entry": self.entry_id,
            "at": self.at.isoformat(),
            "worker": self.worker,
            "department": self.department,
            "case": self.case_id,
            "view": self.view,
            "purpose": self.purpose,
            "outcome": self.outcome,
        }


class AccessLog:
    """Append-only, batched record of reads, stored beside the case log."""

    def __init__(
        self,
        caselog: CaseLog,
        *,
        interval: float = 0.2,
        batch: int = 200,
        clock: Callable[[], datetime] = ev.utcnow,
        background: bool = True,
    ) -> None:
        self.caselog = caselog
        self.table = f"{caselog.tables.q}access_log"
        self.interval = interval
        self.batch = batch
        self.clock = clock
        self._queue: list[Access] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self.lost = 0  # entries that could not be written (their count is logged)
        run = caselog.recorder.run
        run(
            f"CREATE TABLE IF NOT EXISTS {self.table} (entry_id TEXT PRIMARY KEY, at BIGINT NOT NULL, "
            "worker TEXT, department TEXT NOT NULL, case_id TEXT, view TEXT NOT NULL, "
            "purpose TEXT NOT NULL, outcome TEXT NOT NULL)",
            commit=True,
        )
        run(f"CREATE INDEX IF NOT EXISTS access_log_case ON {self.table} (case_id, at)", commit=True)
        run(f"CREATE INDEX IF NOT EXISTS access_log_at ON {self.table} (at)", commit=True)
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._loop, name="access-log", daemon=True)
            self._thread.start()

    # -- writing ---------------------------------------------------------------------------
    def record(
        self,
        worker: str | None,
        department: str,
        case_id: str | None,
        view: str,
        purpose: str,
        outcome: str = "shown",
    ) -> Access:
        """Queue one entry; it is written within `interval` seconds (or by `flush`)."""
        entry = Access(self.clock(), worker, department, case_id, view, purpose, outcome, str(uuid.uuid4()))
        with self._lock:
            self._queue.append(entry)
            full = len(self._queue) >= self.batch
        if full:
            self._wake.set()
        if self._thread is None and full:
            self.flush()
        return entry

    def flush(self) -> int:
        """Write every queued entry now; returns how many were written."""
        with self._write_lock:
            with self._lock:
                pending, self._queue = self._queue, []
            if not pending:
                return 0
            p = self.caselog.tables.p
            row = "(" + ",".join([p] * 8) + ")"
            for i in range(0, len(pending), _ROWS_PER_INSERT):
                chunk = pending[i : i + _ROWS_PER_INSERT]
                params: list[Any] = []
                for a in chunk:
                    params.extend(
                        (a.entry_id, to_micros(a.at), a.worker, a.department, a.case_id, a.view, a.purpose, a.outcome)
                    )
                self.caselog.recorder.run(
                    f"INSERT INTO {self.table} VALUES {','.join([row] * len(chunk))}", params, commit=True
                )
            return len(pending)

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # keep the thread alive; the next round retries
                log.error("could not write the access log: %s", type(exc).__name__)

    def close(self) -> None:
        """Stop the background writer and write what is still queued."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            left = len(self._queue)
        try:
            self.flush()
        except Exception as exc:
            self.lost += left
            log.error("%d access-log entries could not be written at shutdown: %s", left, type(exc).__name__)

    # -- reading ---------------------------------------------------------------------------
    def entries(
        self,
        case_id: str | None = None,
        *,
        since: datetime | None = None,
        limit: int = 1000,
        withhold_staff: bool = False,
    ) -> list[Access]:
        """Entries, newest first, of one case or of all; `withhold_staff` hides worker ids
        (a citizen's copy may leave out the staff's identities)."""
        self.flush()
        p = self.caselog.tables.p
        where: list[str] = []
        params: list[Any] = []
        if case_id is not None:
            where.append(f"case_id={p}")
            params.append(case_id)
        if since is not None:
            where.append(f"at>={p}")
            params.append(to_micros(since))
        params.append(limit)
        rows = self.caselog.recorder.run(
            "SELECT entry_id, at, worker, department, case_id, view, purpose, outcome "
            f"FROM {self.table}{' WHERE ' + ' AND '.join(where) if where else ''} "
            f"ORDER BY at DESC, entry_id LIMIT {p}",
            params,
        )
        found = [Access(from_micros(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[0]) for r in rows]
        return [replace(a, worker=None) for a in found] if withhold_staff else found

    def purge(self, retention: timedelta = DEFAULT_RETENTION, now: datetime | None = None) -> int:
        """Delete entries older than the retention period; returns how many."""
        self.flush()
        cutoff = to_micros((now or self.clock()) - retention)
        p = self.caselog.tables.p
        before = self._count()
        self.caselog.recorder.run(f"DELETE FROM {self.table} WHERE at<{p}", (cutoff,), commit=True)
        return before - self._count()

    def _count(self) -> int:
        rows: Sequence[Any] = self.caselog.recorder.run(f"SELECT COUNT(*) FROM {self.table}")
        return int(rows[0][0])
