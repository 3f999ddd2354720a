"""The insider's edits made directly in the tables of a stopped server, on SQLite and on
PostgreSQL alike, the stored tree and heads rebuilt too: the laptop that kept the head
stops with exit 5 and keeps the evidence, and the auditor who kept the heads and leaves
is told the exact position, case and sequence of each edit. A tombstone "signed" by a
device row the insider inserted, or by a revoked laptop's kept key, stops the laptop
that holds the case, naming the position, case and device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.store import LaptopStore
from tests.integration.conftest import (
    PASSPHRASE,
    Server,
    admin,
    audit_verify,
    client,
    enroll,
    enroll_device,
    tovholder,
)
from tests.integration.insider import (
    Edit,
    cut_last_event,
    delete_middle_event_and_relink,
    hide_the_tree,
    place_of,
    rewrite_time_received,
    tables_of,
)
from tests.integration.test_admin_log import _insider_device_and_tombstone, tombstone_signed_by
from tests.integration.test_caseload_pull import open_cases


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


def test_a_device_row_inserted_in_the_tables_and_the_tombstone_it_signs_stop_the_laptop_and_are_named_by_the_auditor(
    live: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, heads, kept = kept_heads(live, env, tmp_path)
    held = client(office, env, "status")
    device, position = _insider_device_and_tombstone(live.folder)
    with tables_of(live.folder) as db:
        _, case, _ = place_of(db, position)
    live.start()
    done = tovholder("client", "--data", str(office), "sync", "--json", env=env, check=False)
    again = tovholder("client", "--data", str(office), "sync", "--json", env=env, check=False)
    live.kill()
    assert done.returncode == again.returncode == 5, done.stderr
    assert "the server's history cannot be trusted" in done.stderr
    assert f"position {position} of case {case}: device {device}" in done.stderr
    assert "not a device" in done.stderr
    status = client(office, env, "status")
    evidence = status["head_evidence"]
    assert len(evidence) == 1 and f"device {device}" in evidence[0]["why"], evidence  # kept once
    assert any(b["device"] == device for b in evidence[0]["batches"].values())
    # Nothing applied: the laptop still holds the case the tombstone would have dropped.
    assert status["tree_head"] == kept and status["cases"] == held["cases"], status

    status_code, report = audit_verify(live.folder, env, "--heads", str(heads))  # and the auditor names it
    assert (status_code, report["position"]) == (1, position), report
    assert f"position {position}: device {device}" in str(report["problems"])
    assert json.dumps(report).count("not a device") >= 1


def test_a_tombstone_signed_in_the_tables_with_a_revoked_laptops_kept_key_stops_the_laptop_on_every_backend(
    live: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, _, _ = kept_heads(live, env, tmp_path)
    live.start()
    lost = tmp_path / "lost"  # the worker's second laptop, lost and revoked; its key kept by a thief
    enroll_device(live, env, lost, "w-mette")
    device = client(lost, env, "status")["device"]
    admin(live, "device", "revoke", device)
    assert client(office, env, "sync")["pulled"] == 0  # the revocation replayed, nothing else new
    kept = client(office, env, "status")["tree_head"]
    live.kill()
    with tables_of(live.folder) as db:  # the row un-revoked for the append, then as it was
        t = db.tables
        revoked = db.run(f"SELECT revoked_at FROM {t.devices} WHERE device_id={t.p}", (device,))[0][0]
        db.run(f"UPDATE {t.devices} SET revoked_at=NULL WHERE device_id={t.p}", (device,), commit=True)
    with LaptopStore.open(lost, PASSPHRASE) as store:
        position = tombstone_signed_by(live.folder, device, store.device_keys.signing)
    with tables_of(live.folder) as db:
        t = db.tables
        db.run(f"UPDATE {t.devices} SET revoked_at={t.p} WHERE device_id={t.p}", (revoked, device), commit=True)
    with tables_of(live.folder) as db:
        _, case, _ = place_of(db, position)
    live.start()
    done = tovholder("client", "--data", str(office), "sync", "--json", env=env, check=False)
    live.kill()
    assert done.returncode == 5, done.stderr
    assert f"position {position} of case {case}: device {device}" in done.stderr
    assert "the administrative log revoked it before, at position" in done.stderr
    status = client(office, env, "status")
    assert status["tree_head"] == kept and len(status["head_evidence"]) == 1
