"""An insider who rewrites a stopped server's database, tree and heads included, against a
laptop that kept the server's signed tree head: its next sync stops, names both heads and
keeps the evidence; an auditor who kept the heads is told too. An untouched log passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.integration.conftest import Server, client, enroll, tovholder
from tests.integration.insider import (
    cut_last_event,
    delete_middle_event_and_relink,
    hide_the_tree,
    place_of,
    rewrite_time_received,
    tables_of,
)
from tests.integration.test_caseload_pull import open_cases

EDITS = {
    "middle": delete_middle_event_and_relink,
    "last": cut_last_event,
    "rewritten": rewrite_time_received,
}


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
        with tables_of(server.folder) as before, tables_of(folder) as db:
            place = place_of(before, edit(db))  # read where the event stood before the edit
            hide_the_tree(db)
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
