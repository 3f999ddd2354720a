"""The laptop's SQLite file without the eventsourcing library: private, WAL, secure
delete, the library's transaction semantics, and stores made by the library still open."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import msgpack
import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from client.database import LaptopDatabase
from client.laptop import Laptop
from client.store import LaptopStore, store_path
from core import events as ev

from .conftest import PASSPHRASE


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A process umask that would leave new files readable by everyone."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_the_store_its_log_and_shared_memory_are_the_owners_only(
    make_laptop: Callable[..., Laptop], tmp_path: Path
) -> None:
    laptop = make_laptop("a")
    case_id = laptop.open_case("citizen", "jobcenter").case_id
    laptop.record(case_id, ev.ContactRecorded, contact_id=ev.new_id(), kind="phone", note="called")
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "a").iterdir()}
    assert {"laptop.db", "laptop.db-wal", "laptop.db-shm"} <= set(files)
    assert files == dict.fromkeys(files, 0o600)
    with laptop.store.database.transaction(commit=False) as c:
        settings = [c.execute(f"PRAGMA {name}").fetchone()[0] for name in ("secure_delete", "busy_timeout")]
    assert settings == [1, 30_000]
    with sqlite3.connect(store_path(tmp_path / "a")) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_a_store_whose_events_table_the_library_made_opens(make_laptop: Callable[..., Laptop], tmp_path: Path) -> None:
    make_laptop("old").close()
    path = store_path(tmp_path / "old")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE stored_events")
    db.close()
    datastore = SQLiteDatastore(str(path))
    library = SQLiteApplicationRecorder(datastore)
    library.create_table()
    case_id = str(ev.new_id())
    state = msgpack.packb([b"sealed", 7, 1234, b"link"], use_bin_type=True)
    library.insert_events([StoredEvent(UUID(case_id), 1, "topic", state)])
    datastore.close()

    with LaptopStore.open(tmp_path / "old", PASSPHRASE) as store:
        (held,) = store.confirmed(case_id)
        assert (held.position, held.seq, held.sealed, held.received, held.link) == (7, 1, b"sealed", 1234, b"link")
        assert store.confirmed_seq(case_id) == 1
        with store.database.transaction(commit=False) as c:
            c.execute("SELECT sql FROM sqlite_master WHERE name='stored_events'")
            (made,) = c.fetchone()
    assert [made.replace("IF NOT EXISTS ", "")] == [
        s.replace("IF NOT EXISTS ", "") for s in library.construct_create_table_statements()
    ]


def test_a_transaction_commits_rolls_back_reads_and_errors(tmp_path: Path) -> None:
    db = LaptopDatabase.open(tmp_path / "t.db", ["CREATE TABLE IF NOT EXISTS t (n INTEGER)"])
    try:
        with db.transaction(commit=True) as c:
            c.execute("INSERT INTO t VALUES (1)")
        with db.transaction(commit=False) as c:
            c.execute("INSERT INTO t VALUES (2)")  # a read transaction keeps nothing
        with pytest.raises(ValueError), db.transaction(commit=True) as c:
            c.execute("INSERT INTO t VALUES (3)")
            raise ValueError("the page does not continue the chain")
        seen: list[list[tuple[int]]] = []

        def read() -> None:
            with db.transaction(commit=False) as c:
                seen.append(c.execute("SELECT n FROM t").fetchall())

        reader = threading.Thread(target=read)
        reader.start()
        reader.join()
        assert seen == [[(1,)]]
    finally:
        db.close()
    db.close()
