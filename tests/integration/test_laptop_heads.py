"""An insider who rewrites a stopped server's database, tree and heads included, against a
laptop that kept the server's signed tree head: its next sync stops, names both heads and
keeps the evidence; an auditor who kept the heads is told too. An untouched log passes."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from core.adminlog import ADMIN_STREAM
from tests.integration.conftest import Server, client, enroll, tovholder
from tests.integration.test_caseload_pull import open_cases
from tests.integration.test_tree_heads import _cut_last_event, _delete_middle_event_and_relink


def _rewrite_time_received(db_file: Path) -> int:
    """Move the time the server received one event a day back: a field of the server's
    envelope that no case chain covers; the event's position."""
    with sqlite3.connect(db_file) as db:
        position, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_id<>? ORDER BY rowid LIMIT 1 OFFSET 2",
            (UUID(ADMIN_STREAM).hex,),
        ).fetchone()
        state = bytes(state)
        received = int.from_bytes(state[33:41], "big", signed=True) - 86_400_000_000
        db.execute(
            "UPDATE stored_events SET state=? WHERE rowid=?",
            (state[:33] + received.to_bytes(8, "big", signed=True) + state[41:], position),
        )
    return int(position)


def _hide_the_tree(db_file: Path) -> None:
    """What a careful insider adds: the stored tree and every signed head thrown away, so
    the restarted server grows a tree of the edited events and signs new heads of it."""
    with sqlite3.connect(db_file) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%tree%'")]
        for table in tables:
            if table.endswith("tree_state"):
                db.execute(f"UPDATE {table} SET size=0, edge=CAST('' AS BLOB), position=0")
            else:
                db.execute(f"DELETE FROM {table}")


EDITS: dict[str, Callable[[Path], int]] = {
    "middle": _delete_middle_event_and_relink,
    "last": _cut_last_event,
    "rewritten": _rewrite_time_received,
}


def _place(db_file: Path, position: int) -> tuple[int, str, int]:
    """(position, case, sequence) of the event stored at `position` before the edit."""
    with sqlite3.connect(db_file) as db:
        case, seq = db.execute(
            "SELECT originator_id, originator_version FROM stored_events WHERE rowid=?", (position,)
        ).fetchone()
    return position, str(UUID(case)), int(seq)


def _kept(laptop: Path, env: dict[str, str]) -> dict[str, object]:
    status = client(laptop, env, "status")
    assert isinstance(status, dict)
    return status


def test_a_laptop_that_kept_the_head_stops_at_each_rewrite_of_the_servers_history(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office = tmp_path / "office"
    enroll(server, env, office, "w-mette", "adult-social", "coordinator")
    open_cases(office, 2, 3)
    assert client(office, env, "sync")["pushed"] == 10
    assert client(office, env, "sync")["pulled"] == 0  # an untouched log passes again
    kept = _kept(office, env)
    kept_size = int(str(kept["tree_head"]).split(",")[0].removeprefix("size "))
    assert kept_size >= 10  # the ten case events, and the administrative log's events
    assert kept["head_evidence"] == []
    server.kill()
    heads = tmp_path / "heads.json"
    tovholder("audit", "heads", "export", str(heads), "--dir", str(server.folder), env=env)
    assert tovholder("audit", "verify", "--heads", str(heads), "--dir", str(server.folder), env=env).returncode == 0
    kept_root = str(kept["tree_head"]).split("root ")[1]

    for name, edit in EDITS.items():
        folder, laptop = tmp_path / f"server-{name}", tmp_path / f"office-{name}"
        shutil.copytree(server.folder, folder)
        shutil.copytree(office, laptop)
        place = _place(server.folder / "log.db", edit(folder / "log.db"))
        _hide_the_tree(folder / "log.db")
        edited = Server(folder, env)
        edited.port, edited.url = server.port, server.url  # where the laptop knows its server
        edited.start()
        try:
            done = tovholder("client", "--data", str(laptop), "sync", "--json", env=env, check=False)
        finally:
            edited.kill()
        assert done.returncode == 5, (name, done.stderr)
        assert "the server's history cannot be trusted" in done.stderr
        assert f"size {kept_size}, root {kept_root}" in done.stderr  # the kept head
        assert "head the server sent: size " in done.stderr and "root " in done.stderr
        evidence = _kept(laptop, env)["head_evidence"]
        assert isinstance(evidence, list) and len(evidence) == 1, name
        found = evidence[0]
        assert found["kept"]["root"] == kept_root and found["kept"]["size"] == kept_size
        assert found["served"]["root"] != kept_root and found["served"]["signature"]
        assert "consistency" in found["why"]
        assert _kept(laptop, env)["tree_head"] == kept["tree_head"]  # nothing applied, the old head kept

        audit = tovholder(
            "audit", "verify", "--heads", str(heads), "--dir", str(folder), "--json", env=env, check=False
        )
        assert audit.returncode == 1, name
        report = json.loads(audit.stdout)
        assert f"the head of size {kept_size}" in str(report["problems"])
        assert report["position"] == place[0], (name, report)  # the exact position, the tree rebuilt or not
        assert f"position {place[0]} (case {place[1]}, sequence {place[2]})" in str(report["problems"]), name
