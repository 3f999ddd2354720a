"""Pulling a caseload with real processes: cut off mid-pull, and a case taken away.

A pull is applied page by page, each page with its keys and the new cursor in one
transaction; so a laptop killed with SIGKILL between pages must, after one more sync,
hold exactly what a laptop that was never interrupted holds (and nothing twice). An
assignment that ends must take the case and its key off the laptop at the next sync,
while the opening laptop keeps it.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import msgpack
import pytest

from client.laptop import Laptop
from client.store import LaptopStore, store_path
from core import events as ev
from core.recording import record

from .conftest import (
    EXE,
    PASSPHRASE,
    Server,
    add_worker,
    admin,
    client,
    each,
    enroll,
    enroll_device,
    laptop_copy,
    server_copy,
    tovholder,
)

pytestmark = pytest.mark.slow
CASES = 4
CONTACTS = 400  # per case: 1,608 events in all, 33 pages of 50
PAGE = 50


def open_cases(folder: Path, n_cases: int, contacts: int) -> list[str]:
    """Open cases with many contacts on the office laptop, in-process (the pull is under test)."""
    cases = []
    with Laptop(LaptopStore.open(folder, PASSPHRASE)) as laptop:
        for _ in range(n_cases):
            case = laptop.open_case("citizen", "adult-social").case_id
            person = ev.new_id()
            laptop.record(case, ev.PersonAdded, person_id=person, role="citizen", name="Sam Puller", persons=(person,))
            state, key = laptop.view(case).state, laptop.key(case)
            for _ in range(contacts):
                _, sealed = record(
                    state,
                    key,
                    laptop.directory,
                    ev.ContactRecorded,
                    laptop.author,
                    seen_seq=0,
                    contact_id=ev.new_id(),
                    kind="street-outreach",
                    note="Met by the station",
                    persons=(person,),
                )
                laptop.store.add_pending(sealed)
            cases.append(case)
    return cases


def stored(folder: Path) -> tuple[int, int]:
    """(events held, cursor) read straight from the laptop's SQLite file, no passphrase needed."""
    with sqlite3.connect(f"file:{store_path(folder)}?mode=ro", uri=True) as db:
        count = int(db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
        row = db.execute("SELECT value FROM meta WHERE name='cursor'").fetchone()
    return count, int(msgpack.unpackb(row[0])) if row else 0


def test_pull_killed_between_pages_resumes_to_the_same_copy(
    server: Server, env: dict[str, str], tmp_path: Path
) -> None:
    office, cut, steady = tmp_path / "office", tmp_path / "cut", tmp_path / "steady"
    enroll(server, env, office, "w-mette", "adult-social", "coordinator")
    add_worker(server, "w-pia", "adult-social")
    each(lambda folder: enroll_device(server, env, folder, "w-pia"), (cut, steady))
    cases = open_cases(office, CASES, CONTACTS)
    assert client(office, env, "sync", "--batch", "1000")["pushed"] == CASES * (CONTACTS + 2)
    for case in cases:
        admin(server, "case", "assign", case, "--worker", "w-pia")
    total = CASES * (CONTACTS + 2)

    sync = subprocess.Popen(
        [*EXE, "client", "--data", str(cut), "sync", "--page", str(PAGE), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while stored(cut)[0] == 0 and sync.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    sync.send_signal(signal.SIGKILL)
    sync.wait()
    held, cursor = stored(cut)
    assert 0 < held < total, f"the kill did not land mid-pull ({held} of {total} events held)"
    assert 0 < cursor < server.event_count()

    assert client(steady, env, "sync", "--page", str(PAGE))["pulled"] == total
    resumed = client(cut, env, "sync", "--page", str(PAGE))
    assert resumed["pulled"] == total - held  # nothing pulled twice, nothing skipped
    assert stored(cut) == stored(steady)
    for case in cases:
        copy = server_copy(server, case)
        assert laptop_copy(cut, case) == laptop_copy(steady, case) == copy
    with LaptopStore.open(cut, PASSPHRASE) as a, LaptopStore.open(steady, PASSPHRASE) as b:
        assert a.held_cases() == b.held_cases() == sorted(cases)


def test_unassigned_case_leaves_the_laptop_with_its_key(server: Server, env: dict[str, str], tmp_path: Path) -> None:
    office, field = tmp_path / "office", tmp_path / "field"
    staff = {office: ("w-mette", "adult-social", "coordinator"), field: ("w-pia", "adult-social", "caseworker")}
    each(lambda folder: enroll(server, env, folder, *staff[folder]), staff)
    case = client(office, env, "case", "open", "--kind", "citizen", "--lead", "adult-social")["case"]
    client(office, env, "person", "add", case, "--role", "citizen", "--name", "Alex Moved-on")
    client(office, env, "sync")
    admin(server, "case", "assign", case, "--worker", "w-pia")
    assert client(field, env, "sync")["granted"] == [case]
    assert client(field, env, "case", "show", case)["persons"][0]["name"] == "Alex Moved-on"

    admin(server, "case", "unassign", case, "--worker", "w-pia")
    assert client(field, env, "sync")["dropped"] == [case]

    done = tovholder("client", "--data", str(field), "case", "show", case, env=env, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"case {case} is not held on this laptop" in done.stderr
    with sqlite3.connect(f"file:{store_path(field)}?mode=ro", uri=True) as db:
        for table, column in (("case_keys", "case_id"), ("confirmed_index", "case_id")):
            assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE {column}=?", (case,)).fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0] == 0
    assert client(field, env, "case", "list") == []
    # The office opened the case: it keeps it, and a further sync changes nothing on the field laptop.
    assert client(office, env, "case", "show", case)["case"] == case
    assert client(field, env, "sync")["dropped"] == []
