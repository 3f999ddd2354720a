"""An insider with the database of a stopped server enrolls a device of their own: the
administrative log inside the tree does not know it, and `audit verify` names it."""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import events as ev
from core.adminlog import ADMIN_STREAM, read_change
from core.keys import KeyEncryptionKey
from core.log import CaseLog
from core.recording import Author, make_event
from core.sealing import seal
from core.signing import sign_batch
from core.storage import close_recorder, open_recorder
from tests.integration.conftest import Server, admin, client, enroll, tovholder
from tests.integration.test_caseload_pull import open_cases


def _insider_device_and_tombstone(folder: Path) -> tuple[str, int]:
    """Insert a device row and an erasure tombstone "signed" by it, with the log's own
    code but without the server's keys; (device id, the tombstone's position)."""
    log = CaseLog(open_recorder(f"sqlite:///{folder / 'log.db'}"), KeyEncryptionKey.generate())
    try:
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes_raw()
        log.register_device("dev-insider", "w-mette", public, public)
        case_id = next(c for c in log.case_ids())
        first = log.case_events(case_id)[0].sealed
        author = Author("w-mette", "coordinator", "adult-social", "dev-insider")
        seq = len(log.case_events(case_id))
        sealed = seal(make_event(ev.CaseErased, case_id, first.header.key_id, author, seq), None)
        batch = sign_batch(key, str(uuid.uuid4()), "dev-insider", [sealed.digest])
        return "dev-insider", log.append([sealed], batch)[0].position
    finally:
        close_recorder(log.recorder)


def _admin_kinds(folder: Path) -> list[str]:
    log = CaseLog(open_recorder(f"sqlite:///{folder / 'log.db'}"), KeyEncryptionKey.generate())
    try:
        return [read_change(le.sealed)["kind"] for le in log.case_events(ADMIN_STREAM)]
    finally:
        close_recorder(log.recorder)


def _verify(folder: Path, env: dict[str, str], *extra: str) -> tuple[int, dict[str, object]]:
    done = tovholder("audit", "verify", *extra, "--dir", str(folder), "--json", env=env, check=False)
    return done.returncode, json.loads(done.stdout)


def test_a_device_row_inserted_by_an_insider_is_not_a_device_to_audit_verify(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office = tmp_path / "office"
    enroll(server, env, office, "w-mette", "adult-social", "coordinator")
    open_cases(office, 1, 2)
    client(office, env, "sync")
    server.kill()
    heads = tmp_path / "heads.json"
    tovholder("audit", "heads", "export", str(heads), "--dir", str(server.folder), env=env)
    assert _verify(server.folder, env)[0] == 0
    assert _verify(server.folder, env, "--heads", str(heads))[0] == 0

    copy = tmp_path / "insider"
    shutil.copytree(server.folder, copy)
    device, position = _insider_device_and_tombstone(copy)

    status, report = _verify(copy, env)
    assert status == 1
    named = [p for p in report["problems"] if isinstance(p, dict) and device in p["problem"]]  # type: ignore[attr-defined]
    assert any(p["position"] == position for p in named), report
    assert any(p["position"] == 0 and "not a device" in p["problem"] for p in named), report

    status, report = _verify(copy, env, "--heads", str(heads))
    assert (status, report["position"]) == (1, position), report
    assert f"position {position}: device {device}" in str(report["problems"])


def test_enrollment_revocation_and_a_role_change_are_administrative_events_that_audit_verify_holds_rows_to(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office = tmp_path / "office"
    enroll(server, env, office, "w-mette", "adult-social", "caseworker")
    device = admin(server, "device", "list")[0]["device"]
    admin(server, "worker", "change", "w-mette", "--role", "coordinator")
    admin(server, "device", "revoke", device)
    server.kill()
    kinds = _admin_kinds(server.folder)
    assert kinds[-4:] == ["worker.added", "device.enrolled", "worker.changed", "device.revoked"]
    assert _verify(server.folder, env)[0] == 0

    edits = {
        "role": ("UPDATE admin_workers SET role='auditor' WHERE id='w-mette'", "worker w-mette"),
        "unrevoked": ("UPDATE device_keys SET revoked_at=NULL", f"device {device}"),
    }
    for name, (statement, named) in edits.items():
        copy = tmp_path / name
        shutil.copytree(server.folder, copy)
        with sqlite3.connect(copy / "log.db") as db:
            db.execute(statement)
        status, report = _verify(copy, env)
        assert status == 1 and named in str(report["problems"]), (name, report)
