"""The insider's edits made directly in the tables of a stopped server, on SQLite and on
PostgreSQL alike, the stored tree and heads rebuilt too: the laptop that kept the head
stops with exit 5 and keeps the evidence, and the auditor who kept the heads and leaves
is told the exact position, case and sequence of each edit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import pytest

from core.adminlog import ADMIN_STREAM, ADMIN_TOPIC
from core.logtables import LogQueries
from server.context import ServerContext
from tests.integration.conftest import Server, audit_verify, client, enroll, tovholder
from tests.integration.test_admin_log import _insider_device_and_tombstone
from tests.integration.test_caseload_pull import open_cases

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


def kept_heads(live: Server, env: dict[str, str], tmp_path: Path) -> tuple[Path, Path, str]:
    """An office laptop that synced ten case events twice, the server stopped, and the
    heads exported; (laptop, heads file, the laptop's kept head)."""
    office = tmp_path / "office"
    enroll(live, env, office, "w-mette", "adult-social", "coordinator")
    open_cases(office, 2, 3)
    assert client(office, env, "sync")["pushed"] == 10
    assert client(office, env, "sync")["pulled"] == 0
    live.kill()
    heads = tmp_path / "heads.json"
    tovholder("audit", "heads", "export", str(heads), "--dir", str(live.folder), env=env)
    assert audit_verify(live.folder, env, "--heads", str(heads))[0] == 0
    return office, heads, str(client(office, env, "status")["tree_head"])


@pytest.mark.parametrize("edit", [delete_middle_event_and_relink, cut_last_event, rewrite_time_received])
def test_each_insider_edit_in_the_tables_stops_the_laptop_and_is_named_by_the_auditor_on_every_backend(
    live: Server, env: dict[str, str], tmp_path: Path, edit: Edit
) -> None:
    office, heads, kept = kept_heads(live, env, tmp_path)
    with tables_of(live.folder) as db:
        positions = [int(r[0]) for r in db.run(f"SELECT {db.position} FROM {db.events_table}")]
        before = {p: place_of(db, p) for p in positions}  # the edit may delete the event it names
        place = before[edit(db)]
        hide_the_tree(db)
    live.start()
    done = tovholder("client", "--data", str(office), "sync", "--json", env=env, check=False)
    live.kill()
    assert done.returncode == 5, done.stderr
    assert "the server's history cannot be trusted" in done.stderr
    assert kept.removeprefix("size ").split(",")[0] in done.stderr
    status = client(office, env, "status")
    assert len(status["head_evidence"]) == 1 and status["tree_head"] == kept  # evidence kept, nothing applied

    status_code, report = audit_verify(live.folder, env, "--heads", str(heads))
    assert (status_code, report["position"]) == (1, place[0]), report
    assert f"position {place[0]} (case {place[1]}, sequence {place[2]})" in str(report["problems"])


def test_a_device_row_inserted_in_the_tables_is_named_by_the_auditor_on_every_backend(
    live: Server, env: dict[str, str], tmp_path: Path
) -> None:
    _, heads, _ = kept_heads(live, env, tmp_path)
    device, position = _insider_device_and_tombstone(live.folder)
    status, report = audit_verify(live.folder, env, "--heads", str(heads))
    assert (status, report["position"]) == (1, position), report
    assert f"position {position}: device {device}" in str(report["problems"])
    assert json.dumps(report).count("not a device") >= 1
