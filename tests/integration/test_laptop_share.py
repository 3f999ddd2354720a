"""A laptop holds only what its worker's department may see, and forgets what it may no longer.

Real server, real laptops, real command lines; the laptop's store files are read raw, as
whoever finds a lost laptop would read them.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from client.store import LaptopStore
from core.access_log import AccessLog
from core.archive import public_key_text
from server.context import ServerContext

from .conftest import (
    PASSPHRASE,
    Server,
    Staff,
    add_worker,
    admin,
    as_json,
    client,
    enroll,
    laptop_copy,
    server_copy,
    share_copy,
    tovholder,
)

NOTE = "Father drinks in the evenings; the children hide in their room"
NAME = "Birgitte Skovgaard"


def raw_files(folder: Path) -> bytes:
    """Everything the laptop's store keeps on disk: the database file and its WAL."""
    return b"".join(p.read_bytes() for p in (folder / "laptop.db", folder / "laptop.db-wal") if p.exists())


def sealed_of(server: Server, case: str) -> dict[str, bytes]:
    """The ciphertext of each event of the case as the server holds it, by event id."""
    ctx = ServerContext.open(server.folder, {})
    try:
        return {le.sealed.event_id: le.sealed.raw for le in ctx.log.case_events(case)}
    finally:
        ctx.close()


def pulls_logged(server: Server, case: str) -> list[str]:
    """The access log's `laptop-pull` entries of the case, as `audit access` lists them."""
    ctx = ServerContext.open(server.folder, {})
    try:
        log = AccessLog(ctx.log, background=False)
        return [f"{a.worker}:{a.purpose}" for a in log.entries(case) if a.view == "laptop-pull"]
    finally:
        ctx.close()


def family_case(server: Server, env: dict[str, str], office: Path) -> tuple[str, str, str]:
    """A family case opened by children & family: a parent and a home-visit note."""
    case = client(office, env, "case", "open", "--kind", "family", "--lead", "children-family")["case"]
    parent = client(office, env, "person", "add", case, "--role", "parent", "--name", NAME)["person"]
    note = client(office, env, "contact", "record", case, "--kind", "home-visit", "--note", NOTE, "--person", parent)[
        "event"
    ]
    client(office, env, "team", "add", case, "--department", "jobcenter")
    client(office, env, "sync")
    return case, parent, note


def test_a_worker_without_consent_pulls_placeholders_and_the_files_hold_no_note(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, field = tmp_path / "office", tmp_path / "field"
    enroll(server, env, office, "w-cf", "children-family")
    enroll(server, env, field, "w-job", "jobcenter")
    case, _, _ = family_case(server, env, office)
    admin(server, "case", "assign", case, "--worker", "w-job")
    client(field, env, "sync")

    held = laptop_copy(field, case)
    assert held == share_copy(server, case, "jobcenter", "w-job")
    assert [event for _, event, _ in held] == [""] * len(held)  # nothing whole: placeholders only
    raw = raw_files(field)
    assert NOTE.encode() not in raw and NAME.encode() not in raw
    assert all(sealed not in raw for sealed in sealed_of(server, case).values())
    shown = tovholder("client", "--data", str(field), "case", "show", case, env=env).stdout
    assert NOTE not in shown and NAME not in shown and "Provisional" in shown
    assert any(line.startswith("w-job:") for line in pulls_logged(server, case))


def test_a_withdrawn_consent_is_forgotten_at_the_next_sync_and_gone_from_the_files(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, field = tmp_path / "office", tmp_path / "field"
    enroll(server, env, office, "w-cf", "children-family")
    enroll(server, env, field, "w-job", "jobcenter")
    case, parent, note = family_case(server, env, office)
    until = (date.today() + timedelta(days=200)).isoformat()
    consent = client(
        office, env, "consent", "give", case, "--subject", parent, "--given-by", parent, "--to", "jobcenter",
        "--categories", "identity,contact", "--purpose", "a joint plan for work and family", "--until", until,
    )["consent"]  # fmt: skip
    client(office, env, "sync")
    admin(server, "case", "assign", case, "--worker", "w-job")
    client(field, env, "sync")
    ciphertext = sealed_of(server, case)[note]
    assert any(event == note for _, event, _ in laptop_copy(field, case))
    assert ciphertext in raw_files(field)

    client(office, env, "consent", "withdraw", case, consent, "--reason", "the parent withdrew it")
    client(office, env, "sync")
    report = client(field, env, "sync")
    assert report["forgotten"] >= 2
    assert laptop_copy(field, case) == share_copy(server, case, "jobcenter", "w-job")
    assert ciphertext not in raw_files(field) and NOTE.encode() not in raw_files(field)
    assert len(pulls_logged(server, case)) >= 2


def test_an_erased_case_is_forgotten_with_its_key_by_every_laptop(
    server: Server, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    office, field = tmp_path / "office", tmp_path / "field"
    enroll(server, env, office, "w-cf", "children-family")
    enroll(server, env, field, "w-cf2", "children-family")
    case, parent, note = family_case(server, env, office)
    admin(server, "case", "assign", case, "--worker", "w-cf2")
    client(field, env, "sync")
    ciphertext = sealed_of(server, case)[note]
    wrapped = {}
    for folder in (office, field):
        with LaptopStore.open(folder, PASSPHRASE) as store:
            wrapped[folder] = store._run("SELECT wrapped FROM case_keys WHERE case_id=?", (case,))[0][0]
        assert ciphertext in raw_files(folder)

    # The parent asks for erasure, the lead's caseworker grants it, the administrator erases.
    request = client(office, env, "erasure", "request", case, "--requested-by", parent)["request"]
    client(office, env, "erasure", "decide", case, request, "--grant", "--legal-basis", "GDPR art. 17")
    client(office, env, "sync")
    monkeypatch.setenv("TOVHOLDER_TOKEN", env["TOVHOLDER_TOKEN"])
    monkeypatch.setenv("TOVHOLDER_ARCHIVE_PUBLIC_KEY", public_key_text(X25519PrivateKey.generate().public_key()))
    admin(server, "case", "erase", case, "--yes", "--archive", str(tmp_path / "archive.json"))

    for folder in (office, field):
        report = client(folder, env, "sync")
        assert case in report["dropped"]
        raw = raw_files(folder)
        assert ciphertext not in raw and bytes(wrapped[folder]) not in raw
        assert client(folder, env, "case", "list") == []


METHADONE = "Methadone dose raised to 90 mg a day; next check in two weeks"


def test_a_jobcenter_opener_keeps_the_case_but_neither_laptop_nor_web_shows_healths_methadone_note(
    server: Server, env: dict[str, str], tmp_path: Path, staff: Staff
) -> None:
    outreach, clinic = tmp_path / "outreach", tmp_path / "clinic"
    job_token = enroll(server, env, outreach, "w-out", "jobcenter", role="outreach")
    enroll(server, env, clinic, "w-nurse", "health")
    case = client(outreach, env, "case", "open", "--kind", "citizen", "--lead", "jobcenter")["case"]
    citizen = client(outreach, env, "person", "add", case, "--role", "citizen", "--name", NAME)["person"]
    client(outreach, env, "team", "add", case, "--department", "health")
    client(outreach, env, "sync")
    admin(server, "case", "assign", case, "--worker", "w-nurse")
    client(clinic, env, "sync")
    note = client(
        clinic, env, "contact", "record", case, "--kind", "meeting", "--categories", "health",
        "--person", citizen, "--note", METHADONE,
    )["event"]  # fmt: skip
    client(clinic, env, "sync")

    report = client(outreach, env, "sync")
    assert case not in report["dropped"]  # the opener keeps the case: jobcenter leads it
    held = laptop_copy(outreach, case)
    assert held == share_copy(server, case, "jobcenter", "w-out")
    seq = next(seq for seq, event, _ in server_copy(server, case) if event == note)
    assert (seq, "") in [(s, event) for s, event, _ in held]  # a placeholder, nothing of the note
    shown = tovholder("client", "--data", str(outreach), "case", "show", case, env=env).stdout
    assert METHADONE not in shown and "90 mg" not in shown
    raw = raw_files(outreach)
    assert sealed_of(server, case)[note] not in raw and METHADONE.encode() not in raw

    # The same judgement on the web: the jobcenter's own view hides the note too.
    view = staff.case(job_token, "jobcenter", case)
    assert note not in {e["event"] for e in view["events"]} and METHADONE not in str(view)

    # The auditor's `audit access-log` lists every laptop pull: device, counts, grounds.
    auditor = add_worker(server, "w-audit", "jobcenter", role="auditor")
    listed = as_json(
        tovholder(
            "audit", "access-log", case, "--server", server.url, "--json", env={**env, "TOVHOLDER_TOKEN": auditor}
        )
    )
    pulls = [e for e in listed if e["view"] == "laptop-pull"]
    assert {e["worker"] for e in pulls} == {"w-out", "w-nurse"}
    assert all(e["purpose"].startswith("sync to device dev-") and " events (" in e["purpose"] for e in pulls)
    assert any("own" in e["purpose"] and "placeholders" in e["purpose"] for e in pulls if e["worker"] == "w-out")
