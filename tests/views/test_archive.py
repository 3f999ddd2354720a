"""Erasure archives are sealed for the archive authority: the file on the server's disk
holds no name, CPR number or note; the authority's private key opens it to the JSON the
erasure exported, another key does not; and with no archive key configured, erasure
refuses and destroys nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from core import events as ev
from core.archive import open_archive
from core.case_view import event_json
from core.errors import DecryptionError, InvalidInput
from core.retention import erase
from server.context import ServerContext, init_data_dir
from tests.core.conftest import Devices, family
from tests.views.conftest import World
from tests.views.test_cpr_search import CPR, erasable, with_cpr
from tovholder.__main__ import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_archive_on_disk_is_sealed_and_opens_only_for_the_archive_authority(world: World, tmp_path: Path) -> None:
    b = with_cpr()
    b.contact(note="a note only the archive may keep")
    erasable(b)
    world.push(b)
    logged = world.log.case_events(b.case_id)
    received = {le.sealed.event_id: le.received for le in logged}
    exported = [event_json(world.log.open(le), received.get(le.sealed.event_id)) for le in logged]
    archive = tmp_path / "archive"

    erase(
        world.log,
        b.case_id,
        archive,
        archive_key=world.archive_key,
        server_id="server",
        signing=world.server_keys.signing,
        now=world.now,
    )

    raw = archive.read_bytes()
    for secret in ("a note only the archive may keep", "Person mother", CPR, CPR.replace("-", "")):
        assert secret.encode() not in raw, secret
    document = open_archive(raw, world.archive_authority)
    assert document == {
        "case": b.case_id,
        "exported_at": world.now.isoformat(),
        "reason": "granted erasure request",
        "events": json.loads(json.dumps(exported)),
    }
    with pytest.raises(DecryptionError, match="does not open with this private key"):
        open_archive(raw, X25519PrivateKey.generate())
    changed = bytearray(raw)
    changed[-1] ^= 1
    with pytest.raises(DecryptionError, match="or it was changed"):
        open_archive(bytes(changed), world.archive_authority)
    with pytest.raises(InvalidInput, match="not a sealed erasure archive"):
        open_archive(json.dumps(document).encode(), world.archive_authority)


def test_erase_without_an_archive_key_refuses_and_destroys_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, admin_token = init_data_dir(tmp_path / "srv")
    monkeypatch.setenv("TOVHOLDER_TOKEN", admin_token)
    ctx = ServerContext.open(folder, {})
    b = family({"mother": ("parent", 38)})
    b.contact(note="a private note")
    b.rec(ev.ErasureRequested, request_id="r1", requested_by=b.persons["mother"])
    b.rec(ev.ErasureDecided, request_id="r1", granted=True, legal_basis="GDPR art. 17")
    Devices().push(ctx.log, b.sealed, [b.key])
    ctx.close()
    erase_case = ["admin", "case", "erase", b.case_id, "--dir", str(folder), "--yes", "--json", "--archive"]

    code, _, err = run(capsys, *erase_case, str(tmp_path / "a"))
    sentence = " ".join(err.split())
    assert code == 1 and "Traceback" not in err
    assert "erasure needs the archive authority's public key, and none is configured: nothing was erased" in sentence
    assert "tovholder admin archive keygen FOLDER" in sentence and "archive_public_key" in sentence
    assert not (tmp_path / "a").exists()
    ctx = ServerContext.open(folder, {})
    try:
        assert not ctx.log.erased(b.case_id)
        assert len(ctx.log.case_events(b.case_id)) == len(b.events)
        assert ctx.log.case_key(b.case_id).secret == b.key.secret
    finally:
        ctx.close()

    # The key pair is made away from the server: never inside its data folder.
    code, _, err = run(capsys, "admin", "archive", "keygen", str(folder))
    assert code == 1 and "is a server data folder" in err
    code, out, err = run(capsys, "admin", "archive", "keygen", str(tmp_path / "authority"), "--json")
    assert code == 0, err
    keys: dict[str, Any] = json.loads(out)
    assert "Move " in err and keys["private_key"] in " ".join(err.split())
    assert (Path(keys["private_key"]).stat().st_mode & 0o777) == 0o600
    code, _, err = run(capsys, "admin", "archive", "keygen", str(tmp_path / "authority"))
    assert code == 1 and "exists already" in err

    monkeypatch.setenv("TOVHOLDER_ARCHIVE_PUBLIC_KEY", "not a key")
    code, _, err = run(capsys, *erase_case, str(tmp_path / "a"))
    assert code == 1 and "setting archive_public_key must be" in " ".join(err.split())
    assert not (tmp_path / "a").exists()

    monkeypatch.setenv("TOVHOLDER_ARCHIVE_PUBLIC_KEY", keys["archive_public_key"])
    code, out, err = run(capsys, *erase_case, str(tmp_path / "a"))
    assert code == 0, err
    assert b"a private note" not in (tmp_path / "a").read_bytes()

    other = tmp_path / "other"
    code, out, err = run(capsys, "admin", "archive", "keygen", str(other), "--json")
    assert code == 0, err
    code, out, err = run(
        capsys, "audit", "archive", "open", str(tmp_path / "a"), "--key", json.loads(out)["private_key"]
    )
    assert code == 1 and "Traceback" not in err
    assert "does not open with this private key" in " ".join(err.split())
    code, out, err = run(capsys, "audit", "archive", "open", str(tmp_path / "a"), "--key", keys["private_key"])
    assert code == 0, err
    opened = json.loads(out)
    assert opened["case"] == b.case_id and "a private note" in out
