"""The audit and erasure commands on a server data folder, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import events as ev
from server.context import ServerContext, init_data_dir
from tests.core.conftest import Devices, family
from tovholder.__main__ import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_replay_access_log_and_erase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, admin_token = init_data_dir(tmp_path / "srv")
    ctx = ServerContext.open(folder, {})
    auditor_token = ctx.store.add_worker("ida", "children-family", "auditor")
    b = family({"mother": ("parent", 38)})
    b.contact(note="a private note")
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    b.rec(ev.ErasureDecided, request_id="r1", granted=True, legal_basis="databeskyttelsesforordningen art. 17")
    Devices().push(ctx.log, b.sealed, [b.key])
    ctx.close()

    monkeypatch.setenv("TOVHOLDER_TOKEN", auditor_token)
    code, out, err = run(capsys, "audit", "replay", b.case_id, "--dir", str(folder), "--json")
    assert code == 0, err
    assert len(json.loads(out)["events"]) == len(b.events)
    code, out, _ = run(capsys, "audit", "replay", b.case_id, "--dir", str(folder))
    assert code == 0 and "what children-family could see" in out
    code, out, err = run(capsys, "audit", "access-log", b.case_id, "--dir", str(folder), "--json")
    assert code == 0, err
    assert [e["view"] for e in json.loads(out)] == ["audit-access-log", "audit-replay", "audit-replay"]

    code, out, err = run(
        capsys, "audit", "export", b.case_id, "--dir", str(folder), "--withhold-staff", "--request", "J-2026-17"
    )
    assert code == 0, err
    own = json.loads(out)
    assert own["staff_withheld"] and all(a["worker"] is None for a in own["access_log"])
    assert len(own["events"]) == len(b.events)
    code, _, err = run(
        capsys,
        "admin",
        "case",
        "erase",
        b.case_id,
        "--dir",
        str(folder),
        "--archive",
        str(tmp_path / "a.json"),
        "--yes",
    )
    assert code != 0 and "administrator" in err and "Traceback" not in err

    monkeypatch.setenv("TOVHOLDER_TOKEN", admin_token)
    code, _, err = run(capsys, "audit", "replay", b.case_id, "--dir", str(folder))
    assert code != 0 and "auditor" in err
    # The archive authority's key pair, made away from the server; the server gets the public half.
    code, out, err = run(capsys, "admin", "archive", "keygen", str(tmp_path / "authority"), "--json")
    assert code == 0, err
    keys = json.loads(out)
    monkeypatch.setenv("TOVHOLDER_ARCHIVE_PUBLIC_KEY", keys["public_key_file"])
    code, out, err = run(
        capsys,
        "admin",
        "case",
        "erase",
        b.case_id,
        "--dir",
        str(folder),
        "--archive",
        str(tmp_path / "a.json"),
        "--yes",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["events"] == len(b.events)
    code, out, err = run(capsys, "audit", "archive", "open", str(tmp_path / "a.json"), "--key", keys["private_key"])
    assert code == 0, err
    assert "a private note" in out
    code, out, err = run(capsys, "audit", "verify", "--dir", str(folder), "--json")
    assert code == 0 and json.loads(out)["ok"], err
