"""Who may hold a case, played with a real server, real laptops and real commands.

Only a worker whose department is a party of a case may be assigned it; a department that
leaves the case takes it off its workers' laptops, the opener's included; a laptop that
kept a case's key after losing the case cannot add to it; and once a laptop lost a case,
the case key rotates, so what is recorded afterwards is sealed under a key that laptop
never receives.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from client.laptop import Laptop
from client.store import LaptopStore, store_path
from core import events as ev

from .conftest import (
    PASSPHRASE,
    Server,
    admin,
    client,
    each,
    enroll,
    laptop_copy,
    server_copy,
    tovholder,
)

pytestmark = pytest.mark.slow
NOTE = "Talked about the rent arrears and the eviction letter."


def open_case(folder: Path, env: dict[str, str], lead: str) -> str:
    """Open a case with one citizen on a laptop and push it; the case id."""
    case: str = client(folder, env, "case", "open", "--kind", "citizen", "--lead", lead)["case"]
    client(folder, env, "person", "add", case, "--role", "citizen", "--name", "Kim Holder")
    client(folder, env, "sync")
    return case


def held_key_ids(folder: Path, case: str) -> set[str]:
    """The key ids a laptop's store holds for a case, read from its raw file (no passphrase)."""
    with sqlite3.connect(f"file:{store_path(folder)}?mode=ro", uri=True) as db:
        listed = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'case_keys%'")
        tables = [r[0] for r in listed]
        return {
            row[0] for table in tables for row in db.execute(f"SELECT key_id FROM {table} WHERE case_id=?", (case,))
        }


def test_a_worker_whose_department_is_not_a_party_cannot_be_assigned_the_case(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, drop_in = tmp_path / "office", tmp_path / "drop-in"
    staff = {office: ("w-mette", "adult-social", "coordinator"), drop_in: ("w-lone", "drop-in", "outreach")}
    each(lambda folder: enroll(server, env, folder, *staff[folder]), staff)
    case = open_case(office, env, "adult-social")

    refused = tovholder(
        "admin", "case", "assign", case, "--worker", "w-lone", "--dir", str(server.folder), env=env, check=False
    )
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"worker w-lone cannot be assigned case {case}" in refused.stderr
    assert "department drop-in is not a party of the case" in refused.stderr

    answer = httpx.post(
        f"{server.url}/v1/admin/cases/{case}/assignments",
        json={"worker": "w-lone"},
        headers={"Authorization": f"Bearer {env['TOVHOLDER_TOKEN']}"},
    )
    assert answer.status_code == 422
    assert "department drop-in is not a party of the case" in answer.json()["error"]["message"]

    # Nothing was stored: the drop-in laptop pulls nothing of the case.
    pulled = client(drop_in, env, "sync")
    assert pulled["pulled"] == 0 and pulled["granted"] == []
    assert client(drop_in, env, "case", "list") == []
    assert held_key_ids(drop_in, case) == set()

    # Once the drop-in centre is on the team, the same assignment is taken.
    client(office, env, "team", "add", case, "--department", "drop-in")
    client(office, env, "sync")
    assert admin(server, "case", "assign", case, "--worker", "w-lone")["changed"] is True
    assert client(drop_in, env, "sync")["granted"] == [case]


def test_an_opener_whose_department_leaves_the_team_loses_the_case_at_the_next_sync(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    outreach, office = tmp_path / "outreach", tmp_path / "office"
    staff = {outreach: ("w-jens", "jobcenter", "outreach"), office: ("w-mette", "adult-social", "coordinator")}
    each(lambda folder: enroll(server, env, folder, *staff[folder]), staff)
    case = open_case(outreach, env, "adult-social")
    admin(server, "case", "assign", case, "--worker", "w-mette")
    assert client(office, env, "sync")["granted"] == [case]

    client(office, env, "team", "leave", case, "--department", "jobcenter")
    client(office, env, "sync")

    assert client(outreach, env, "sync")["dropped"] == [case]
    done = tovholder("client", "--data", str(outreach), "case", "show", case, env=env, check=False)
    assert done.returncode != 0 and f"case {case} is not held on this laptop" in done.stderr
    assert held_key_ids(outreach, case) == set()
    assert laptop_copy(outreach, case) == []


def test_a_laptop_that_kept_the_key_after_unassignment_cannot_push_to_the_case(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, field = tmp_path / "office", tmp_path / "field"
    staff = {office: ("w-mette", "adult-social", "coordinator"), field: ("w-pia", "adult-social", "caseworker")}
    each(lambda folder: enroll(server, env, folder, *staff[folder]), staff)
    case = open_case(office, env, "adult-social")
    admin(server, "case", "assign", case, "--worker", "w-pia")
    assert client(field, env, "sync")["granted"] == [case]

    # The field laptop records offline while the assignment ends; its key stays with it.
    client(field, env, "contact", "record", case, "--kind", "home-visit", "--note", NOTE)
    admin(server, "case", "unassign", case, "--worker", "w-pia")
    before = server_copy(server, case)

    (rejected,) = client(field, env, "sync")["rejected"]
    assert f"case {case} is not in the caseload of worker w-pia" in rejected["reason"]
    assert "a key kept from before is not a right" in rejected["reason"]
    assert server_copy(server, case) == before


def test_after_unassignment_new_events_are_sealed_under_a_key_the_departed_laptop_never_gets(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, field = tmp_path / "office", tmp_path / "field"
    staff = {office: ("w-mette", "adult-social", "coordinator"), field: ("w-pia", "adult-social", "caseworker")}
    each(lambda folder: enroll(server, env, folder, *staff[folder]), staff)
    case = open_case(office, env, "adult-social")
    admin(server, "case", "assign", case, "--worker", "w-pia")
    client(field, env, "sync")
    (first_key,) = held_key_ids(field, case)

    admin(server, "case", "unassign", case, "--worker", "w-pia")
    client(field, env, "sync")  # the field laptop forgets the case
    assert client(office, env, "sync")["granted"] == [case]
    assert held_key_ids(office, case) - {first_key} != set()
    client(office, env, "contact", "record", case, "--kind", "home-visit", "--note", NOTE)
    assert client(office, env, "sync")["pushed"] == 1

    with Laptop(LaptopStore.open(office, PASSPHRASE)) as laptop:
        events = [e for e, _ in laptop.view(case).events]
        newest = laptop.key(case).key_id
    assert newest != first_key
    assert events[0].header.key_id == first_key
    assert isinstance(events[-1], ev.ContactRecorded) and events[-1].header.key_id == newest
    assert events[-1].note == NOTE
    assert laptop_copy(office, case) == server_copy(server, case)
    verified = tovholder("audit", "verify", "--dir", str(server.folder), "--json", env=env, check=False)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True
    # The departed laptop never held the new key id, also not after another sync.
    client(field, env, "sync")
    assert newest not in held_key_ids(field, case)
    assert held_key_ids(field, case) == set()
