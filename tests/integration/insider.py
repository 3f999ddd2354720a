"""An insider's edits of a stopped server's stored tables, written once for SQLite and
PostgreSQL (the backend's own table names and placeholders), for the tests that play them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from core.adminlog import ADMIN_STREAM, ADMIN_TOPIC
from core.logtables import LogQueries
from server.context import ServerContext

Edit = Callable[[LogQueries], int]


@contextmanager
def tables_of(folder: Path) -> Iterator[LogQueries]:
    """The stored tables of a stopped server's data folder, whichever backend it is on."""
    ctx = ServerContext.open(folder, {})
    try:
        store = ctx.log.recorder
        assert isinstance(store, LogQueries)
        yield store
    finally:
        ctx.close()


def delete_middle_event_and_relink(db: LogQueries) -> int:
    """Delete the second event of the first case and renumber and relink its later events."""
    e, pos, p = db.events_table, db.position, db.tables.p
    case, position = db.run(
        f"SELECT originator_id, {pos} FROM {e} WHERE originator_version=2 AND topic<>{p} ORDER BY {pos} LIMIT 1",
        (ADMIN_TOPIC,),
    )[0]
    rows = db.run(f"SELECT {pos}, originator_version, state FROM {e} WHERE originator_id={p} ORDER BY 2", (case,))
    db.run(f"DELETE FROM {e} WHERE {pos}={p}", (position,), commit=True)
    link = bytes(rows[0][2])[1:33]
    for row, seq, state in rows[2:]:
        state = bytes(state)
        sealed = state[42 + state[41] :]
        link = hashlib.sha256(link + (seq - 1).to_bytes(8, "big") + hashlib.sha256(sealed).digest()).digest()
        db.run(
            f"UPDATE {e} SET originator_version={p}, state={p} WHERE {pos}={p}",
            (seq - 1, state[:1] + link + state[33:], row),
            commit=True,
        )
    return int(position)


def cut_last_event(db: LogQueries) -> int:
    e, pos, p = db.events_table, db.position, db.tables.p
    position = int(db.run(f"SELECT MAX({pos}) FROM {e}")[0][0])
    db.run(f"DELETE FROM {e} WHERE {pos}={p}", (position,), commit=True)
    return position


def rewrite_time_received(db: LogQueries) -> int:
    """Move the time the server received one event a day back."""
    e, pos, p = db.events_table, db.position, db.tables.p
    position, state = db.run(
        f"SELECT {pos}, state FROM {e} WHERE originator_id<>{p} ORDER BY {pos} LIMIT 1 OFFSET 2",
        (db.stored_case_id(ADMIN_STREAM),),
    )[0]
    state = bytes(state)
    received = int.from_bytes(state[33:41], "big", signed=True) - 86_400_000_000
    new = state[:33] + received.to_bytes(8, "big", signed=True) + state[41:]
    db.run(f"UPDATE {e} SET state={p} WHERE {pos}={p}", (new, position), commit=True)
    return int(position)


def hide_the_tree(db: LogQueries) -> None:
    """The stored tree and every signed head thrown away: the restarted server grows a
    tree of the edited events and signs new heads of it."""
    t = db.tables
    db.run(f"UPDATE {t.tree} SET size=0, edge={t.p}, position=0", (b"",), commit=True)
    for table in (t.runs, t.nodes, t.heads):
        db.run(f"DELETE FROM {table}", commit=True)


def place_of(db: LogQueries, position: int) -> tuple[int, str, int]:
    """(position, case, sequence) of the event stored at `position`."""
    case, seq = db.run(
        f"SELECT originator_id, originator_version FROM {db.events_table} WHERE {db.position}={db.tables.p}",
        (position,),
    )[0]
    return position, str(UUID(str(case))), int(seq)
