"""Where each case's history ends, asked from the event loop: for answering reads from memory.

A department's case view is kept judged in memory (`server.view_cache.ViewCache`), and it may be
answered from there only while the case has no newer event, wherever that event was
appended (this process, another server instance, an administrator's command). Asking the
database through the recorder's connection pool is exact but costs a trip to a worker
thread, which under load costs more than everything else a cached read does.

So the question is asked on the server's event loop itself, on connections of the
loop's own:

- `SQLiteHeads`: a read-only SQLite connection. In WAL mode a reader never waits for a
  writer or a checkpoint, so the answer takes microseconds. When SQLite is busy anyway
  (recovering a WAL after a crash) it answers None at once.
- `PostgresHeads`: an asynchronous psycopg connection. The loop serves other requests
  during the round trip, and the questions asked meanwhile share the next one
  (`Rounds`). When the database cannot be reached it answers None.

None sends the caller down the full path, which reports what is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import psycopg

from core.generations import KINDS

log = logging.getLogger("tovholder.heads")


class CaseHeads(Protocol):
    async def seq(self, case_id: str) -> int | None:
        """The sequence number of the case's last event (0 for an unknown case); None
        when it cannot be told now."""

    async def position(self) -> int | None:
        """The log's head position (0 when empty); None when it cannot be told now."""

    async def generations(self) -> dict[str, int] | None:
        """The generation of each kind of administrators' change (`core.generations`);
        None when it cannot be told now."""

    def close(self) -> None: ...


class SQLiteHeads:
    """`CaseHeads` of an SQLite file, on a read-only connection per thread."""

    def __init__(self, path: str, events_table: str = "stored_events", generations_table: str = "generations") -> None:
        self.uri = Path(path).resolve().as_uri() + "?mode=ro"
        self.events_table = events_table
        self.generations_table = generations_table
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
                # Never waits: busy means "ask the full path", not "block the loop".
                conn = sqlite3.connect(self.uri, uri=True, timeout=0, check_same_thread=False, isolation_level=None)
                self._opened.append(conn)
            self._local.conn = conn
        return conn

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> int | None:
        try:
            conn = self._connection()
            if conn is None:
                return None
            row = conn.execute(sql, params).fetchone()
        except sqlite3.Error:  # busy, or the file is gone
            return None
        return int(row[0] or 0) if row else 0

    async def seq(self, case_id: str) -> int | None:
        return self._one(
            f"SELECT MAX(originator_version) FROM {self.events_table} WHERE originator_id=?", (UUID(case_id).hex,)
        )

    async def position(self) -> int | None:
        return self._one(f"SELECT MAX(rowid) FROM {self.events_table}")

    async def generations(self) -> dict[str, int] | None:
        try:
            conn = self._connection()
            if conn is None:
                return None
            # Changes only when another connection committed: the table is read only then.
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            known: tuple[int, dict[str, int]] | None = getattr(self._local, "generations", None)
            if known is not None and known[0] == version:
                return known[1]
            rows = conn.execute(f"SELECT kind, value FROM {self.generations_table}").fetchall()
        except sqlite3.Error:  # busy, or the file is gone
            return None
        found = {str(kind): int(value) for kind, value in rows}
        self._local.generations = (version, found)
        return found

    def close(self) -> None:
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


class Rounds:
    """Questions asked while a round trip is on its way, answered together by the next.

    That next round starts after they were asked, so each answer still includes
    everything committed before its question. `fetch` answers a set of keys at once
    (a key it leaves out is answered 0), or None when it cannot.
    """

    def __init__(self, fetch: Callable[[list[Any]], Awaitable[dict[Any, int] | None]]) -> None:
        self.fetch = fetch
        self._waiting: list[tuple[Any, asyncio.Future[int | None]]] = []
        self._answering: asyncio.Task[None] | None = None

    async def ask(self, key: Any) -> int | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[int | None] = loop.create_future()
        self._waiting.append((key, answer))
        if self._answering is None or self._answering.done():
            self._answering = loop.create_task(self._answer())
        return await answer

    async def _answer(self) -> None:
        while self._waiting:
            asked, self._waiting = self._waiting, []
            found = None
            try:
                found = await self.fetch(list({key for key, _ in asked}))
            except Exception as exc:  # answered None: the full path will say what is wrong
                log.warning("a round of questions about case heads failed: %s", type(exc).__name__)
            finally:  # never leave a question unanswered, also when cancelled
                for key, answer in asked:
                    if not answer.done():
                        answer.set_result(None if found is None else found.get(key, 0))


class PostgresHeads:
    """`CaseHeads` of PostgreSQL, on an asynchronous connection of the running loop.

    Questions come in `Rounds`: under load, one round trip answers every case asked
    about meanwhile. The connection belongs to the loop that opened it; asked from
    another loop (a server restarted in the same process, tests) it is closed and
    opened anew.
    """

    def __init__(self, connect: dict[str, Any], events_table: str, generations_table: str = "generations") -> None:
        self.connect = {k: v for k, v in connect.items() if k in ("dbname", "host", "port", "user", "password")}
        self.events_table = events_table
        self.generations_table = generations_table
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._seqs = Rounds(self._fetch_seqs)
        self._position = Rounds(self._fetch_position)
        self._generations = Rounds(self._fetch_generations)
        self._closed = False

    def _on_this_loop(self) -> bool:
        """Whether questions can be asked (not closed); starts afresh on a new loop."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._drop()
            self._loop, self._opening = loop, asyncio.Lock()
            self._seqs, self._position = Rounds(self._fetch_seqs), Rounds(self._fetch_position)
            self._generations = Rounds(self._fetch_generations)
        return not self._closed

    async def seq(self, case_id: str) -> int | None:
        return await self._seqs.ask(UUID(case_id)) if self._on_this_loop() else None

    async def position(self) -> int | None:
        return await self._position.ask(None) if self._on_this_loop() else None

    async def generations(self) -> dict[str, int] | None:
        if not self._on_this_loop():
            return None
        # One round trip answers every kind (and every request asking meanwhile).
        values = await asyncio.gather(*(self._generations.ask(kind) for kind in KINDS))
        if any(v is None for v in values):
            return None
        return {kind: int(v or 0) for kind, v in zip(KINDS, values, strict=True)}

    async def _fetch_generations(self, _: list[Any]) -> dict[Any, int] | None:
        rows = await self._query(f"SELECT kind, value FROM {self.generations_table}")
        return None if rows is None else {str(row[0]): int(row[1]) for row in rows}

    async def _fetch_seqs(self, cases: list[Any]) -> dict[Any, int] | None:
        rows = await self._query(
            f"SELECT originator_id, MAX(originator_version) FROM {self.events_table} "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id",
            (cases,),
        )
        return None if rows is None else {row[0]: int(row[1]) for row in rows}

    async def _fetch_position(self, _: list[Any]) -> dict[Any, int] | None:
        rows = await self._query(f"SELECT MAX(notification_id) FROM {self.events_table}")
        return None if rows is None else {None: int(rows[0][0] or 0)}

    async def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]] | None:
        async with self._opening:
            if self._connection is None and not self._closed:
                try:
                    self._connection = await psycopg.AsyncConnection.connect(**self.connect, autocommit=True)
                except psycopg.Error:
                    return None
            conn = self._connection
        if conn is None:
            return None
        try:
            return await (await conn.execute(sql, params)).fetchall()
        except psycopg.Error:
            self._drop()  # broken (a restarted database): opened anew on the next question
            return None

    def _drop(self) -> None:
        # Closing a psycopg connection is only this (no round trip), so it needs no loop.
        conn, self._connection = self._connection, None
        if conn is not None:
            conn.pgconn.finish()

    def close(self) -> None:
        self._closed = True
        self._drop()
