"""`tovholder admin case erase` on an SQLite data folder: refused when the erasure was
granted by a worker who may not grant one (rule 10), and when done, the wrapped case key
is in neither `log.db` nor `log.db-wal` while the server keeps the database open."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from core import events as ev
from core.archive import public_key_text
from core.recording import make_event
from core.sealing import seal
from server.context import ServerContext, init_data_dir
from tests.core.conftest import Devices, family, worker
from tovholder.__main__ import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_erase_refuses_a_grant_by_a_worker_who_may_not_then_leaves_no_key_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, admin_token = init_data_dir(tmp_path / "srv")
    monkeypatch.setenv("TOVHOLDER_TOKEN", admin_token)
    authority = X25519PrivateKey.generate()
    monkeypatch.setenv("TOVHOLDER_ARCHIVE_PUBLIC_KEY", public_key_text(authority.public_key()))
    # The running server: its connections keep the database (and its WAL) open throughout.
    server = ServerContext.open(folder, {})
    b = family({"mother": ("parent", 38)})
    b.contact(note="a private note")
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    # A grant by an outreach worker, as a laptop that skipped the rule would have sent it.
    outreach = worker("children-family", role="outreach", name="w-outreach")
    bad = make_event(
        ev.ErasureDecided,
        b.case_id,
        b.key.key_id,
        outreach,
        b.state.seq,
        request_id="r1",
        granted=True,
        legal_basis="GDPR art. 17",
    )
    b.state.apply(bad)
    devices = Devices()
    devices.push(server.log, [*b.sealed, seal(bad, b.key)], [b.key])
    t: Any = server.log.tables  # the key table by name, as an attacker reading the database would
    ((wrapped,),) = server.log.recorder.run(f"SELECT wrapped FROM {t.keys} WHERE case_id={t.p}", (b.case_id,))
    wrapped = bytes(wrapped)
    erase = ["admin", "case", "erase", b.case_id, "--dir", str(folder), "--yes", "--json"]

    code, _, err = run(capsys, *erase, "--archive", str(tmp_path / "a.json"))
    assert code == 1 and "Traceback" not in err
    sentence = " ".join(err.split())
    assert f"case {b.case_id} is not erased: its erasure was granted by a worker who may not grant one" in sentence
    assert "a worker with role outreach in children-family may not" in sentence
    assert not (tmp_path / "a.json").exists() and not server.log.erased(b.case_id)

    b.rec(ev.ErasureRequested, request_id="r2", requested_by=b.persons["mother"])
    b.rec(ev.ErasureDecided, request_id="r2", granted=True, legal_basis="GDPR art. 17")
    devices.push(server.log, b.sealed[-2:])
    db, wal = folder / "log.db", folder / "log.db-wal"
    assert wrapped in db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    code, out, err = run(capsys, *erase, "--archive", str(tmp_path / "b.json"))
    assert code == 0, err
    assert json.loads(out)["events"] == len(b.events) + 1
    assert server.log.erased(b.case_id)
    assert wrapped not in db.read_bytes()
    assert not wal.exists() or wrapped not in wal.read_bytes()
    server.close()
