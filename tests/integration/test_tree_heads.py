"""An insider with the database files of a stopped server, against an auditor who kept the
signed tree heads: every rewrite of history is named by `audit verify --heads`."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import Server, audit_verify, client, enroll, tovholder
from tests.integration.insider import cut_last_event, delete_middle_event_and_relink, tables_of
from tests.integration.test_caseload_pull import open_cases


def synced_office(server: Server, env: dict[str, str], tmp_path: Path, cases: int, events: int) -> dict[str, Any]:
    """A coordinator's laptop enrolled in the office, its `cases` cases of `events` events
    each synced; the sync's report."""
    office = tmp_path / "office"
    enroll(server, env, office, "w-mette", "adult-social", "coordinator")
    open_cases(office, cases, events)
    report: dict[str, Any] = client(office, env, "sync")
    return report


def test_an_auditor_who_kept_the_heads_names_each_rewrite_of_a_stopped_servers_log(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    assert synced_office(server, env, tmp_path, 2, 3)["pushed"] == 2 * 5
    token = env["TOVHOLDER_TOKEN"]
    head = httpx.get(f"{server.url}/v1/log/head", headers={"Authorization": f"Bearer {token}"}).json()
    server.kill()
    with sqlite3.connect(server.folder / "log.db") as db:
        # Every stored event is a leaf: the administrative log's as well as the cases'.
        assert head["size"] == db.execute("SELECT MAX(rowid) FROM stored_events").fetchone()[0]
    assert server.event_count() == 10
    heads = tmp_path / "heads.json"
    tovholder("audit", "heads", "export", str(heads), "--dir", str(server.folder), env=env)
    assert json.loads(heads.read_text())["heads"][-1]["root"] == head["root"]

    status, report = audit_verify(server.folder, env, "--heads", str(heads))
    assert (status, report["ok"], report["position"]) == (0, True, None)

    edits = {"middle": delete_middle_event_and_relink, "last": cut_last_event}
    for name, edit in edits.items():
        copy = tmp_path / name
        shutil.copytree(server.folder, copy)
        with tables_of(copy) as db:
            position = edit(db)
        status, report = audit_verify(copy, env, "--heads", str(heads))
        assert status == 1, report
        assert report["position"] == position
        assert f"position {position}" in str(report["problems"])
