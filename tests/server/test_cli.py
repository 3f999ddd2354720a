"""The server's commands as real subprocesses: init, admin on a data folder, audit verify."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core import events as ev
from core.adminlog import ADMIN_TOPIC
from core.log import envelope, unpack_envelope
from server.context import ServerContext, init_data_dir
from server.syncing.push import Worker
from tests.sync.conftest import Laptop

pytestmark = pytest.mark.slow


def tovholder(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tovholder", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_init_makes_a_private_data_folder_and_prints_the_token_once(tmp_path: Path) -> None:
    r = tovholder("server", "init", str(tmp_path / "srv"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["admin_token"]) >= 40
    for name in ("kek.key", "server.key"):
        assert stat.S_IMODE((tmp_path / "srv" / name).stat().st_mode) == 0o600
    assert out["admin_token"] not in (tmp_path / "srv" / "tovholder.toml").read_text()
    again = tovholder("server", "init", str(tmp_path / "srv"))
    assert again.returncode != 0 and "already" in again.stderr and "Traceback" not in again.stderr
    bad = tovholder(
        "admin",
        "worker",
        "add",
        "x",
        "--department",
        "nope",
        "--role",
        "caseworker",
        "--dir",
        str(tmp_path / "srv"),
    )
    assert bad.returncode == 1 and "unknown department" in bad.stderr and "Traceback" not in bad.stderr


def test_audit_verify_finds_one_changed_byte(tmp_path: Path) -> None:
    folder, _ = init_data_dir(tmp_path / "srv")  # `server init` as a process is tested above
    ctx = ServerContext.open(folder, {})
    try:
        ctx.store.add_worker("anna", "jobcenter", "caseworker")
        from core.keys import DeviceKeys
        from core.recording import Author

        keys = DeviceKeys.generate()
        ctx.log.register_device("dev-1", "anna", keys.signing_public, keys.agreement_public)
        laptop = Laptop(
            "dev-1",
            keys,
            Author("anna", "caseworker", "jobcenter", "dev-1"),
            ctx.server_keys.agreement_public,
        )
        case_id, opened = laptop.open_case()
        note = laptop.record(case_id, ev.ContactRecorded, contact_id="c1", kind="phone")
        resp = ctx.push.push(
            laptop.batch([opened, note], (laptop.grant(case_id),)),
            "dev-1",
            Worker("anna", "jobcenter", "caseworker"),
        )
        assert [r.status for r in resp.results] == ["accepted", "accepted"]
    finally:
        ctx.close()
    clean = tovholder("audit", "verify", "--dir", str(folder), "--json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["events"] == 2

    with sqlite3.connect(folder / "log.db") as db:
        # The case's second event (the administrative log's events come first).
        position, state = db.execute(
            "SELECT rowid, state FROM stored_events WHERE originator_version=2 AND topic<>? ORDER BY rowid LIMIT 1",
            (ADMIN_TOPIC,),
        ).fetchone()
        sealed, received, link, batch = unpack_envelope(state)
        changed = bytearray(sealed)
        changed[-3] ^= 0x01
        db.execute(
            "UPDATE stored_events SET state=? WHERE rowid=?",
            (envelope(bytes(changed), received, link, batch), position),
        )
    broken = tovholder("audit", "verify", "--dir", str(folder), "--json")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert not report["ok"]
    assert {(p["case"], p["position"]) for p in report["problems"]} == {(case_id, position)}
    table = tovholder("audit", "verify", "--dir", str(folder))
    assert table.returncode == 1 and case_id[:8] in table.stdout
