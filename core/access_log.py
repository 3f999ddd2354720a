"""The access log: every look at a case through a view is recorded (rule 8).

An entry says who looked (worker and department), at which case (or none, for a search
or a list), through which view, for what purpose, when, and whether anything was shown.
It holds ids only, never what was seen.

A look is logged before it is seen: `AccessLog.record` (and `record_async`, for code on
the event loop) returns only once its entry is committed to the database, and raises
`AccessLogUnwritable` when it cannot be, so the caller refuses the read. A crash after
an answer has left therefore never loses its entry. To keep reads fast the entries of
reads that arrive together share one commit (group commit): a writer thread takes
everything queued while the previous commit ran, writes it in one multi-row INSERT per
100 entries, and then wakes the readers that wait on that batch (a thread event, or an
asyncio future resolved on the waiter's loop). Entries are appended only; the one
deletion is `purge`, which drops entries older than the retention period (default six
months), as the rule requires.

The table lives in the case-log database and is reached through `CaseLog.recorder.run`
with the log's placeholders, so it works on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core import events as ev
from core.errors import AccessLogUnwritable
from core.log import CaseLog
from core.sealing import from_micros, to_micros

log = logging.getLogger("tovholder.access")

DEFAULT_RETENTION = timedelta(days=183)  # six months
_ROWS_PER_INSERT = 100  # 8 parameters a row: far below SQLite's parameter limit
#: How long a read waits for its entry's commit before it is refused.
WAIT_SECONDS = 30.0
_TIMED_OUT = "the access log cannot be written (no commit in time); the read is refused"


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


def _raise_for(item: _Pending) -> None:
    if item.error is not None:
        raise AccessLogUnwritable(
            "the access log cannot be written, so the read is refused (every look at a case is logged first)"
        ) from item.error


@dataclass(slots=True)
class _Pending:
    """Entries of one read waiting for their commit, and how to wake their reader: a
    thread event, or a future on the reader's event loop."""

    entries: list[Access]
    done: threading.Event | None = None
    future: asyncio.Future[None] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    error: BaseException | None = None

    def settle(self, error: BaseException | None) -> None:
        self.error = error
        if self.done is not None:
            self.done.set()
        if self.future is not None and self.loop is not None:
            with contextlib.suppress(RuntimeError):  # the reader's loop closed: no one waits
                self.loop.call_soon_threadsafe(_wake, self.future)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class AccessLog:
    """Append-only record of reads, stored beside the case log; an entry is committed
    before `record` returns (group commit with the reads that arrive together)."""

    def __init__(
        self,
        caselog: CaseLog,
        *,
        batch: int = _ROWS_PER_INSERT,
        clock: Callable[[], datetime] = ev.utcnow,
        background: bool = True,
        wait: float = WAIT_SECONDS,
    ) -> None:
        self.caselog = caselog
        self.table = f"{caselog.tables.q}access_log"
        self.batch = max(1, min(batch, _ROWS_PER_INSERT))
        self.clock = clock
        self.wait = wait
        self.commits = 0  # commits made (fewer than entries when reads arrive together)
        self._queue: list[_Pending] = []
        self._ready = threading.Condition(threading.Lock())
        self._write_lock = threading.Lock()
        self._closed = False
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
    def entry(
        self,
        worker: str | None,
        department: str,
        case_id: str | None,
        view: str,
        purpose: str,
        outcome: str = "shown",
    ) -> Access:
        """A new entry for a look made now (not written yet: see `write`)."""
        return Access(self.clock(), worker, department, case_id, view, purpose, outcome, str(uuid.uuid4()))

    def record(
        self,
        worker: str | None,
        department: str,
        case_id: str | None,
        view: str,
        purpose: str,
        outcome: str = "shown",
    ) -> Access:
        """Write one entry and return once it is committed; AccessLogUnwritable when it
        cannot be (the read must then be refused)."""
        entry = self.entry(worker, department, case_id, view, purpose, outcome)
        self.write([entry])
        return entry

    async def record_async(
        self,
        worker: str | None,
        department: str,
        case_id: str | None,
        view: str,
        purpose: str,
        outcome: str = "shown",
    ) -> Access:
        """`record` for code on the event loop: the loop serves other requests while
        the entry waits for its commit."""
        entry = self.entry(worker, department, case_id, view, purpose, outcome)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        item = _Pending([entry], future=future, loop=loop)
        if not self._submit(item):
            await loop.run_in_executor(None, self._write, [item])
        try:
            await asyncio.wait_for(future, self.wait)
        except TimeoutError:
            raise AccessLogUnwritable(_TIMED_OUT) from None
        _raise_for(item)
        return entry

    def write(self, entries: Sequence[Access]) -> None:
        """Commit entries of one read (e.g. one per case a search answered) before
        returning; AccessLogUnwritable when they cannot be committed."""
        item = _Pending(list(entries), done=threading.Event())
        if not self._submit(item):
            self._write([item])
        elif item.done is not None and not item.done.wait(self.wait):
            raise AccessLogUnwritable(_TIMED_OUT)
        _raise_for(item)

    def flush(self) -> None:
        """Wait until every entry handed over so far is committed (or refused)."""
        item = _Pending([], done=threading.Event())
        if self._submit(item) and item.done is not None:
            item.done.wait(self.wait)

    def _submit(self, item: _Pending) -> bool:
        """Hand `item` to the writer thread; False when there is none (write it inline)."""
        with self._ready:
            if self._thread is None or self._closed:
                return False
            self._queue.append(item)
            self._ready.notify()
        return True

    def _loop(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                pending, self._queue = self._queue, []
            self._write(pending)

    def _write(self, pending: Sequence[_Pending]) -> None:
        """Commit the entries of `pending`, up to `batch` entries in one INSERT, and wake
        each reader once its own entries are committed (or failed)."""
        groups: list[list[_Pending]] = [[]]
        rows = 0
        for item in pending:
            if rows and rows + len(item.entries) > self.batch:
                groups.append([])
                rows = 0
            groups[-1].append(item)
            rows += len(item.entries)
        with self._write_lock:
            for group in groups:
                error: BaseException | None = None
                try:
                    self._insert([a for item in group for a in item.entries])
                except Exception as exc:
                    error = exc
                    log.error("could not write the access log: %s", type(exc).__name__)
                for item in group:
                    item.settle(error)

    def _insert(self, entries: Sequence[Access]) -> None:
        p = self.caselog.tables.p
        row = "(" + ",".join([p] * 8) + ")"
        for i in range(0, len(entries), _ROWS_PER_INSERT):
            chunk = entries[i : i + _ROWS_PER_INSERT]
            params: list[Any] = []
            for a in chunk:
                params.extend(
                    (a.entry_id, to_micros(a.at), a.worker, a.department, a.case_id, a.view, a.purpose, a.outcome)
                )
            self.caselog.recorder.run(
                f"INSERT INTO {self.table} VALUES {','.join([row] * len(chunk))}", params, commit=True
            )
            self.commits += 1

    def close(self) -> None:
        """Stop the writer thread once it has written what it was handed; later entries
        are written by their reader's own thread."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.wait)

    # -- reading ---------------------------------------------------------------------------
    def entries(
        self,
        case_id: str | None = None,
        *,
        since: datetime | None = None,
        limit: int = 1000,
        withhold_staff: bool = False,
        worker: str | None = None,
        department: str | None = None,
        until: datetime | None = None,
        after: Access | None = None,
    ) -> list[Access]:
        """Entries, newest first, of one case or of all, of one worker, one department and
        a period (`since` to `until`, both included) when asked; `after` an entry, the page
        that follows it (by time, then id: a page never repeats or skips an entry).
        `withhold_staff` hides worker ids (a citizen's copy may leave out the staff's
        identities)."""
        self.flush()
        p = self.caselog.tables.p
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("case_id", case_id), ("worker", worker), ("department", department)):
            if value is not None:
                where.append(f"{column}={p}")
                params.append(value)
        if since is not None:
            where.append(f"at>={p}")
            params.append(to_micros(since))
        if until is not None:
            where.append(f"at<={p}")
            params.append(to_micros(until))
        if after is not None:
            where.append(f"(at<{p} OR (at={p} AND entry_id>{p}))")
            params.extend((to_micros(after.at), to_micros(after.at), after.entry_id))
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
