"""A revoked laptop with unsynced work, played end to end with a real server: the worker
exports the outbox to a sealed file, enrolls the laptop again in the same folder (the old
store set aside), and the administrator reviews and imports the file under the new
device; nothing recorded is lost, and nothing is stored twice."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import Server, add_worker, admin, audit_verify, client, enroll_device, tovholder


def test_a_revoked_laptops_outbox_is_exported_sealed_and_imported_once_under_the_new_device(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    laptop = tmp_path / "laptop"
    add_worker(server, "w-anna", "jobcenter")
    enroll_device(server, env, laptop, "w-anna")
    old_device = client(laptop, env, "status")["device"]
    case_id = client(laptop, env, "case", "open", "--kind", "family", "--lead", "jobcenter")["case"]
    client(laptop, env, "contact", "record", case_id, "--kind", "phone", "--note", "secret-note-about-housing")
    admin(server, "device", "revoke", old_device)
    refused = tovholder("client", "--data", str(laptop), "sync", "--attempts", "1", env=env, check=False)
    assert refused.returncode == 1 and "revoked" in refused.stderr

    handover = tmp_path / "anna-outbox.bin"
    exported = client(laptop, env, "outbox", "export", str(handover))
    assert exported["events"] == 2 and exported["keys"] == 1
    assert b"secret-note-about-housing" not in handover.read_bytes()
    assert handover.stat().st_mode & 0o777 == 0o600

    # The same folder is enrolled again; the revoked store is kept aside, not refused.
    enroll_device(server, env, laptop, "w-anna")
    new_device = client(laptop, env, "status")["device"]
    assert new_device != old_device
    aside = [p for p in laptop.iterdir() if p.name.startswith("revoked-")]
    assert len(aside) == 1 and (aside[0] / "laptop.db").exists()
    assert client(aside[0], env, "status")["pending"] == 2

    import_args = ("outbox", "import", str(handover), "--worker", "w-anna", "--device", new_device)
    listed = admin(server, *import_args, "--dry-run")
    assert len(listed["events"]) == 2 and {e["case"] for e in listed["events"]} == {case_id}
    assert len({e["kind"] for e in listed["events"]}) == 2
    assert not any(e["held"] for e in listed["events"])
    assert "secret-note" not in str(listed)
    assert server.event_count() == 0

    imported = admin(server, *import_args)
    assert (imported["accepted"], imported["duplicate"], imported["rejected"]) == (2, 0, [])
    again = admin(server, *import_args)
    assert (again["accepted"], again["duplicate"]) == (0, 2)
    assert server.event_count() == 2

    client(laptop, env, "sync", "--attempts", "1")
    shown = tovholder("client", "--data", str(laptop), "case", "show", case_id, "--json", env=env).stdout
    assert "secret-note-about-housing" in shown
    assert client(laptop, env, "status")["pending"] == 0

    # Signed by a device revoked before they were stored, the imported batches are
    # accounted for by the administrative log: the audit holds them to the import.
    server.kill()
    status, report = audit_verify(server.folder, env)
    assert status == 0, report["problems"]


def test_an_outbox_file_from_another_workers_device_or_altered_is_refused_and_stores_nothing(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    laptop, other = tmp_path / "laptop", tmp_path / "other"
    add_worker(server, "w-anna", "jobcenter")
    add_worker(server, "w-bo", "jobcenter")
    enroll_device(server, env, laptop, "w-anna")
    enroll_device(server, env, other, "w-bo")
    bo_device = client(other, env, "status")["device"]
    client(laptop, env, "case", "open", "--kind", "family", "--lead", "jobcenter")
    handover = tmp_path / "outbox.bin"
    client(laptop, env, "outbox", "export", str(handover))

    as_bo = tovholder(
        "admin",
        "outbox",
        "import",
        str(handover),
        "--worker",
        "w-bo",
        "--device",
        bo_device,
        "--dir",
        str(server.folder),
        env=env,
        check=False,
    )
    assert as_bo.returncode == 1 and "not a device of worker w-bo" in as_bo.stderr
    raw = bytearray(handover.read_bytes())
    raw[-10] ^= 0xFF
    altered = tmp_path / "altered.bin"
    altered.write_bytes(bytes(raw))
    new_code = admin(server, "device", "enroll", "--worker", "w-anna")["code"]
    second = tmp_path / "second"
    tovholder("client", "init", str(second), "--server", server.url, "--code", new_code, "--json", env=env)
    anna_new = client(second, env, "status")["device"]
    bad = tovholder(
        "admin",
        "outbox",
        "import",
        str(altered),
        "--worker",
        "w-anna",
        "--device",
        anna_new,
        "--dir",
        str(server.folder),
        env=env,
        check=False,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert server.event_count() == 0
