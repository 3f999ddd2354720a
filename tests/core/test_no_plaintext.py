"""No name, CPR number or note is ever stored in plain text: not in the SQLite file or its
write-ahead log, not in any PostgreSQL table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from core import events as ev
from core.log import CaseLog
from tests.conftest import POSTGRES
from tests.core.conftest import Devices, family

MakeLog = Callable[..., CaseLog]

NAMES = ["Søren Ærøskøbing", "Fatima Al-Hassan", "Yusuf Al-Hassan"]
CPRS = ["010185-1234", "150690-4321", "240212-9876"]
NOTES = [
    "Mor fortæller om gæld til udlejer og søvnløshed",
    "Drengen har skolevægring tre dage om ugen",
    "Far drikker mere efter jobtabet",
]


def secrets() -> list[bytes]:
    plain = NAMES + CPRS + [c.replace("-", "") for c in CPRS] + NOTES
    return [s.encode("utf-8") for s in plain]


def record_family(make_log: MakeLog, devices: Devices) -> CaseLog:
    log = make_log()
    b = family({})
    for name, cpr, role in zip(NAMES, CPRS, ["parent", "parent", "child"], strict=True):
        b.rec(ev.PersonAdded, person_id=ev.new_id(), role=role, name=name, cpr=cpr, persons=())
    for note in NOTES:
        b.rec(ev.ContactRecorded, contact_id=ev.new_id(), kind="home-visit", note=note, place=NAMES[0])
    b.rec(ev.MeetingHeld, meeting_id="m", kind="network", minutes=NOTES[0])
    devices.push_case(log, b)
    added = log.open(log.case_events(b.case_id)[3])
    assert isinstance(added, ev.PersonAdded) and added.name == NAMES[0]
    return log


def leaks(blob: bytes) -> list[str]:
    return [s.decode() for s in secrets() if s in blob or s.hex().encode() in blob]


def test_no_plaintext_at_rest(make_log: MakeLog, devices: Devices, database_url: str) -> None:
    """SQLite: the raw database file and its WAL; PostgreSQL: every row of every table."""
    log = record_family(make_log, devices)
    if database_url.startswith("sqlite"):
        check_sqlite_files(log, database_url)
    else:
        check_postgres_tables(log)


def check_sqlite_files(log: CaseLog, database_url: str) -> None:
    path = Path(database_url.removeprefix("sqlite:///"))
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]
    assert path in files
    blob = b"".join(p.read_bytes() for p in files)
    assert len(blob) > 4096
    assert NAMES[0].encode() not in blob
    assert leaks(blob) == []
    # The test would see a leak: the known ciphertext's header is there in plain bytes.
    assert log.case_events(log.case_ids()[0])[0].sealed.header_raw in blob


def check_postgres_tables(log: CaseLog) -> None:
    recorder: Any = log.recorder  # the database as an attacker sees it, past the seam
    schema = recorder.datastore.schema
    dump: list[bytes] = []
    with psycopg.connect(POSTGRES) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema=%s", (schema,))
        ]
        assert "cases_events" in tables and len(tables) >= 5
        for table in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t'):
                dump.append(row.encode())
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                for v in row:
                    dump.append(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode())
    blob = b"\n".join(dump)
    assert leaks(blob) == []
    header = log.case_events(log.case_ids()[0])[0].sealed.header_raw
    assert header in blob  # the dump really holds the stored events
