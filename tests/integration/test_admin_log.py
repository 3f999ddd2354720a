"""An insider with the database of a stopped server enrolls a device of their own: the
administrative log inside the tree does not know it, and `audit verify` names it."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import events as ev
from core.adminlog import ADMIN_STREAM, read_change
from core.keys import DeviceKeys, KeyEncryptionKey
from core.log import CaseLog
from core.recording import Author, make_event
from core.sealing import seal
from core.signing import sign_batch
from core.storage import close_recorder, open_recorder
from server.context import ServerContext, init_data_dir
from server.settings import write_config
from server.store import AdminStore
from sync.protocol import SERVER_ID
from tests.core.conftest import Devices, family
from tests.integration.conftest import Server, admin, audit_verify, enroll, tovholder
from tests.integration.test_tree_heads import synced_office


def _insider_device_and_tombstone(folder: Path) -> tuple[str, int]:
    """Insert a device row and an erasure tombstone "signed" by it, with the log's own
    code but without the server's keys (a KEK of their own), on whichever backend the data
    folder is; (device id, the tombstone's position)."""
    key = Ed25519PrivateKey.generate()
    return "dev-insider", tombstone_signed_by(folder, "dev-insider", key, enroll=True)


def tombstone_signed_by(folder: Path, device: str, key: Ed25519PrivateKey, *, enroll: bool = False) -> int:
    """Append an erasure tombstone of the first case, signed by `key` as `device`, straight
    into the tables of a stopped server (with a device row of its own when `enroll`);
    the tombstone's position."""
    ctx = ServerContext.open(folder, {})
    log = CaseLog(ctx.log.recorder, KeyEncryptionKey.generate())
    try:
        if enroll:
            public = key.public_key().public_bytes_raw()
            log.register_device(device, "w-mette", public, public)
        case_id = next(c for c in log.case_ids())
        first = log.case_events(case_id)[0].sealed
        author = Author("w-mette", "coordinator", "adult-social", device)
        seq = len(log.case_events(case_id))
        sealed = seal(make_event(ev.CaseErased, case_id, first.header.key_id, author, seq), None)
        batch = sign_batch(key, str(uuid.uuid4()), device, [sealed.digest])
        return log.append([sealed], batch)[0].position
    finally:
        ctx.close()


def _admin_kinds(folder: Path) -> list[str]:
    log = CaseLog(open_recorder(f"sqlite:///{folder / 'log.db'}"), KeyEncryptionKey.generate())
    try:
        return [read_change(le.sealed)["kind"] for le in log.case_events(ADMIN_STREAM)]
    finally:
        close_recorder(log.recorder)


def test_a_device_row_inserted_by_an_insider_is_not_a_device_to_audit_verify(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    synced_office(server, env, tmp_path, 1, 2)
    server.kill()
    heads = tmp_path / "heads.json"
    tovholder("audit", "heads", "export", str(heads), "--dir", str(server.folder), env=env)
    assert audit_verify(server.folder, env)[0] == 0
    assert audit_verify(server.folder, env, "--heads", str(heads))[0] == 0

    copy = tmp_path / "insider"
    shutil.copytree(server.folder, copy)
    device, position = _insider_device_and_tombstone(copy)

    status, report = audit_verify(copy, env)
    assert status == 1
    named = [p for p in report["problems"] if isinstance(p, dict) and device in p["problem"]]
    assert any(p["position"] == position for p in named), report
    assert any(p["position"] == 0 and "not a device" in p["problem"] for p in named), report

    status, report = audit_verify(copy, env, "--heads", str(heads))
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
    assert audit_verify(server.folder, env)[0] == 0

    edits = {
        "role": ("UPDATE admin_workers SET role='auditor' WHERE id='w-mette'", "worker w-mette"),
        "unrevoked": ("UPDATE device_keys SET revoked_at=NULL", f"device {device}"),
    }
    for name, (statement, named) in edits.items():
        copy = tmp_path / name
        shutil.copytree(server.folder, copy)
        with sqlite3.connect(copy / "log.db") as db:
            db.execute(statement)
        status, report = audit_verify(copy, env)
        assert status == 1 and named in str(report["problems"]), (name, report)


def _old_database(folder: Path, database_url: str) -> int:
    """The rows a data folder held before the administrative log: departments, workers (one
    disabled), the server's device and laptops (one revoked) and their signed batches, but
    no administrative event; written with the folder's keys, as its server wrote them.
    How many case events it holds."""
    kek = KeyEncryptionKey.from_text((folder / "kek.key").read_text().strip())
    server_keys = DeviceKeys.from_private_bytes(bytes.fromhex((folder / "server.key").read_text().strip()))
    log = CaseLog(open_recorder(database_url), kek)  # no sealer: the rows alone, as before
    try:
        store = AdminStore(log)
        store.add_default_departments()
        store.add_worker("w-anna", "jobcenter", "caseworker")
        store.add_worker("w-bo", "jobcenter", "caseworker")
        store.disable_worker("w-bo")
        log.register_device(SERVER_ID, SERVER_ID, server_keys.signing_public, server_keys.agreement_public)
        laptops = Devices()
        for _ in range(2):
            b = family()
            b.contact(note="home visit")
            laptops.push_case(log, b)
        log.revoke_device(next(iter(laptops.keys)))
        assert log.admin_events() == 0
        return log.max_position()
    finally:
        close_recorder(log.recorder)


def test_a_data_folder_from_before_the_administrative_log_gains_as_found_events_once_and_verifies(
    database_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    folder, _ = init_data_dir(tmp_path / "server")
    write_config(folder, {"database_url": database_url})
    events = _old_database(folder, database_url)

    ctx = ServerContext.open(folder, {})  # the first start with the administrative log
    try:
        changes = [read_change(le.sealed) for le in ctx.log.case_events(ADMIN_STREAM)]
        devices = ctx.log.devices()
        departments = len(ctx.store.departments())
    finally:
        ctx.close()
    assert changes and all(c["as_found"] for c in changes)
    kinds = [c["kind"] for c in changes]
    assert kinds.count("department.added") == departments
    assert kinds.count("worker.added") == 2 and kinds.count("worker.disabled") == 1
    assert kinds.count("device.enrolled") == len(devices) == 2 and kinds.count("device.revoked") == 1

    ctx = ServerContext.open(folder, {})  # later starts write nothing more
    try:
        assert ctx.log.admin_events() == len(changes)
    finally:
        ctx.close()
    status, report = audit_verify(folder, env)
    assert (status, report["ok"], report["events"]) == (0, True, events), report["problems"]
